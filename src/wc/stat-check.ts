/**
 * Files checked against their stat caches (git's index idea): one at a time as the scan walks,
 * or many at once on two threads. A clean status of a large checkout is bound by `lstat` (~5 µs
 * a call on the 2-core VM this was measured on: 0.53 s of a 1.15 s status of 100k files), one
 * call per tracked file, and the calls scale across threads: this thread checks part of the
 * files while a worker checks the rest, as git's preload-index does.
 */
import { lstatSync, type BigIntStats, type Stats } from "node:fs";
import { createRequire } from "node:module";
import type * as WorkerThreads from "node:worker_threads";

/** What a stat cache holds that a check compares. */
export interface CachedStat {
  size: number;
  ino: number;
  mtimeNs: string;
}

/** Whether an exact stat matches a stat cache. */
export function cacheMatches(cache: CachedStat | undefined, s: BigIntStats | undefined): boolean {
  return cache !== undefined && s !== undefined && cache.size === Number(s.size) && cache.ino === Number(s.ino) && cache.mtimeNs === String(s.mtimeNs);
}

/**
 * A stat cache's mtime as Node computes `Stats.mtimeMs` from the same seconds and nanoseconds
 * (`sec * 1e3 + nsec / 1e6`, the same double), or NaN when it cannot be told that way.
 */
export function mtimeMsOf(mtimeNs: string): number {
  return mtimeMsIn(mtimeNs, 0, mtimeNs.length);
}

/**
 * {@link mtimeMsOf} of the nanoseconds written in `text[start, end)`, read without making a
 * string: NaN unless they are more than 9 digits (before 1970-01-01T00:00:01, or anything that
 * is not a time, is checked exactly). Digit by digit the values stay exact integers below 2^53,
 * so the double is the one `Number()` of the same digits gives.
 */
export function mtimeMsIn(text: string, start: number, end: number): number {
  if (end - start <= 9) return NaN;
  const seconds = digitsIn(text, start, end - 9);
  const nanoseconds = digitsIn(text, end - 9, end);
  return seconds * 1e3 + nanoseconds / 1e6;
}

/** The non-negative integer written in `text[start, end)` (at least one digit, nothing else), or NaN. */
export function digitsIn(text: string, start: number, end: number): number {
  if (end <= start) return NaN;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * The cache check on a plain lstat, which costs about half of one with BigInts (no BigInt or
 * Date objects per file): a regular file of equal size, inode and mtime in milliseconds as a
 * double, whose last bit is ~0.24 µs in this century. Two mtimes that close are not told apart;
 * a cached mtime is at least 100 ms older than the moment it was cached (`settled`), so only a
 * time set explicitly (`touch -d`) could fall within that of it. Anything else is checked
 * exactly. Self-contained (the worker runs its source text).
 */
function quickMatch(s: { isFile(): boolean; size: number; ino: number; mtimeMs: number }, size: number, ino: number, mtimeMs: number): boolean {
  return s.isFile() && s.size === size && s.ino === ino && s.mtimeMs === mtimeMs;
}

/**
 * `file` against a stat cache: `true` when it is a file that matches it (on a plain lstat while
 * that can tell, else exactly), otherwise its exact stat (undefined when it is not there or
 * cannot be stat'ed). Without a cache, one exact lstat.
 */
export function lstatAgainst(file: string, cache: CachedStat | undefined): true | BigIntStats | undefined {
  try {
    if (cache) {
      const quick: Stats | undefined = lstatSync(file, { throwIfNoEntry: false });
      if (!quick) return undefined;
      if (quickMatch(quick, cache.size, cache.ino, mtimeMsOf(cache.mtimeNs))) return true;
    }
    const stats = lstatSync(file, { bigint: true, throwIfNoEntry: false });
    return stats?.isFile() && cacheMatches(cache, stats) ? true : stats;
  } catch {
    return undefined; // ENOTDIR, EACCES: nothing we can use there
  }
}

/** Files to check at once, with their caches. */
export interface CacheChecks {
  /** As `lstat` takes them (relative to the working directory, or absolute). */
  files: string[];
  /** Per file, three numbers: size, inode and {@link mtimeMsOf} its cache. */
  expected: Float64Array;
}

/**
 * Below this many files the worker's start and the list it is given cost what the second thread
 * saves. Measured on 2 cores: two threads check 100k files in ~0.4 s against ~0.53 s on one
 * (the calls slow each other down), which saves ~0.15 s of a status; at 20k nothing is saved.
 */
export const PARALLEL_FROM = 40_000;

/** Self-contained like {@link quickMatch}: sets `hits[i]` for each of `files` that matches `expected[3i..3i+3)`. */
function checkRange(
  lstat: (path: string, opts: { throwIfNoEntry: false }) => Stats | undefined,
  match: typeof quickMatch,
  files: string[],
  expected: Float64Array,
  hits: Uint8Array,
): void {
  for (let i = 0; i < files.length; i++) {
    let s;
    try {
      s = lstat(files[i], { throwIfNoEntry: false });
    } catch {
      continue; // ENOTDIR, EACCES: not vouched for; the scan looks again
    }
    if (s && match(s, expected[3 * i], expected[3 * i + 1], expected[3 * i + 2])) hits[i] = 1;
  }
}

/**
 * The worker: its files come as one NUL-separated string (one copy instead of one per string;
 * a path never holds NUL), its hits go back as a transferred buffer.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { lstatSync } = require("node:fs");
const quickMatch = ${quickMatch.toString()};
const checkRange = ${checkRange.toString()};
const files = workerData.files.split("\\0");
const hits = new Uint8Array(files.length);
checkRange(lstatSync, quickMatch, files, workerData.expected, hits);
parentPort.postMessage(hits, [hits.buffer]);
`;

/**
 * Which files match their stat cache (1 in the result), checked on this thread and a worker
 * thread at once. A 0 only means "not vouched for" (changed, missing, not stat'able, or left
 * unchecked because the worker failed): the caller checks those itself.
 */
export async function checkStatCaches(checks: CacheChecks): Promise<Uint8Array> {
  const { files, expected } = checks;
  const hits = new Uint8Array(files.length);
  // The worker takes the second part, a little under half: it starts ~40 ms late.
  const split = Math.floor(files.length * 0.55);
  const theirs = startWorker(files.slice(split).join("\0"), expected.slice(3 * split));
  checkRange(lstatSync, quickMatch, files.slice(0, split), expected, hits);
  const answer = await theirs;
  if (answer?.length === files.length - split) hits.set(answer, split);
  return hits;
}

/** Runs the worker on its part; undefined when it cannot start or fails (its files stay unchecked). */
function startWorker(files: string, expected: Float64Array): Promise<Uint8Array | undefined> {
  let worker: WorkerThreads.Worker;
  try {
    // Loaded here, not at start-up: ~4 ms that no other command needs.
    const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof WorkerThreads;
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { files, expected } });
  } catch {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    worker.once("message", (hits: Uint8Array) => resolve(hits));
    worker.once("error", () => resolve(undefined));
    worker.once("exit", () => resolve(undefined));
  });
}
