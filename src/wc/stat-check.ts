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

/** {@link quickMatch} on the numbers {@link statNumbers} gives: [1] mode, [7] inode, [8] size, [12, 13] mtime. Self-contained. */
function quickMatchNumbers(r: Float64Array, size: number, ino: number, mtimeMs: number): boolean {
  return (r[1] & 0o170000) === 0o100000 && r[8] === size && r[7] === ino && r[12] * 1e3 + r[13] / 1e6 === mtimeMs;
}

/**
 * An lstat that returns the numbers a `Stats` is made of, without making one: Node 20's
 * `lstatSync` builds four Dates per call (Node 22 builds them lazily), a third of the call's
 * cost and most of the garbage of a status of 100k files. It is the call `lstatSync` itself makes
 * (its binding's `lstat(path, bigint, undefined, throwIfNoEntry)`: undefined when the file is
 * not there, the same errors otherwise), and its answer is the array `lstatSync` reads: [dev,
 * mode, nlink, uid, gid, rdev, blksize, ino, size, blocks, atime s, ns, mtime s, ns, …], reused
 * by the next call. Undefined when this Node.js has no such binding or its answer for `probe`
 * differs from `lstatSync`'s: the checks then use `lstatSync`. Self-contained (the worker runs
 * its source text).
 */
export function statNumbers(
  lstat: (path: string) => { dev: number; mode: number; ino: number; size: number; mtimeMs: number },
  probe: string,
): ((path: string) => Float64Array | undefined) | undefined {
  try {
    const { binding: load } = process as unknown as { binding?: (name: string) => { lstat?: unknown } };
    const binding = typeof load === "function" ? load.call(process, "fs") : undefined;
    if (typeof binding?.lstat !== "function") return undefined;
    const raw = binding.lstat as (path: string, bigint: boolean, req: undefined, throwIfNoEntry: boolean) => Float64Array | undefined;
    const r = raw(probe, false, undefined, false);
    const s = lstat(probe);
    const same = r instanceof Float64Array && r.length >= 14 && r[0] === s.dev && r[1] === s.mode && r[7] === s.ino && r[8] === s.size && r[12] * 1e3 + r[13] / 1e6 === s.mtimeMs;
    return same ? (path) => raw(path, false, undefined, false) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * lstats `path` and compares it with a cache's size, inode and mtime: true when it matches, false
 * when not, undefined when nothing is there; throws what lstat throws.
 */
type QuickCheck = (path: string, size: number, ino: number, mtimeMs: number) => boolean | undefined;

/** The quick check of this thread: on {@link statNumbers} when it can, else on `lstatSync`. Self-contained. */
function quickCheck(lstatSync: (path: string, opts?: { throwIfNoEntry: false }) => Stats | undefined): QuickCheck {
  const numbers = statNumbers((path) => lstatSync(path)!, ".");
  if (numbers) {
    return (path, size, ino, mtimeMs) => {
      const r = numbers(path);
      return r === undefined ? undefined : quickMatchNumbers(r, size, ino, mtimeMs);
    };
  }
  return (path, size, ino, mtimeMs) => {
    const s = lstatSync(path, { throwIfNoEntry: false });
    return s === undefined ? undefined : quickMatch(s, size, ino, mtimeMs);
  };
}

/** This thread's {@link quickCheck}, made on first use. */
let checkHere: QuickCheck | undefined;

/**
 * `file` against a stat cache: `true` when it is a file that matches it (on a plain lstat while
 * that can tell, else exactly), otherwise its exact stat (undefined when it is not there or
 * cannot be stat'ed). Without a cache, one exact lstat.
 */
export function lstatAgainst(file: string, cache: CachedStat | undefined): true | BigIntStats | undefined {
  try {
    if (cache) {
      checkHere ??= quickCheck(lstatSync);
      const quick = checkHere(file, cache.size, cache.ino, mtimeMsOf(cache.mtimeNs));
      if (quick === undefined) return undefined;
      if (quick) return true;
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
function checkRange(check: QuickCheck, files: string[], expected: Float64Array, hits: Uint8Array): void {
  for (let i = 0; i < files.length; i++) {
    try {
      if (check(files[i], expected[3 * i], expected[3 * i + 1], expected[3 * i + 2])) hits[i] = 1;
    } catch {
      // ENOTDIR, EACCES: not vouched for; the scan looks again
    }
  }
}

/**
 * The worker: its files come as one NUL-separated string (one copy instead of one per string;
 * a path never holds NUL), its hits go back as a transferred buffer. Its functions are defined
 * under their own names (`f.name`), which the bundler may have changed along with their calls.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
// A transpiler that keeps function names (tsx, in the tests) calls this in the functions' text.
const __name = (f) => f;
const { lstatSync } = require("node:fs");
${[quickMatch, quickMatchNumbers, statNumbers, quickCheck, checkRange].map((f) => `const ${f.name} = ${f.toString()};`).join("\n")}
const files = workerData.files.split("\\0");
const hits = new Uint8Array(files.length);
${checkRange.name}(${quickCheck.name}(lstatSync), files, workerData.expected, hits);
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
  checkRange(quickCheck(lstatSync), files.slice(0, split), expected, hits);
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
