/**
 * Authenticates `Authorization: Bearer zst_…`: looks the token up on every request (a revoke
 * works at once), counts failures per remote address, and says when a token has expired.
 */
import { HttpError } from "./http/errors.js";
import type { LoginGuard } from "./login-guard.js";
import type { Store } from "./store/types.js";
import { checkToken } from "./tokens.js";

/** The principal a token acts as; throws 401 `token-expired`/`unauthorized` or 429. */
export async function authenticateBearer(store: Store, token: string, options: { guard: LoginGuard; remoteAddress: string }): Promise<{ name: string; role: string; via: "token"; tokenId: string }> {
  const attempt = { remoteAddress: options.remoteAddress, scheme: "bearer" as const };
  options.guard.assertAllowed(attempt);
  const check = await checkToken(store, token);
  const account = check.ok ? await store.getAccount(check.record.account) : undefined;
  if (!check.ok || !account) {
    options.guard.failed(attempt);
    if (check.ok === false && check.reason === "expired") throw new HttpError(401, "token-expired", "the token has expired; log in again");
    throw new HttpError(401, "unauthorized", "the token is not valid (revoked, unknown or malformed)");
  }
  return { name: account.name, role: account.role, via: "token", tokenId: check.record.id };
}
