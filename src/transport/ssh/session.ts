/**
 * One ssh session per command: resolve the URL through ~/.ssh/config, connect and authenticate
 * once, hand a protocol client to the command, and close everything when the command ends.
 */
import { createZsyncClient, type ZsyncClient } from "../http/client.js";
import { onCommandEnd } from "../command-end.js";
import { closeSshConnection, openSshConnection, type SshConnectOptions } from "./connection.js";
import { createSshDispatcher } from "./dispatcher.js";
import { resolveSshTarget } from "./ssh-config.js";
import { parseSshUrl, sshOrigin } from "./url.js";

/** A protocol client over ssh, and what a checkout records about where it came from. */
export interface SshSession {
  client: ZsyncClient;
  /** `zsync+ssh://user@host:port` (host as written, so ~/.ssh/config applies again next time). */
  origin: string;
  /** Repository path of the URL. */
  path: string;
  /** The ssh user (the principal on the server). */
  user: string;
}

/** Connects to a `zsync+ssh://` URL (or stored origin); `user` fills in a URL without one. */
export async function openSshSession(url: string, opts: SshConnectOptions & { user?: string }): Promise<SshSession> {
  const parsed = parseSshUrl(url);
  const target = await resolveSshTarget({ host: parsed.host, port: parsed.port, user: parsed.user ?? opts.user });
  const ssh = await openSshConnection(target, { ...opts, password: parsed.password ?? opts.password });
  const where = `${target.user}@${target.hostName}:${target.port}`;
  const httpHost = target.hostName.includes(":") ? `[${target.hostName}]` : target.hostName;
  let dispatcher;
  try {
    dispatcher = await createSshDispatcher(ssh, { origin: `http://${httpHost}:${target.port}`, where });
  } catch (error) {
    closeSshConnection(ssh);
    throw error;
  }
  onCommandEnd(async () => {
    await dispatcher.destroy().catch(() => {});
    closeSshConnection(ssh);
  });
  const origin = sshOrigin({ host: parsed.host, port: target.port, user: target.user });
  // No user or password: over ssh the ssh user is the principal, so no Basic header is sent.
  const client = createZsyncClient({ origin, requestOrigin: `http://${httpHost}:${target.port}`, dispatcher });
  return { client, origin, path: parsed.path, user: target.user };
}
