/**
 * Applies the failure limiter to login attempts: Basic failures per (remote address, user) and
 * per address, Bearer failures per address. A refused attempt is answered 429 before any
 * password or token is looked at. Logs one line when a key starts being refused (never a secret).
 */
import { HttpError } from "./http/errors.js";
import { createFailureLimiter, DEFAULT_FAILURE_LIMITS, type FailureLimits } from "./rate-limit.js";

/** The login attempt checks of one server process. */
export interface LoginGuard {
  /** Throws 429 `too-many-failures` when this address (and user) is cooling down. */
  assertAllowed(attempt: LoginAttempt): void;
  failed(attempt: LoginAttempt): void;
  succeeded(attempt: LoginAttempt): void;
}

/** Who tries: the remote address, the scheme and (for Basic) the user name. */
export interface LoginAttempt {
  remoteAddress: string;
  scheme: "basic" | "bearer";
  user?: string;
}

/** Makes the guard; `log` gets one line per key that starts a cool-down. */
export function createLoginGuard(options: { limits?: Partial<FailureLimits>; log?: (line: string) => void } = {}): LoginGuard {
  const limits = { ...DEFAULT_FAILURE_LIMITS, ...options.limits };
  const limiter = createFailureLimiter(limits);
  const log = options.log ?? (() => {});
  const userKey = (a: LoginAttempt) => `${a.scheme} ${a.remoteAddress} ${JSON.stringify(a.user ?? "")}`;
  const addressKey = (a: LoginAttempt) => `${a.scheme} ${a.remoteAddress}`;
  const keysOf = (a: LoginAttempt) => (a.scheme === "basic" ? [userKey(a), addressKey(a)] : [addressKey(a)]);
  return {
    assertAllowed(attempt) {
      const waitMs = limiter.blockedFor(keysOf(attempt));
      if (waitMs > 0) {
        const seconds = Math.ceil(waitMs / 1000);
        throw new HttpError(429, "too-many-failures", `too many failed logins; try again in ${seconds} s`, undefined, { "retry-after": String(seconds) });
      }
    },
    failed(attempt) {
      const keys = [{ key: addressKey(attempt), limit: limits.perAddress }];
      if (attempt.scheme === "basic") keys.unshift({ key: userKey(attempt), limit: limits.perUser });
      for (const key of limiter.fail(keys)) {
        const who = key === userKey(attempt) ? ` for user ${JSON.stringify(attempt.user)}` : "";
        log(`too many failed ${attempt.scheme} logins from ${attempt.remoteAddress}${who}: refusing them for ${Math.round(limits.coolDownMs / 1000)} s`);
      }
    },
    succeeded(attempt) {
      if (attempt.scheme === "basic") limiter.reset(userKey(attempt));
    },
  };
}
