/** Connects a command to the server of a checkout (or of a URL), with credentials from the command line or environment. */
import { resolveClientAuth } from "../transport/client-auth.js";
import { parseServerUrl } from "../transport/credentials.js";
import { createZsyncClient, type ZsyncClient } from "../transport/http/client.js";
import type { WcConfig } from "../wc/admin.js";
import type { GlobalArgs } from "./output.js";

/** A protocol client for the server of a checkout. */
export async function clientFor(config: WcConfig, args: GlobalArgs): Promise<ZsyncClient> {
  const auth = await resolveClientAuth(config.origin, { user: args.username ?? config.user, password: args.password, interactive: !args.nonInteractive });
  return createZsyncClient({ origin: config.origin, ...auth });
}

/** A protocol client for a URL given on the command line; returns the repository path too. */
export async function clientForUrl(url: string, args: GlobalArgs): Promise<{ client: ZsyncClient; origin: string; path: string; user?: string }> {
  const parsed = parseServerUrl(url);
  const auth = await resolveClientAuth(parsed.origin, { user: args.username ?? parsed.user, urlPassword: parsed.password, password: args.password, interactive: !args.nonInteractive });
  return { client: createZsyncClient({ origin: parsed.origin, ...auth }), origin: parsed.origin, path: parsed.path, user: auth.user };
}

/** A protocol client with credentials chosen by the caller (`zsync login` / `logout`); `args` for transport options. */
export function clientWithCredentials(origin: string, options: { user?: string; password?: string; token?: string; args: GlobalArgs }): ZsyncClient {
  return createZsyncClient({ origin, user: options.user, password: options.password, token: options.token });
}
