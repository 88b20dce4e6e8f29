/**
 * The server's clock for token expiry and login cool-downs: `Date.now()`, shifted by the number of
 * milliseconds in the file `ZSYNC_CLOCK_OFFSET_FILE` names, when set. Tests move a server
 * process's time forward by writing that file instead of waiting on the real clock; without the
 * variable (every real deployment) it is exactly `Date.now()`.
 */
import { readFileSync } from "node:fs";

/** Milliseconds since the epoch, as the server sees them. */
export function serverNow(env: NodeJS.ProcessEnv = process.env): number {
  const file = env.ZSYNC_CLOCK_OFFSET_FILE;
  if (!file) return Date.now();
  let offset = 0;
  try {
    offset = Number(readFileSync(file, "utf8").trim()) || 0;
  } catch {
    offset = 0; // not written yet: no shift
  }
  return Date.now() + offset;
}
