/**
 * The ssh endpoint: an ssh2 Server whose only service is the `zsync` subsystem on session
 * channels. Each such channel carries HTTP/1.1 and is handed to the same request handler as the
 * TCP endpoint, with the authenticated account attached as the transport principal.
 */
import type { AddressInfo } from "node:net";
import type { LoginGuard } from "../login-guard.js";
import ssh2 from "ssh2";
import type { Connection, ServerChannel } from "ssh2";
import type { Principal } from "../auth.js";
import type { ChannelServer } from "../channel-server.js";
import type { Store } from "../store/types.js";
import { attachPrincipal } from "../transport-principal.js";
import { authenticateSsh } from "./authenticate.js";
import type { HostKey } from "./host-key.js";

const { Server } = ssh2;

/** The subsystem name clients ask for (`ssh -s HOST zsync`). */
export const ZSYNC_SUBSYSTEM = "zsync";

/** A connection that failed this many authentication attempts is dropped. */
const MAX_AUTH_FAILURES = 10;

export interface SshEndpointOptions {
  store: Store;
  hostKey: HostKey;
  /** Where the HTTP requests of the channels go. */
  http: ChannelServer;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** Accept password authentication (off by default: keys only). */
  passwordAuth?: boolean;
  log?: (line: string) => void;
  /** Failed passwords are counted with HTTP Basic's (login-guard.ts). */
  loginGuard?: LoginGuard;
  /** How long a connection may take to log in (default 60 s, like OpenSSH's LoginGraceTime). */
  loginGraceMs?: number;
}

export interface RunningSshEndpoint {
  /** `zsync+ssh://HOST:PORT` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** How long a connection may take to authenticate, unless the options say otherwise. */
const LOGIN_GRACE_MS = 60_000;

/** Starts listening; resolves once connections are accepted. */
export async function startSshEndpoint(options: SshEndpointOptions): Promise<RunningSshEndpoint> {
  const log = options.log ?? (() => {});
  const connections = new Set<Connection>();
  const server = new Server({ hostKeys: [options.hostKey.privateKey], ident: "zsync-server" }, (client, info) => {
    const remote = `${info.ip}:${info.port}`;
    connections.add(client);
    // Like OpenSSH's LoginGraceTime: a connection that does not log in is not held forever.
    const graceMs = options.loginGraceMs ?? LOGIN_GRACE_MS;
    const grace = setTimeout(() => {
      log(`ssh: connection from ${remote} did not log in within ${graceMs / 1000} s; closed`);
      // end() only half-closes and waits for the client, which may never close its side: also
      // destroy the socket (ssh2's own `_sock` field) so the server lets go of it.
      const socket = (client as unknown as { _sock?: { destroy(): void } })._sock;
      client.end();
      socket?.destroy();
    }, graceMs);
    grace.unref();
    client.on("close", () => {
      clearTimeout(grace);
      connections.delete(client);
    });
    // Handshake failures (KEY_EXCHANGE_FAILED when the client distrusts our host key, resets…)
    // are the client's business; an unhandled 'error' would crash the server.
    client.on("error", (error) => log(`ssh: connection from ${remote} failed: ${error.message}`));
    let principal: Principal | undefined;
    let failures = 0;
    client.on("authentication", (ctx) => {
      authenticateSsh(ctx, { store: options.store, passwordAuth: options.passwordAuth === true, remote, remoteAddress: info.ip, log, guard: options.loginGuard })
        .then((result) => {
          if (result.outcome === "accepted") {
            principal = result.principal;
            ctx.accept();
          } else if (result.outcome === "refused" && ++failures >= MAX_AUTH_FAILURES) client.end();
        })
        .catch((error: unknown) => {
          // A store failure, or a client gone while scrypt ran: refuse, never crash the server.
          log(`ssh: authentication of ${JSON.stringify(ctx.username)} from ${remote} failed: ${(error as Error)?.message ?? error}`);
          try {
            ctx.reject();
          } catch {
            client.end();
          }
        });
    });
    client.on("ready", () => {
      clearTimeout(grace);
      const who = principal!;
      client.on("session", (accept) => {
        const session = accept();
        // Anything but the zsync subsystem (exec, shell, other subsystems) is accepted only to say
        // on the channel's stderr why nothing runs, and to exit with status 1.
        const refuse = (accept: () => ServerChannel, kind: string) => {
          log(`ssh: refused ${kind} for ${who.name} from ${remote}`);
          const channel = accept();
          channel.stderr.write(`zsync-server: ${kind} is not available; this server only offers the ssh subsystem "${ZSYNC_SUBSYSTEM}" (ssh -s HOST ${ZSYNC_SUBSYSTEM})\r\n`);
          channel.exit(1);
          channel.end();
        };
        session.on("subsystem", (accept, _reject, request) => {
          if (request.name !== ZSYNC_SUBSYSTEM) return refuse(accept, `subsystem ${JSON.stringify(request.name)}`);
          serveChannel(accept(), who, info.ip, info.port, options.http);
        });
        session.on("exec", (accept) => refuse(accept, "exec"));
        session.on("shell", (accept) => refuse(accept, "shell"));
        session.on("pty", (_accept, reject) => reject());
        session.on("env", (_accept, reject) => reject());
      });
      // Port forwarding, both directions, is never offered.
      client.on("tcpip", (_accept, reject) => reject());
      client.on("openssh.streamlocal", (_accept, reject) => reject());
      client.on("request", (_accept, reject) => reject?.());
    });
  });
  server.on("error", (error: Error) => log(`ssh: server error: ${error.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `zsync+ssh://${host}:${address.port}`,
    port: address.port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of connections) client.end();
      await closed;
    },
  };
}

/** Hands one zsync subsystem channel to the HTTP handler as a connection of `principal`. */
function serveChannel(channel: ServerChannel, principal: Principal, ip: string, port: number, http: ChannelServer): void {
  // OpenSSH's client exits with the channel's exit status (255 without one): report a clean end.
  const end = channel.end.bind(channel) as (...args: unknown[]) => ServerChannel;
  let exited = false;
  (channel as { end: (...args: unknown[]) => ServerChannel }).end = (...args: unknown[]) => {
    if (!exited) {
      exited = true;
      channel.exit(0);
    }
    return end(...args);
  };
  channel.on("error", () => channel.destroy());
  attachPrincipal(channel, principal);
  http.adopt(channel, { remoteAddress: ip, remotePort: port });
}
