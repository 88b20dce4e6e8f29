/** Connects a command to the server of a checkout (or of a URL), with credentials from the command line or environment. */
import { resolveClientAuth, type ClientAuth } from "../transport/client-auth.js";
import { parseServerUrl, resolvePassword } from "../transport/credentials.js";
import { createZsyncClient, ProtocolError, type ZsyncClient } from "../transport/http/client.js";
import { loginOrigin } from "../transport/token-store.js";
import { caFileFor, httpOptions } from "../transport/http/connect-options.js";
import type { WcConfig } from "../wc/admin.js";
import type { GlobalArgs } from "./output.js";
import { isSshUrl } from "../transport/ssh/url.js";
import { mayStoreLogin, rememberLogin } from "./remember-login.js";
import { createOutput } from "./output.js";

/** After a password was accepted, store a login token instead of asking next time (see remember-login.ts). */
async function rememberPassword(client: ZsyncClient, origin: string, user: string | undefined, password: string | undefined, args: GlobalArgs): Promise<void> {
  if (user === undefined || password === undefined || !(await mayStoreLogin({ noAuthCache: args.authCache === false }))) return;
  await rememberLogin(client, { origin, user, out: createOutput(args) });
}

/** How many times a password typed at the prompt is asked for (svn asks three times too). */
export const PASSWORD_ATTEMPTS = 3;

/**
 * An HTTP client with `auth`. A password typed at the prompt is tried at once (an authenticated
 * GET of /.well-known/zsync) and, when the server refuses it, asked again — up to
 * {@link PASSWORD_ATTEMPTS} times in all — before the command does anything.
 */
async function httpClient(origin: string, auth: ClientAuth, args: GlobalArgs, caFile: string | undefined): Promise<{ client: ZsyncClient; auth: ClientAuth }> {
  const make = async (a: ClientAuth) => createZsyncClient({ origin, ...a, ...(await httpOptions(origin, { user: a.user, caFile })) });
  let client = await make(auth);
  for (let attempt = 1; auth.prompted; attempt++) {
    try {
      await client.info();
      break;
    } catch (error) {
      if (!(error instanceof ProtocolError && error.status === 401) || attempt >= PASSWORD_ATTEMPTS) throw error;
      createOutput(args).warn(`the server refused the password for ${auth.user} at ${loginOrigin(origin)}; try again (${PASSWORD_ATTEMPTS - attempt} more ${PASSWORD_ATTEMPTS - attempt === 1 ? "try" : "tries"})`);
      auth = { ...auth, password: await resolvePassword({ user: auth.user, interactive: true, server: loginOrigin(origin) }) };
      client = await make(auth);
    }
  }
  await rememberPassword(client, origin, auth.user, auth.password, args);
  return { client, auth };
}

/** ssh transport, loaded only for `zsync+ssh://` URLs. */
async function sshSession(url: string, args: GlobalArgs, user?: string) {
  const { openSshSession } = await import("../transport/ssh/session.js");
  return openSshSession(url, { identity: args.identity, knownHosts: args.knownHosts, acceptNewHostKey: args.acceptNewHostKey, nonInteractive: args.nonInteractive, user, password: args.password });
}

/** A protocol client for the server of a checkout. */
export async function clientFor(config: WcConfig, args: GlobalArgs): Promise<ZsyncClient> {
  if (isSshUrl(config.origin)) return (await sshSession(config.origin, args)).client;
  const auth = await resolveClientAuth(config.origin, { user: args.username ?? config.user, password: args.password, interactive: !args.nonInteractive });
  return (await httpClient(config.origin, auth, args, caFileFor(args, config))).client;
}

/** A password typed into a URL is used for this command only, but the shell keeps it: say so. */
function warnUrlPassword(url: string, args: GlobalArgs): void {
  let password = "";
  try {
    password = new URL(url).password;
  } catch {
    return; // the parser says what is wrong with the URL
  }
  if (password) createOutput(args).warn("the password in this URL stays in your shell history (and shows in `ps` while zsync runs); prefer `zsync login`, ZSYNC_PASSWORD or the prompt");
}

/** A protocol client for a URL given on the command line; returns the repository path too. */
export async function clientForUrl(url: string, args: GlobalArgs): Promise<{ client: ZsyncClient; origin: string; path: string; user?: string; ca?: string }> {
  warnUrlPassword(url, args);
  if (isSshUrl(url)) return sshSession(url, args, args.username);
  const parsed = parseServerUrl(url);
  const chosen = await resolveClientAuth(parsed.origin, { user: args.username ?? parsed.user, urlPassword: parsed.password, password: args.password, interactive: !args.nonInteractive });
  const ca = caFileFor(args);
  const { client, auth } = await httpClient(parsed.origin, chosen, args, ca);
  return { client, origin: parsed.origin, path: parsed.path, user: auth.user, ca };
}

/** A protocol client with credentials chosen by the caller (`zsync login` / `logout`); `args` for transport options. */
export async function clientWithCredentials(origin: string, options: { user?: string; password?: string; token?: string; args: GlobalArgs }): Promise<ZsyncClient> {
  const transport = await httpOptions(origin, { user: options.user, caFile: caFileFor(options.args) });
  return createZsyncClient({ origin, user: options.user, password: options.password, token: options.token, ...transport });
}
