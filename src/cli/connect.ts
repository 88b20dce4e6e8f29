/** Connects a command to the server of a checkout (or of a URL), with credentials from the command line or environment. */
import { parseServerUrl, resolvePassword } from "../transport/credentials.js";
import { createZsyncClient, type ZsyncClient } from "../transport/http/client.js";
import type { WcConfig } from "../wc/admin.js";
import type { GlobalArgs } from "./output.js";
import { isSshUrl } from "../transport/ssh/url.js";

/** ssh transport, loaded only for `zsync+ssh://` URLs. */
async function sshSession(url: string, args: GlobalArgs, user?: string) {
  const { openSshSession } = await import("../transport/ssh/session.js");
  return openSshSession(url, { identity: args.identity, knownHosts: args.knownHosts, acceptNewHostKey: args.acceptNewHostKey, nonInteractive: args.nonInteractive, user });
}

/** A protocol client for the server of a checkout. */
export async function clientFor(config: WcConfig, args: GlobalArgs): Promise<ZsyncClient> {
  if (isSshUrl(config.origin)) return (await sshSession(config.origin, args)).client;
  const user = args.username ?? config.user;
  const password = await resolvePassword({ user, password: args.password, interactive: !args.nonInteractive });
  return createZsyncClient({ origin: config.origin, user, password });
}

/** A protocol client for a URL given on the command line; returns the repository path too. */
export async function clientForUrl(url: string, args: GlobalArgs): Promise<{ client: ZsyncClient; origin: string; path: string; user?: string }> {
  if (isSshUrl(url)) return sshSession(url, args, args.username);
  const parsed = parseServerUrl(url);
  const user = args.username ?? parsed.user;
  const password = await resolvePassword({ user, password: args.password ?? parsed.password, interactive: !args.nonInteractive });
  return { client: createZsyncClient({ origin: parsed.origin, user, password }), origin: parsed.origin, path: parsed.path, user };
}
