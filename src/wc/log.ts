/**
 * `log`: the history of an object (and everything under it) as the server records it.
 * The only network call is `GET <path>/@@log`.
 */
import type { LogEntry } from "../protocol/types.js";
import type { ZsyncClient } from "../transport/http/client.js";
import { WcError } from "./admin.js";

export interface LogOptions {
  client: ZsyncClient;
  /** Repository path of the object (no leading slash; "" is the repository root). */
  path: string;
  /** At most this many revisions, newest first. */
  limit?: number;
  /** Newest revision to show (default head). */
  from?: number;
  /** Oldest revision to show (default 0). */
  to?: number;
}

export interface LogReport {
  /** Absolute repository path asked about, e.g. `/demo/docs`. */
  path: string;
  /** The server's revisions, newest first. */
  revisions: LogEntry[];
}

/** Asks the server for the history of one object. */
export async function log(opts: LogOptions): Promise<LogReport> {
  if (opts.limit !== undefined && !(Number.isSafeInteger(opts.limit) && opts.limit > 0)) {
    throw new WcError("bad-limit", `--limit must be a positive whole number, not ${opts.limit}`, 2);
  }
  const revisions = await opts.client.log(opts.path, { limit: opts.limit, from: opts.from, to: opts.to });
  return { path: "/" + opts.path, revisions };
}

/** The repository path of a checkout path: `demo` + `docs/guide.md` → `demo/docs/guide.md`. */
export function repositoryPath(checkoutPath: string, configPath: string): string {
  return [configPath, checkoutPath].filter((p) => p !== "").join("/");
}
