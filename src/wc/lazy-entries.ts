/**
 * Entries read from the index and decoded on first use. A command that touches few of them (a
 * no-op update of 100k files) then pays for splitting the index into records, not for an object
 * per entry: at 100k files, decoding every entry was ~60% of a no-op update.
 */
import type { Entry } from "./entry.js";
import { decodeRecord, fileRecordCacheInto, fileRecordRevision, fileRecordStat, type StatFields } from "./index-records.js";
import { mtimeMsOf } from "./stat-check.js";

/**
 * A `Map` of path to entry whose values start as stored records (index-records.ts) and are
 * decoded, once, when read: `get`, iteration over values or pairs, and `forEach` decode; `has`,
 * `keys`, `size`, `set` and `delete` do not.
 */
export class LazyEntries extends Map<string, Entry> {
  /** @param corrupt called with the reason when a record does not decode (it never returns) */
  constructor(private readonly corrupt: (why: string) => never) {
    super();
  }

  /** Adds a path with its stored record, decoded when first read. */
  setRecord(path: string, record: string): void {
    super.set(path, record as unknown as Entry);
  }

  /**
   * The stat cache of `path` while its entry is an undecoded `f` record (a plain file: no
   * metadata, schedule or conflict, and a cache of its BASE content), read without decoding it;
   * undefined otherwise.
   */
  plainFileStat(path: string): StatFields | undefined {
    const value = super.get(path) as Entry | string | undefined;
    return typeof value === "string" ? fileRecordStat(value) : undefined;
  }

  /** Whether `path`'s value is still its stored record (not decoded yet), without reading it. */
  holdsRecord(path: string): boolean {
    return typeof super.get(path) === "string";
  }

  override get(path: string): Entry | undefined {
    const value = super.get(path) as Entry | string | undefined;
    if (typeof value !== "string") return value;
    let entry: Entry | undefined;
    try {
      entry = decodeRecord(value);
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
    entry ??= this.corrupt(`a malformed entry for ${JSON.stringify(path)}`);
    super.set(path, entry);
    return entry;
  }

  override *values(): MapIterator<Entry> {
    for (const path of super.keys()) yield this.get(path)!;
  }

  override *entries(): MapIterator<[string, Entry]> {
    for (const path of super.keys()) yield [path, this.get(path)!];
  }

  override [Symbol.iterator](): MapIterator<[string, Entry]> {
    return this.entries();
  }

  override forEach(callback: (value: Entry, key: string, map: Map<string, Entry>) => void, thisArg?: unknown): void {
    for (const [path, entry] of this.entries()) callback.call(thisArg, entry, path, this);
  }
}

/**
 * Calls `each` with every entry's path, kind and BASE revision (undefined for none), and the
 * entry itself, except for plain files read lazily: those are not decoded (`entry` is undefined;
 * such a file has no metadata, schedule or conflict). For checks that look at the revisions of
 * every entry. A callback, not a generator: at 100k entries a generator's yields cost more than
 * the check.
 */
export function forEachRevision(
  entries: Map<string, Entry>,
  each: (path: string, kind: Entry["kind"], revision: number | undefined, entry: Entry | undefined) => void,
): void {
  const lazy = entries instanceof LazyEntries ? entries : undefined;
  // The stored values as they are (a record or an entry), without a lookup per path.
  Map.prototype.forEach.call(entries, (value: Entry | string, path: string) => {
    const plain = typeof value === "string" ? fileRecordRevision(value) : undefined;
    if (plain !== undefined) {
      each(path, "file", plain, undefined);
    } else {
      const entry = typeof value === "string" ? lazy!.get(path)! : value;
      each(path, entry.kind, entry.revision, entry);
    }
  });
}

/** The stat caches of many files, as a check compares them (stat-check.ts). */
export interface StatCaches {
  /** The files, in the map's order. */
  paths: string[];
  /** Per path, three numbers: size, inode and the mtime in milliseconds (`mtimeMsOf`). */
  expected: Float64Array;
}

/**
 * The stat cache of every file entry that has one. An undecoded `f` record's is read from its
 * fields without decoding it or making a string (`fileRecordCacheInto`); records that are not
 * plain files are left out, as are entries without a cache.
 */
export function statCachesOf(entries: Map<string, Entry>): StatCaches {
  const paths: string[] = [];
  const expected = new Float64Array(3 * entries.size);
  Map.prototype.forEach.call(entries, (value: Entry | string, path: string) => {
    const at = 3 * paths.length;
    if (typeof value === "string") {
      if (!fileRecordCacheInto(value, expected, at)) return;
    } else {
      if (value.kind !== "file" || !value.cache) return;
      expected[at] = value.cache.size;
      expected[at + 1] = value.cache.ino;
      expected[at + 2] = mtimeMsOf(value.cache.mtimeNs);
    }
    paths.push(path);
  });
  return { paths, expected: expected.subarray(0, 3 * paths.length) };
}
