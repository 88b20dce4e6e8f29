/** Connects a command to the server of a checkout (or of a URL), with credentials from the command line or environment. */
import { parseServerUrl, resolvePassword } from "../transport/credentials.js";
import { createZsyncClient, type ZsyncClient } from "../transport/http/client.js";
import { caFileFor, httpOptions } from "../transport/http/connect-options.js";
import type { WcConfig } from "../wc/admin.js";
import type { GlobalArgs } from "./output.js";

/** A protocol client for the server of a checkout. */
export async function clientFor(config: WcConfig, args: GlobalArgs): Promise<ZsyncClient> {
  const user = args.username ?? config.user;
  const password = await resolvePassword({ user, password: args.password, interactive: !args.nonInteractive });
  return createZsyncClient({ origin: config.origin, user, password, ...(await httpOptions(config.origin, { user, caFile: caFileFor(args, config) })) });
}

/** A protocol client for a URL given on the command line; returns the repository path too. */
export async function clientForUrl(url: string, args: GlobalArgs): Promise<{ client: ZsyncClient; origin: string; path: string; user?: string; ca?: string }> {
  const parsed = parseServerUrl(url);
  const user = args.username ?? parsed.user;
  const password = await resolvePassword({ user, password: args.password ?? parsed.password, interactive: !args.nonInteractive });
  const ca = caFileFor(args);
  const client = createZsyncClient({ origin: parsed.origin, user, password, ...(await httpOptions(parsed.origin, { user, caFile: ca })) });
  return { client, origin: parsed.origin, path: parsed.path, user, ca };
}
