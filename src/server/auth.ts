/**
 * Password hashing and HTTP Basic credential checks.
 * scrypt from node:crypto (no dependency); verified credentials are cached briefly so
 * that a burst of requests does not pay ~40 ms of scrypt each.
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { authenticateBearer } from "./bearer-auth.js";
import { createLoginGuard, type LoginGuard } from "./login-guard.js";
import type { FailureLimits } from "./rate-limit.js";
import type { Store } from "./store/types.js";
import { parseBearerAuth } from "./tokens.js";

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64 parts). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64"), key.toString("base64")].join("$");
}

/** Checks a password against a hash made by {@link hashPassword}. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], "base64");
  const expected = Buffer.from(parts[5], "base64");
  const key = await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: 64 * 1024 * 1024 });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Parses an `Authorization: Basic …` header; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Who a request acts as; `anonymous` only when the server has no accounts. */
export interface Principal {
  name: string;
  role: string;
  /** How the request proved it: a password (Basic) or a token (Bearer); unset for transport or anonymous principals. */
  via?: "password" | "token";
  /** The token a Bearer request used. */
  tokenId?: string;
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  /** Failed-login limits (see login-guard.ts). */
  failureLimits?: Partial<FailureLimits>;
  /** Log lines (rate limiting); never credentials. */
  log?: (line: string) => void;
  /** A guard shared with other ways in (the ssh endpoint's passwords); made from `failureLimits` when absent. */
  guard?: LoginGuard;
}

const CACHE_TTL_MS = 5 * 60_000;

/**
 * Builds the authenticator of one server process. Returns the principal, or undefined when
 * credentials are missing or wrong; throws HttpError for an expired token (401) or a remote
 * address cooling down after failed logins (429). Without any account every request is anonymous.
 * The account is read on every request (cheap), and only the scrypt verification is cached, tied
 * to the stored hash: a removed account, a new password or a new role applies to the next request.
 */
export function createAuthenticator(
  store: Store,
  options: AuthenticatorOptions = {},
): (authorization: string | undefined, context?: { remoteAddress?: string }) => Promise<Principal | undefined> {
  const cacheKey = randomBytes(32);
  const verified = new Map<string, { passwordHash: string; until: number }>();
  const guard = options.guard ?? createLoginGuard({ limits: options.failureLimits, log: options.log });
  return async function authenticate(authorization, context = {}) {
    if ((await store.countAccounts()) === 0) return { name: "anonymous", role: "manager" };
    const remoteAddress = context.remoteAddress ?? "-";
    const bearer = parseBearerAuth(authorization);
    if (bearer) return authenticateBearer(store, bearer.token, { guard, remoteAddress });
    const credentials = parseBasicAuth(authorization);
    if (!credentials) return undefined;
    const attempt = { remoteAddress, scheme: "basic" as const, user: credentials.user };
    guard.assertAllowed(attempt);
    const account = await store.getAccount(credentials.user);
    // The cache key is an HMAC, so the cache never holds a password or a replayable header.
    const key = createHmac("sha256", cacheKey).update(authorization!).digest("base64");
    const hit = verified.get(key);
    if (!(account && hit && hit.until > Date.now() && hit.passwordHash === account.passwordHash)) {
      if (!account || !(await verifyPassword(credentials.password, account.passwordHash))) {
        guard.failed(attempt);
        return undefined;
      }
      guard.succeeded(attempt);
      if (verified.size > 1000) verified.clear();
      verified.set(key, { passwordHash: account.passwordHash, until: Date.now() + CACHE_TTL_MS });
    }
    return { name: account.name, role: account.role, via: "password" };
  };
}
