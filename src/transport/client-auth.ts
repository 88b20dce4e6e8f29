/**
 * Which credentials a command uses, in order: the URL's password (this command only),
 * `--password`, `ZSYNC_PASSWORD`, a stored login token for (origin, user) — the only one for the
 * origin when no user is known —, a prompt on a TTY, else an error naming `zsync login`.
 */
import { resolvePassword } from "./credentials.js";
import type { ProtocolError } from "./http/client.js";
import { findLogin, loginOrigin } from "./token-store.js";
import { WcError } from "../wc/admin.js";

/** Client options for the chosen credentials (spread into `createZsyncClient`). */
export interface ClientAuth {
  user?: string;
  password?: string;
  token?: string;
  /** The password was typed at the prompt (so a wrong one may be asked again). */
  prompted?: boolean;
  /** Turns a 401 answered to a stored token into "run zsync login". */
  mapError?: (error: ProtocolError) => Error;
}

/** Picks the credentials of one command against `origin`. */
export async function resolveClientAuth(origin: string, options: { user?: string; urlPassword?: string; password?: string; interactive: boolean }): Promise<ClientAuth> {
  const { user } = options;
  const given = options.urlPassword ?? options.password ?? process.env.ZSYNC_PASSWORD;
  if (user !== undefined && given !== undefined) return { user, password: given };
  const login = await findLogin(origin, user);
  if (login) return { user: login.user, token: login.token, mapError: (error) => loginError(error, origin, login.user) };
  if (user === undefined) return {};
  const prompted = options.interactive && process.env.ZSYNC_PASSWORD === undefined;
  return { user, password: await resolvePassword({ user, interactive: options.interactive, server: loginOrigin(origin) }), ...(prompted ? { prompted } : {}) };
}

function loginError(error: ProtocolError, origin: string, user: string): Error {
  if (error.status !== 401) return error;
  const again = `run \`zsync login ${loginOrigin(origin)} -u ${user}\``;
  if (error.code === "token-expired") return new WcError("login-expired", `your login to ${loginOrigin(origin)} has expired; ${again}`);
  return new WcError("login-invalid", `your login to ${loginOrigin(origin)} was revoked or is no longer valid; ${again}`);
}
