/**
 * An undici Pool whose sockets are ssh channels on subsystem `zsync`: the same HTTP/1.1
 * requests, carried over one ssh connection (a new channel only when undici needs a new socket:
 * a long-lived `@@events` stream holds one channel while `zsync watch` updates over another).
 */
import type { Client as SshClient, ClientChannel } from "ssh2";
import type { Pool } from "undici";

/** The subsystem name the server offers (fixed by DESIGN.md principle 4). */
export const ZSYNC_SUBSYSTEM = "zsync";

/** Gives a channel the socket methods undici calls on a net.Socket (no-ops: ssh has its own). */
function socketLike(channel: ClientChannel): ClientChannel {
  const target = channel as unknown as Record<string, unknown>;
  for (const name of ["setTimeout", "setNoDelay", "setKeepAlive", "ref", "unref"]) {
    if (typeof target[name] !== "function") target[name] = () => channel;
  }
  return channel;
}

/** Builds the dispatcher; `origin` is the http origin used for the request line's Host header. */
export async function createSshDispatcher(ssh: SshClient, opts: { origin: string; where: string }): Promise<Pool> {
  const { Pool } = await import("undici");
  return new Pool(opts.origin, {
    connections: 4,
    pipelining: 1,
    connect: ((_options: unknown, callback: (error: Error | null, socket: unknown) => void) => {
      ssh.subsys(ZSYNC_SUBSYSTEM, (error, channel) => {
        if (error) return callback(new Error(`the ssh server ${opts.where} does not offer the ${ZSYNC_SUBSYSTEM} subsystem (${error.message})`), null);
        callback(null, socketLike(channel));
      });
    }) as never,
  });
}
