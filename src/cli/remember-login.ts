/**
 * svn-style credential caching, but safer: after the first command that authenticated with a
 * password succeeds in authenticating, exchange the password for a revocable login token and
 * store the token (never the password), so the next commands need no password and no terminal.
 * Off with `--no-auth-cache`, `ZSYNC_NO_AUTH_CACHE=1` or `store-tokens = false` in the config.
 */
import { hostname } from "node:os";
import type { ZsyncClient } from "../transport/http/client.js";
import { ProtocolError } from "../transport/http/client.js";
import { readClientConfig } from "../transport/client-config.js";
import { findLogin, loginOrigin, saveLogin } from "../transport/token-store.js";
import type { Output } from "./output.js";

/** Whether this command may store a login token. */
export async function mayStoreLogin(options: { noAuthCache?: boolean }): Promise<boolean> {
  if (options.noAuthCache || process.env.ZSYNC_NO_AUTH_CACHE === "1") return false;
  return (await readClientConfig()).storeTokens;
}

/**
 * Gets and stores a login token for `user` at `origin` with the password `client` authenticates
 * with, unless one is stored already. A server that gives no tokens leaves things as they were;
 * a refused password is the caller's error, raised here as the server answered it.
 */
export async function rememberLogin(client: ZsyncClient, options: { origin: string; user: string; out: Pick<Output, "warn"> }): Promise<void> {
  if (await findLogin(options.origin, options.user)) return;
  let created;
  try {
    created = await client.createToken({ label: `zsync on ${hostname()}` });
  } catch (error) {
    if (error instanceof ProtocolError && error.status === 401) throw error;
    return; // no token endpoint (an older or restricted server): the password keeps working for this command
  }
  const origin = loginOrigin(options.origin);
  const file = await saveLogin({ origin, user: options.user, token: created.token, id: created.id, expiresAt: created.expiresAt, createdAt: new Date().toISOString() });
  options.out.warn(`stored a login token (not the password) for ${options.user} at ${origin} in ${file}; \`zsync logout\` removes it, --no-auth-cache skips this`);
}
