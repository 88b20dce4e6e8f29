/** Which server (and user) `zsync login` / `zsync logout` mean: the URL given, else the current checkout's. */
import { parseServerUrl } from "../transport/credentials.js";
import { isSshUrl } from "../transport/ssh/url.js";
import { findWorkingCopy, readConfig, WcError } from "../wc/admin.js";

/** The origin, the user if known, and a password given in the URL (used once, never stored). */
export interface LoginTarget {
  origin: string;
  user?: string;
  urlPassword?: string;
}

/** Resolves the target from an optional URL and `--username`. */
export async function loginTarget(url: string | undefined, options: { username?: string }): Promise<LoginTarget> {
  if (url !== undefined) {
    if (isSshUrl(url)) throw sshHasNoLogin(url);
    const parsed = parseServerUrl(url);
    return { origin: parsed.origin, user: options.username ?? parsed.user, urlPassword: parsed.password };
  }
  const root = await findWorkingCopy(".").catch(() => undefined);
  if (root === undefined) throw new WcError("no-url", "name the server, e.g. zsync login http://host:8080 -u USER (or run this inside a checkout)", 2);
  const config = await readConfig(root);
  if (isSshUrl(config.origin)) throw sshHasNoLogin(config.origin);
  return { origin: config.origin, user: options.username ?? config.user };
}

/** Over ssh the ssh key is the login: there is no token to get or to revoke. */
function sshHasNoLogin(url: string): WcError {
  return new WcError("ssh-no-login", `${url} is reached over ssh, where your ssh key is the login: there is no token to log in or out with (zsync login and logout are for http:// and https:// servers)`, 2);
}
