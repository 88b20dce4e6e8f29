/**
 * Opens one authenticated ssh connection (ssh2 Client). The host key is verified in ssh2's
 * hostVerifier, during key exchange, so no user name or key is sent before it is trusted.
 */
import type { Client } from "ssh2";
import { WcError } from "../../wc/admin.js";
import { loadHostTrust, knownHostsFiles } from "./host-trust.js";
import { createIdentities } from "./identities.js";
import type { SshTarget } from "./ssh-config.js";

/** Options of an ssh connection. */
export interface SshConnectOptions {
  identity?: string;
  knownHosts?: string;
  acceptNewHostKey: boolean;
  /** Never prompt (also without a terminal). */
  nonInteractive: boolean;
  /**
   * Password for the `password` and `keyboard-interactive` methods, tried after the keys: the
   * URL's (this command only), `--password` or ZSYNC_PASSWORD; else a prompt naming user@host on a
   * terminal. Never stored.
   */
  password?: string;
  /** Give up when the server has not answered for this long (prompts excluded). Default 30 s. */
  timeoutMs?: number;
}

/** ssh2's default host key algorithms, in its order. */
const HOST_KEY_ALGORITHMS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];

/**
 * Host key algorithms with those of the key types on file first, so the server shows the key we
 * know (as OpenSSH does). A full list: ssh2's `prepend` does not move algorithms already listed.
 */
function hostKeyAlgorithms(knownTypes: string[]): string[] {
  const preferred = knownTypes.flatMap((type) => (type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : [type])).filter((a) => HOST_KEY_ALGORITHMS.includes(a));
  return [...new Set([...preferred, ...HOST_KEY_ALGORITHMS])];
}

/** Connects and authenticates; throws a WcError that says what to do on any failure. */
export async function openSshConnection(target: SshTarget, opts: SshConnectOptions): Promise<Client> {
  const interactive = !opts.nonInteractive && process.stdin.isTTY === true && process.stderr.isTTY === true;
  const where = `${target.user}@${target.hostName}:${target.port}`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let onTimeout = () => {};
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onTimeout(), timeoutMs);
  };
  const duringPrompt = async <T>(work: () => Promise<T>): Promise<T> => {
    clearTimeout(timer);
    try {
      return await work();
    } finally {
      arm();
    }
  };
  const trust = await loadHostTrust({
    host: target.hostName,
    port: target.port,
    files: knownHostsFiles({ knownHosts: opts.knownHosts }),
    acceptNew: opts.acceptNewHostKey,
    interactive,
    duringPrompt,
  });
  const identities = createIdentities({
    user: target.user,
    identity: opts.identity,
    configIdentityFiles: target.identityFiles,
    agent: process.env.SSH_AUTH_SOCK || undefined,
    interactive,
    duringPrompt,
    password: opts.password ?? process.env.ZSYNC_PASSWORD,
    where: `${target.user}@${target.hostName}`,
  });
  const { Client: SshClient } = await import("ssh2");
  const client = new SshClient();
  let hostKeyRefusal: unknown;
  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      closeSshConnection(client);
      reject(error);
    };
    onTimeout = () => fail(new WcError("ssh-timeout", `no answer from ${where} over ssh within ${Math.round(timeoutMs / 1000)} s`));
    client.on("ready", () => {
      clearTimeout(timer);
      settled = true;
      resolve(client);
    });
    client.on("error", (error: Error & { level?: string; code?: string }) => {
      if (error.level === "agent") return; // an unusable agent is skipped; the next key is tried
      if (settled) return;
      if (hostKeyRefusal) return fail(hostKeyRefusal);
      const fatal = identities.fatal();
      if (fatal) return fail(fatal);
      if (error.level === "client-authentication") return fail(new WcError("ssh-auth-failed", identities.explainFailure(where)));
      const detail = error.code ? `${error.message} (${error.code})` : error.message;
      fail(new WcError("ssh-unreachable", `cannot connect to ${where} over ssh: ${detail}`));
    });
    client.on("close", () => fail(hostKeyRefusal ?? identities.fatal() ?? new WcError("ssh-closed", `${where} closed the ssh connection before authentication finished`)));
    arm();
    client.connect({
      host: target.hostName,
      port: target.port,
      username: target.user,
      readyTimeout: 0, // our own timer, paused while a prompt waits for a person
      hostVerifier: (blob: Buffer, verify: (ok: boolean) => void) => {
        trust.verify(blob).then(
          () => verify(true),
          (error: unknown) => {
            hostKeyRefusal = error;
            verify(false);
          },
        );
      },
      authHandler: identities.authHandler,
      algorithms: { serverHostKey: hostKeyAlgorithms(trust.preferredKeyTypes) },
    } as never);
  });
}

/**
 * Ends the connection. ssh2's end() half-closes and waits for the server to close its side, and
 * its destroy() does nothing once ended; a server that never closes would keep the finished
 * command alive, so the socket itself is destroyed after a second. (`_sock` is ssh2's own field;
 * test/cli/ssh-server-never-closes.test.ts notices if it goes away.)
 */
export function closeSshConnection(client: Client): void {
  const socket = (client as unknown as { _sock?: { destroy(): void } })._sock;
  client.end();
  setTimeout(() => socket?.destroy(), 1000).unref();
}
