/**
 * The checkout's entries: one record per tracked path (relative to the checkout root; "" is the
 * root folder itself), the checkout's revision, and a stat cache that lets `status` skip reading
 * files whose stat has not changed. Stored in `.zsync/index` (index-file.ts); checkouts made
 * before it (`.zsync/entries.json`) are upgraded on first use.
 */
import { readFile, rm, stat } from "node:fs/promises";
import { adminPaths, WcError } from "./admin.js";
import { writeFileAtomic } from "./atomic.js";
import { currentRecord, encodeEntryRecord } from "./index-records.js";
import {
  appendIndex,
  encodeBatch,
  encodeIndex,
  indexInode,
  IndexCorruption,
  IndexFromNewerZsync,
  INDEX_FORMAT,
  READABLE_FORMATS,
  readIndex,
  type IndexData,
} from "./index-file.js";
import { entryProblem, type Entries, type Entry } from "./entry.js";

// The entry types and helpers, for the many modules that import them from here.
export * from "./entry.js";

function corruptLegacy(file: string, why: string): never {
  throw new WcError("corrupt-admin", `${file} is corrupt (${why}). Your files are untouched; check out again into a new directory and copy your edits over.`);
}

function corruptIndex(file: string, why: string): never {
  throw new WcError(
    "corrupt-admin",
    `${file} is corrupt (${why}). Your files are untouched; run \`zsync cleanup\` to rebuild it from the pristine store and your working files.`,
  );
}

/** An index written by a newer zsync: refused as it is, by every command and by `zsync cleanup`. */
export function refuseNewerIndex(file: string, error: IndexFromNewerZsync): never {
  throw new WcError(
    "newer-index",
    `${file} is in index format ${error.format}, written by a newer zsync; this zsync reads formats ${READABLE_FORMATS}. Nothing was changed; use the newer zsync with this checkout.`,
  );
}

/** Parses and validates the previous format, `.zsync/entries.json` (format 1). */
function parseLegacyEntries(file: string, text: string): Entries {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    corruptLegacy(file, (error as Error).message);
  }
  const data = raw as { format?: unknown; revision?: unknown; entries?: unknown };
  if (data?.format !== 1 || !Number.isSafeInteger(data.revision) || typeof data.entries !== "object" || data.entries === null) {
    corruptLegacy(file, "unexpected structure");
  }
  const entries = new Map<string, Entry>();
  for (const [path, value] of Object.entries(data.entries as Record<string, Entry>)) {
    const problem = entryProblem(path, value);
    if (problem) corruptLegacy(file, problem);
    entries.set(path, value);
  }
  if (!entries.has("")) corruptLegacy(file, "no entry for the checkout root");
  return { revision: data.revision as number, entries };
}

/** What a loaded entries map was read from: a save writes only the difference. */
interface Loaded {
  root: string;
  stored: Map<string, string>;
  revision: number;
  /** Valid length and actual size of the index when last read or written by us. */
  end: number;
  size: number;
  records: number;
  ino: number;
  /** The index format on disk: an older one is rewritten whole by the next save. */
  format: number;
}
const loadedFrom = new WeakMap<Map<string, Entry>, Loaded>();

/** Compaction is due when the log holds this many more records than twice the live entries. */
const COMPACT_SLACK = 64;

function track(root: string, entries: Entries, data: Omit<Loaded, "root" | "revision">): Entries {
  loadedFrom.set(entries.entries, { root, revision: entries.revision, ...data });
  return entries;
}

/**
 * Loads the entries of the checkout at `root` from `.zsync/index` (one pass; entries were
 * validated when written). A checkout in the previous format (`entries.json`) is upgraded in
 * place first, crash-safely: the index is written whole (temp + fsync + rename) before the old
 * file goes, and while both exist the index wins. With `lazy`, each entry is decoded when it is
 * first read (lazy-entries.ts): for commands that read few of them.
 */
export async function loadEntries(root: string, opts: { lazy?: boolean } = {}): Promise<Entries> {
  const paths = adminPaths(root);
  let data: IndexData;
  try {
    data = await readIndex(paths.index, opts.lazy ? { lazy: (why) => corruptIndex(paths.index, why) } : {});
  } catch (error) {
    if (error instanceof IndexCorruption) corruptIndex(paths.index, error.message);
    if (error instanceof IndexFromNewerZsync) refuseNewerIndex(paths.index, error);
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return upgradeLegacy(root);
  }
  if (!data.entries.has("")) corruptIndex(paths.index, "no entry for the checkout root");
  const { stored, end, size, records, ino, format } = data;
  return track(root, { revision: data.revision, entries: data.entries }, { stored, end, size, records, ino, format });
}

async function upgradeLegacy(root: string): Promise<Entries> {
  const paths = adminPaths(root);
  let text: string;
  try {
    text = await readFile(paths.entries, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    corruptIndex(paths.index, "it is missing");
  }
  const entries = parseLegacyEntries(paths.entries, text);
  try {
    await writeWhole(root, entries);
  } catch (error) {
    // A checkout we may not write to (read-only media, another user's) is still read.
    if (["EACCES", "EPERM", "EROFS"].includes((error as NodeJS.ErrnoException).code ?? "")) return entries;
    throw error;
  }
  await rm(paths.entries, { force: true });
  return entries;
}

/** Writes the whole index (temp + fsync + rename) and tracks `entries` as its content. */
async function writeWhole(root: string, entries: Entries): Promise<void> {
  const stored = new Map<string, string>();
  for (const [path, entry] of entries.entries) stored.set(path, encodeEntry(path, entry));
  if (!stored.has("")) throw new WcError("invalid-entry", "refusing to write entries without one for the checkout root");
  const text = encodeIndex(stored, entries.revision);
  await writeFileAtomic(adminPaths(root).index, text);
  const size = Buffer.byteLength(text);
  track(root, entries, { stored, end: size, size, records: stored.size + 1, ino: await indexInode(adminPaths(root).index), format: INDEX_FORMAT });
}

/** The stored form of an entry (index-file.ts), after the checks a read no longer makes. */
function encodeEntry(path: string, entry: Entry): string {
  const problem = entryProblem(path, entry);
  if (problem) throw new WcError("invalid-entry", `refusing to write an invalid entry (${problem})`);
  return encodeEntryRecord(entry);
}

/** Options of {@link saveEntries}. */
export interface SaveEntriesOptions {
  /**
   * Only these paths may have changed (set, replaced or deleted) since the entries were loaded:
   * the save then costs O(changed) instead of comparing every entry.
   */
  changed?: Iterable<string>;
  /** fsync the write (default true; stat caches alone are not worth it). */
  fsync?: boolean;
}

/**
 * Saves the entries. Entries read by {@link loadEntries} are saved incrementally: only what
 * changed since they were read is appended to the index, as one sealed batch, and the index is
 * compacted (rewritten whole, atomically) when the log has grown past twice the live entries.
 * Entries from elsewhere (a fresh checkout) replace the index whole.
 */
export async function saveEntries(root: string, entries: Entries, opts: SaveEntriesOptions = {}): Promise<void> {
  const loaded = loadedFrom.get(entries.entries);
  if (!loaded || loaded.root !== root) return writeWhole(root, entries);
  const changes: [string, string | null][] = [];
  const consider = (path: string) => {
    const entry = entries.entries.get(path);
    const before = loaded.stored.get(path);
    if (entry === undefined) {
      if (before !== undefined) changes.push([path, null]);
      return;
    }
    const json = encodeEntry(path, entry);
    if (json !== before) changes.push([path, json]);
  };
  if (opts.changed) {
    for (const path of new Set(opts.changed)) consider(path);
  } else {
    for (const path of entries.entries.keys()) consider(path);
    for (const path of loaded.stored.keys()) if (!entries.entries.has(path)) changes.push([path, null]);
  }
  if (!entries.entries.has("")) throw new WcError("invalid-entry", "refusing to write entries without one for the checkout root");
  if (changes.length === 0 && entries.revision === loaded.revision) return;

  const file = adminPaths(root).index;
  const fsync = opts.fsync ?? true;
  // A change to a large share of the entries (a first status caching every file, an update of
  // most of the tree) is written whole: appending it would make every later read parse it twice.
  // An index in the previous format is rewritten whole too (appended records would be its own).
  const whole = changes.length * 4 > loaded.stored.size + COMPACT_SLACK || loaded.format !== INDEX_FORMAT;
  if (whole && (await entriesAreCurrent(root, entries))) {
    const before = changes.map(([path]): [string, string | undefined] => [path, loaded.stored.get(path)]);
    setOrDelete(loaded.stored, changes);
    try {
      await rewrite(file, loaded, entries.revision);
    } catch (error) {
      // What is stored must stay what the disk holds, or a later save would skip these changes.
      setOrDelete(loaded.stored, before);
      throw error;
    }
    return;
  }
  let fresh: IndexData | undefined;
  let revision = entries.revision;
  let text = encodeBatch(changes, revision);
  let appended = await appendIndex(file, text, loaded.end, loaded, { fsync }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return false;
    throw error;
  });
  if (!appended) {
    // The index changed since it was read (another save, a compaction): append our changes to
    // what is there now. Only what this caller changed is written, so nothing else is undone.
    try {
      fresh = await readIndex(file);
    } catch (error) {
      if (error instanceof IndexCorruption) corruptIndex(file, error.message);
      if (error instanceof IndexFromNewerZsync) refuseNewerIndex(file, error);
      throw error;
    }
    if (entries.revision === loaded.revision) revision = fresh.revision;
    text = encodeBatch(changes, revision);
    appended = await appendIndex(file, text, fresh.end, fresh, { fsync });
    if (!appended) throw new WcError("index-busy", `${file} changed while it was being written; run the command again`);
  }
  const end = (fresh?.end ?? loaded.end) + Buffer.byteLength(text);
  setOrDelete(loaded.stored, changes);
  loaded.revision = entries.revision;
  loaded.end = end;
  loaded.size = end;
  loaded.records = (fresh?.records ?? loaded.records) + changes.length + 1;
  if (fresh) loaded.ino = fresh.ino;
  // Compact only from a complete picture (ours is one when nobody else wrote in between).
  if (!fresh && loaded.records > 2 * loaded.stored.size + COMPACT_SLACK) await rewrite(file, loaded, revision);
}

/** Sets each path to its value, or deletes it where the value is null or undefined. */
export function setOrDelete<V>(map: Map<string, V>, values: Iterable<[string, V | null | undefined]>): void {
  for (const [path, value] of values) {
    if (value === null || value === undefined) map.delete(path);
    else map.set(path, value);
  }
}

/** Compaction: the whole index rewritten from `loaded` (temp + fsync + rename). */
async function rewrite(file: string, loaded: Loaded, revision: number): Promise<void> {
  if (loaded.format !== INDEX_FORMAT) for (const [path, record] of loaded.stored) loaded.stored.set(path, currentRecord(record));
  const whole = encodeIndex(loaded.stored, revision);
  await writeFileAtomic(file, whole);
  loaded.revision = revision;
  loaded.end = loaded.size = Buffer.byteLength(whole);
  loaded.ino = await indexInode(file);
  loaded.records = loaded.stored.size + 1;
  loaded.format = INDEX_FORMAT;
}

/**
 * True when `entries` (from {@link loadEntries}) still describe the index on disk: nobody wrote
 * it since they were read or saved. A command holding the lock can then save them instead of
 * reading the index again.
 */
export async function entriesAreCurrent(root: string, entries: Entries): Promise<boolean> {
  const loaded = loadedFrom.get(entries.entries);
  if (!loaded || loaded.root !== root) return false;
  const now = await stat(adminPaths(root).index).catch(() => undefined);
  return now !== undefined && now.ino === loaded.ino && now.size === loaded.size;
}

/** The inode and size of the index as `entries` were last read or saved (undefined for entries from elsewhere). */
export function indexAsLoaded(root: string, entries: Entries): { size: number; ino: number } | undefined {
  const loaded = loadedFrom.get(entries.entries);
  return loaded && loaded.root === root && loaded.revision === entries.revision ? { size: loaded.size, ino: loaded.ino } : undefined;
}

/**
 * `entries` (from {@link loadEntries}) at the revision on disk, ready to take a journal's changes
 * and save them incrementally without reading the index again: for a command that holds the lock
 * and read the index itself. The map is the caller's own, not a copy (copying 100k entries cost
 * more than the rest of a 1-file commit's save): the journal undoes its changes if the save fails.
 * A save still diffs against what is stored, never against the caller's unsaved changes, so only
 * the paths the saver names are written. Undefined when someone wrote the index since, or
 * `entries` were never read from it.
 */
export async function entriesOnDisk(root: string, entries: Entries): Promise<Entries | undefined> {
  const loaded = loadedFrom.get(entries.entries);
  if (!loaded || !(await entriesAreCurrent(root, entries))) return undefined;
  return { revision: loaded.revision, entries: entries.entries };
}

