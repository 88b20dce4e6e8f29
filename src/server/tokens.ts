/**
 * Bearer tokens: `zst_<id>_<secret>`. The store keeps sha256(secret) only; a token is looked up
 * on every request (no cache), so a revoke takes effect at once.
 */
import { serverNow } from "./clock.js";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Store, TokenRecord } from "./store/types.js";

/** Default token lifetime. */
export const DEFAULT_TOKEN_TTL_DAYS = 90;

const TOKEN_PATTERN = /^zst_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

/** A freshly made token: the only time the secret exists outside the client's credentials file. */
export interface MintedToken {
  token: string;
  record: TokenRecord;
}

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Makes and stores a token for `account`, valid for `ttlMs` milliseconds. */
export async function mintToken(store: Store, account: string, options: { label: string; ttlMs: number; now?: Date }): Promise<MintedToken> {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const now = options.now ?? new Date(serverNow());
  const record: TokenRecord = {
    id,
    secretHash: hashSecret(secret),
    account,
    label: options.label,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + options.ttlMs).toISOString(),
    revoked: false,
  };
  await store.addToken(record);
  return { token: `zst_${id}_${secret}`, record };
}

/** Parses an `Authorization: Bearer …` header: undefined when it is not a Bearer header at all. */
export function parseBearerAuth(header: string | undefined): { token: string } | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S*)\s*$/i.exec(header);
  return match ? { token: match[1] } : undefined;
}

/** The outcome of checking a bearer token. */
export type TokenCheck = { ok: true; record: TokenRecord } | { ok: false; reason: "expired" | "invalid" };

/** Checks a token against the store: well-formed, known, not revoked, not expired, hash equal. */
export async function checkToken(store: Store, token: string, options: { now?: Date } = {}): Promise<TokenCheck> {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return { ok: false, reason: "invalid" };
  const record = await store.getToken(match[1]);
  // Hash anyway when the id is unknown, so both cases take the same time.
  const presented = Buffer.from(hashSecret(match[2]), "hex");
  const expected = Buffer.from(record?.secretHash ?? "0".repeat(64), "hex");
  const equal = presented.length === expected.length && timingSafeEqual(presented, expected);
  if (!record || !equal || record.revoked) return { ok: false, reason: "invalid" };
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= (options.now?.getTime() ?? serverNow())) return { ok: false, reason: "expired" };
  return { ok: true, record };
}
