/**
 * Failed-login limiting: counts failures per key in a fixed window; a key that reaches its limit
 * is refused for a cool-down without any credential being checked. Memory stays bounded.
 */
import { serverNow } from "./clock.js";

/** How many failures are allowed and for how long a key is then refused. */
export interface FailureLimits {
  /** Failures of one (remote address, user name) within the window before it is refused. */
  perUser: number;
  /** Failures of one remote address (any user, Basic or Bearer) within the window. */
  perAddress: number;
  windowMs: number;
  coolDownMs: number;
}

/** 10 failures a minute per address and user, 30 per address; then one minute of 429. */
export const DEFAULT_FAILURE_LIMITS: FailureLimits = { perUser: 10, perAddress: 30, windowMs: 60_000, coolDownMs: 60_000 };

/** Keys tracked at most; the oldest are forgotten first (a flood of addresses cannot grow memory). */
const MAX_KEYS = 10_000;

interface Counter {
  windowStart: number;
  failures: number;
  blockedUntil: number;
}

/** The failure counters of one server process. */
export interface FailureLimiter {
  /** Milliseconds the keys are still refused for (the largest), or 0 when none is. */
  blockedFor(keys: string[], now?: number): number;
  /** Counts one failure for each key; returns the keys that just became refused. */
  fail(keys: { key: string; limit: number }[], now?: number): string[];
  /** Forgets a key's failures (a successful login of that user from that address). */
  reset(key: string): void;
}

/** Makes a limiter with the given limits. */
export function createFailureLimiter(limits: FailureLimits = DEFAULT_FAILURE_LIMITS): FailureLimiter {
  const counters = new Map<string, Counter>();
  return {
    blockedFor(keys, now = serverNow()) {
      let longest = 0;
      for (const key of keys) {
        const counter = counters.get(key);
        if (counter && counter.blockedUntil > now) longest = Math.max(longest, counter.blockedUntil - now);
      }
      return longest;
    },
    fail(keys, now = serverNow()) {
      const blocked: string[] = [];
      for (const { key, limit } of keys) {
        let counter = counters.get(key);
        if (!counter || now - counter.windowStart >= limits.windowMs) {
          counter = { windowStart: now, failures: 0, blockedUntil: counter?.blockedUntil ?? 0 };
        }
        counters.delete(key); // re-inserted last: Map order is then oldest-touched first
        counter.failures += 1;
        if (counter.failures >= limit && counter.blockedUntil <= now) {
          counter.blockedUntil = now + limits.coolDownMs;
          counter.failures = 0;
          counter.windowStart = now;
          blocked.push(key);
        }
        counters.set(key, counter);
      }
      while (counters.size > MAX_KEYS) counters.delete(counters.keys().next().value as string);
      return blocked;
    },
    reset(key) {
      counters.delete(key);
    },
  };
}
