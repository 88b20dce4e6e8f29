/** The `Authorization` header of a request: Bearer with a token, Basic with a user, else none. */

/** Credentials a client sends. A token wins: then no password is sent at all. */
export interface AuthCredentials {
  user?: string;
  password?: string;
  token?: string;
}

/** The header value, or undefined for anonymous requests. */
export function authorizationHeader(credentials: AuthCredentials): string | undefined {
  if (credentials.token !== undefined) return `Bearer ${credentials.token}`;
  if (credentials.user !== undefined) return "Basic " + Buffer.from(`${credentials.user}:${credentials.password ?? ""}`).toString("base64");
  return undefined;
}
