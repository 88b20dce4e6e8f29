/**
 * One entry of `.zsync/index` as stored (index-file.ts has the file's layout): the fields of an
 * `f` record for a plain file, else JSON (an `e` record). The stored form is also what a save
 * compares to see whether an entry changed.
 */
import { digitsIn, mtimeMsIn } from "./stat-check.js";
import type { Entry } from "./entry.js";

const F_KEYS = new Set(["kind", "revision", "hash", "size", "cache"]);
const CACHE_KEYS = new Set(["size", "mtimeNs", "ino", "hash"]);
const DIGITS = /^\d+$/;

/** True when `object` has no defined property outside `keys`. */
function onlyKeys(object: object, keys: Set<string>): boolean {
  for (const key in object) if (!keys.has(key) && (object as Record<string, unknown>)[key] !== undefined) return false;
  return true;
}

/**
 * The stored form of an already validated entry: the fields of an `f` record for a plain file
 * whose stat cache is of its BASE content, else the entry's JSON (without the stat cache's hash
 * when it is the entry's). What a save compares to see whether an entry changed.
 */
export function encodeEntryRecord(entry: Entry): string {
  const { cache } = entry;
  if (
    entry.kind === "file" &&
    cache !== undefined &&
    cache.hash === entry.hash &&
    Number.isSafeInteger(entry.revision) &&
    Number.isSafeInteger(entry.size) &&
    Number.isSafeInteger(cache.size) &&
    Number.isSafeInteger(cache.ino) &&
    typeof cache.mtimeNs === "string" &&
    DIGITS.test(cache.mtimeNs) &&
    onlyKeys(entry, F_KEYS) &&
    onlyKeys(cache, CACHE_KEYS)
  ) {
    return `${entry.revision}\t${entry.hash}\t${entry.size}\t${cache.size}\t${cache.mtimeNs}\t${cache.ino}`;
  }
  if (entry.cache && entry.cache.hash === entry.hash) {
    const { hash: _same, ...rest } = entry.cache;
    return JSON.stringify({ ...entry, cache: rest });
  }
  return JSON.stringify(entry);
}

/** A stored form read from an index of the previous format, as the current format stores it. */
export function currentRecord(record: string): string {
  const entry = decodeRecord(record);
  return entry ? encodeEntryRecord(entry) : record;
}

/** A stored stat cache without a hash is one of the BASE content (entries.ts `encodeEntry`). */
function restoreCacheHash(entry: Entry): Entry {
  const cache = entry.cache as (Entry["cache"] & { hash?: string }) | undefined;
  if (typeof cache === "object" && cache !== null && cache.hash === undefined && typeof entry.hash === "string") cache.hash = entry.hash;
  return entry;
}

/** The stat cache fields of a file, as far as a cache check needs them. */
export interface StatFields {
  size: number;
  mtimeNs: string;
  ino: number;
}

/** The positions of the five TABs of the last record {@link fileRecordTabs} read (one array, reused: no allocation per record). */
const TABS = new Int32Array(5);

/** Finds the five TABs of an `f` record (into {@link TABS}); false for any other stored form. */
function fileRecordTabs(record: string): boolean {
  if (record.charCodeAt(0) === 123) return false; // "{": JSON
  let at = -1;
  for (let i = 0; i < 5; i++) {
    at = record.indexOf("\t", at + 1);
    if (at < 0) return false;
    TABS[i] = at;
  }
  return record.indexOf("\t", at + 1) < 0;
}

/**
 * The stat cache of an `f` record, read from its fields without making the entry (a clean
 * `status` checks 100k of them against the disk and needs nothing else); undefined for any other
 * stored form or a malformed record, which the caller then decodes (and so reports) as usual.
 */
export function fileRecordStat(record: string): StatFields | undefined {
  if (!fileRecordTabs(record)) return undefined;
  const t3 = TABS[2], t4 = TABS[3], t5 = TABS[4];
  return { size: +record.slice(t3 + 1, t4), mtimeNs: record.slice(t4 + 1, t5), ino: +record.slice(t5 + 1) };
}

/**
 * The stat cache of an `f` record as the numbers a check compares, written to `out[at..at+3)`:
 * size, inode, and the mtime in milliseconds ({@link mtimeMsIn}). Read without making a string
 * (a status of 100k files reads them all before it stats anything). False, with nothing
 * written, for any other stored form; a field that is not digits gives NaN, which matches no
 * stat, so that file is then read and checked the usual way.
 */
export function fileRecordCacheInto(record: string, out: Float64Array, at: number): boolean {
  if (!fileRecordTabs(record)) return false;
  const t3 = TABS[2], t4 = TABS[3], t5 = TABS[4];
  out[at] = digitsIn(record, t3 + 1, t4);
  out[at + 1] = digitsIn(record, t5 + 1, record.length);
  out[at + 2] = mtimeMsIn(record, t4 + 1, t5);
  return true;
}

/**
 * The BASE revision of an `f` record, read from its first field without making the entry (an
 * update after commits elsewhere looks for entries newer than the checkout among all of them);
 * undefined as {@link fileRecordStat}.
 */
export function fileRecordRevision(record: string): number | undefined {
  return fileRecordTabs(record) ? +record.slice(0, TABS[0]) : undefined;
}

/** The entry of an `f` record's fields, or undefined when they are not six. */
function decodeFileRecord(record: string): Entry | undefined {
  const f = record.split("\t");
  if (f.length !== 6) return undefined;
  const hash = f[1];
  return { kind: "file", revision: +f[0], hash, size: +f[2], cache: { size: +f[3], mtimeNs: f[4], ino: +f[5], hash } };
}

/** The entry of an `e` record's JSON. */
function decodeJsonRecord(record: string): Entry | undefined {
  const entry = JSON.parse(record) as Entry;
  return typeof entry === "object" && entry !== null ? restoreCacheHash(entry) : undefined;
}

/**
 * The entry of a stored form, or undefined when it is malformed (JSON that is no object, an `f`
 * record without six fields); JSON that does not parse throws SyntaxError. The form tells
 * itself: JSON starts with `{`, an `f` record with a digit.
 */
export function decodeRecord(record: string): Entry | undefined {
  return record[0] === "{" ? decodeJsonRecord(record) : decodeFileRecord(record);
}
