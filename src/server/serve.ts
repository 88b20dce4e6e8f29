/**
 * Starts zsync-server's endpoints on a store kept in a data directory: HTTP on TCP, and when asked
 * ssh, whose `zsync` subsystem channels reach the same request handler.
 */
import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { createChannelServer } from "./channel-server.js";
import { createApp } from "./http/app.js";
import { answerMalformedRequests } from "./http/client-errors.js";
import { DEFAULT_LIMITS, type ServerLimits } from "./http/context.js";
import { createRevisionNotifier } from "./events/notifier.js";
import { createLoginGuard } from "./login-guard.js";
import type { FailureLimits } from "./rate-limit.js";
import { startSshEndpoint, type RunningSshEndpoint } from "./ssh/endpoint.js";
import type { HostKey } from "./ssh/host-key.js";
import type { Store } from "./store/types.js";
import { VERSION } from "./version.js";
import type { TypeRegistry } from "./types/registry.js";

export interface ServeOptions {
  store: Store;
  /** Data directory: holds the upload staging area `tmp/`. */
  dataDir: string;
  host: string;
  port: number;
  limits?: Partial<ServerLimits>;
  /** Serve HTTPS with this certificate chain and private key (PEM); plain HTTP without. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  log?: (line: string) => void;
  /** Lifetime of new login tokens (default 90 days). */
  tokenTtlMs?: number;
  /** Failed-login limits (default: rate-limit.ts). */
  failureLimits?: Partial<FailureLimits>;
  /** Also listen for ssh (`zsync` subsystem) on this address. */
  ssh?: { host: string; port: number; hostKey: HostKey; passwordAuth?: boolean };
  /** `@@events`: heartbeat interval (default 15 s). */
  events?: { heartbeatMs?: number };
  /** Content types (default: the built-ins; `--type-module` adds plug-ins). */
  types?: TypeRegistry;
  /** Serve SyncML at `POST /syncml` with datastores under this root (`--syncml-root`). */
  syncml?: { root: string };
}

export interface RunningServer {
  server: Server;
  url: string;
  /** The ssh endpoint, when `ssh` was given. */
  ssh?: RunningSshEndpoint;
  close(): Promise<void>;
}

/** Listens on host:port (0 = ephemeral) and resolves once accepting connections. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const tempDir = join(options.dataDir, "tmp");
  await mkdir(tempDir, { recursive: true });
  // Uploads staged by a process that was killed are garbage: the store never saw them.
  for (const name of await readdir(tempDir)) await rm(join(tempDir, name), { force: true, recursive: true });
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  // One count of failed passwords, whether they came over HTTP Basic or ssh.
  const loginGuard = createLoginGuard({ limits: options.failureLimits, log: options.log });
  // Told of commits by the store (every server's on PostgreSQL); ended first on shutdown.
  const notifier = createRevisionNotifier(options.store);
  const app = createApp({
    notifier,
    heartbeatMs: options.events?.heartbeatMs,
    loginGuard,
    store: options.store,
    limits,
    tempDir,
    version: VERSION,
    log: options.log,
    tokenTtlMs: options.tokenTtlMs,
    failureLimits: options.failureLimits,
    types: options.types,
    syncml: options.syncml,
  });
  const httpOptions = { requestTimeout: 0, maxHeaderSize: limits.maxHeaderBytes };
  let server: Server;
  if (options.tls) {
    try {
      server = createHttpsServer({ ...httpOptions, cert: options.tls.cert, key: options.tls.key }, app) as unknown as Server;
    } catch (error) {
      throw new Error(`cannot use the TLS certificate and key: ${describeTlsSetupError(error)}`);
    }
  } else {
    server = createServer(httpOptions, app);
  }
  answerMalformedRequests(server);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const channels = options.ssh ? createChannelServer(app) : undefined;
  let ssh: RunningSshEndpoint | undefined;
  if (options.ssh && channels) {
    try {
      ssh = await startSshEndpoint({ ...options.ssh, store: options.store, http: channels, log: options.log, loginGuard });
    } catch (error) {
      server.close();
      throw new Error(`cannot listen for ssh on ${options.ssh.host}:${options.ssh.port}: ${(error as Error).message}`);
    }
  }
  return {
    server,
    url: `${options.tls ? "https" : "http"}://${host}:${address.port}`,
    ssh,
    async close() {
      // Event streams end cleanly first (their last chunk flushed), then every connection is cut.
      notifier.close();
      await new Promise((resolve) => setImmediate(resolve));
      server.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        ssh?.close(),
        channels?.close(),
      ]);
    },
  };
}

/** OpenSSL's words for a bad certificate or key, made readable. */
function describeTlsSetupError(error: unknown): string {
  const message = (error as Error).message ?? String(error);
  if (/key values mismatch/i.test(message)) return "the private key does not belong to the certificate";
  if (/no start line|bad base64|PEM/i.test(message)) return `not a PEM certificate and key (${message})`;
  return message;
}
