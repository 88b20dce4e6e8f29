/**
 * Scans a checkout and classifies every path (DESIGN.md §3 letters). Files whose stat matches
 * the stat cache are not read (git's index idea); the others are hashed, a few at a time.
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { lstatSync, readdirSync, readFileSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { parentPath } from "../protocol/paths.js";
import type { ObjectKind, ObjectMeta } from "../protocol/types.js";
import { ADMIN_DIR } from "./admin.js";
import { childrenByParent, listingHolds, sameListing, type Entry, type ListingCache, type MetaFileCache, type StatCache } from "./entries.js";
import { createIgnoreMatcher } from "./ignore.js";
import { LazyEntries, statCachesOf } from "./lazy-entries.js";
import { cacheFromStats, metaCacheFromStats, settled, statCache } from "./stat-cache.js";
import { META_DIR, metaFileOf, objectOfMetaFile, readWorkingMetaSync, sameMeta } from "./meta-files.js";
import { hashFile } from "./pristine.js";
import { cacheMatches, checkStatCaches, lstatAgainst, PARALLEL_FROM } from "./stat-check.js";

/** Content column: `?` unversioned, `A` added, `R` removed, `M` modified, `C` conflict, `!` missing, `~` obstructed, `=` unchanged. */
export type ContentState = "?" | "A" | "R" | "M" | "C" | "!" | "~" | "=";
/** Metadata column: ` ` unchanged, `M` modified (or unreadable, see `metaError`), `C` metadata conflict. */
export type MetaState = " " | "M" | "C";

/** The state of one path in the checkout. */
export interface PathStatus {
  path: string;
  /** Kind on disk, or of the entry when missing. */
  kind: ObjectKind;
  content: ContentState;
  meta: MetaState;
  entry?: Entry;
  /** Hash of the working file (files present on disk). */
  workingHash?: string;
  workingSize?: number;
  /** Working metadata (parsed `@@meta` file). */
  workingMeta?: ObjectMeta;
  /** Why the `@@meta` file cannot be used. */
  metaError?: string;
}

export interface ScanResult {
  items: PathStatus[];
  /** Fresh stat caches worth saving (path → cache). */
  refreshedCaches: Map<string, StatCache>;
  /** Folders whose listing held only tracked children, with their stat (folder path → cache). */
  refreshedListings: Map<string, ListingCache>;
  /** Metadata files read and parsed, with their stat (object path → cache). */
  refreshedMetaCaches: Map<string, MetaFileCache>;
}

interface DiskNode {
  kind: ObjectKind;
  /** Kept only when the stat cache did not settle the file: 20k kept BigIntStats cost more in GC than the lstat calls. */
  stats?: BigIntStats;
  /** The file's stat matches its entry's stat cache: the cache's hash is its content. */
  cacheHit?: boolean;
}

/** The shared node of every file whose stat matches its cache (no per-file object). */
const CACHED_FILE: DiskNode = Object.freeze({ kind: "file", cacheHit: true });
/**
 * The same, for a file whose entry was an undecoded `f` record (lazy-entries.ts): a plain file
 * whose cache is of its BASE content, so unchanged unless it has a metadata file now.
 */
const CACHED_PLAIN_FILE: DiskNode = Object.freeze({ kind: "file", cacheHit: true });

/**
 * Checks the stat caches of all files before the walk, on two threads, and gives the entries it
 * did not vouch for: every one except the files that match their cache. Undefined below `from`
 * files (the walk then checks each itself). `base` is what the scan puts before a path. The walk
 * still decides which paths it visits: a vouched file under a folder that is no longer a folder
 * is never reached.
 */
async function unvouchedEntries(entries: Map<string, Entry>, base: string, from: number): Promise<Set<string> | undefined> {
  if (entries.size < from) return undefined;
  const { paths, expected } = statCachesOf(entries);
  if (paths.length < from) return undefined;
  const hits = await checkStatCaches({ files: base === "" ? paths : paths.map((path) => base + path), expected });
  // `paths` is in the map's order, a subsequence of its keys.
  const unvouched = new Set<string>();
  let i = 0;
  for (const path of entries.keys()) {
    if (i < paths.length && paths[i] === path) {
      if (!hits[i]) unvouched.add(path);
      i++;
    } else {
      unvouched.add(path);
    }
  }
  return unvouched;
}

/** Files up to this size are hashed synchronously: for many small files that is far faster. */
const SYNC_HASH_LIMIT = 1 << 20;

/**
 * Scans the checkout at `root` against its entries. `within` limits the scan (and the result)
 * to those subtrees; only they are walked.
 */
export async function scanWorkingCopy(
  root: string,
  entries: Map<string, Entry>,
  opts: {
    within?: string[];
    /** Leave unchanged paths out of the result (plain `status`). */
    changedOnly?: boolean;
    /** The clock that judges whether a stat time is old enough for a cache to trust (tests inject one). */
    now?: () => number;
    /**
     * Read a large file only when its hash decides its state (`commit`: an added file, or one
     * whose size differs from BASE, is sent anyway and hashed while it is sent); such items
     * carry no `workingHash`.
     */
    hashOnlyToDecide?: boolean;
    /** From this many files with a stat cache, check them up front on two threads (tests lower it). */
    parallelFrom?: number;
  } = {},
): Promise<ScanResult> {
  const ignored = createIgnoreMatcher(root);
  // Index paths are validated relative paths: plain concatenation, not path.join's normalising
  // (measurable at 20k lstats). From the checkout root (the usual case) they are used as they
  // are: the kernel then walks 3 path components per lstat, not 8 (-20% at 100k files). Nothing
  // in zsync changes the working directory.
  const base = root === process.cwd() ? "" : root.endsWith("/") ? root : root + "/";
  const onDisk = (path: string) => (path === "" ? root : base + path);
  const disk = new Map<string, DiskNode>();
  /** Objects whose `@@meta/<name>.json` (or the root's `@@root.json`) exists. */
  const metaFiles = new Set<string>();
  const listedMetaDirs = new Set<string>();
  /** Files in `@@meta/` that are no object's metadata (`NAME.json.orig` kept by revert/resolve): unversioned. */
  const strayMetaFiles: string[] = [];

  /** Per folder whose `@@meta/` was read: its stat (taken before reading), the objects it holds metadata of, and whether anything else was there. */
  const metaDirs = new Map<string, { stats: BigIntStats; objects: string[]; stray: boolean }>();

  const listMetaDir = (dir: string) => {
    if (listedMetaDirs.has(dir)) return;
    listedMetaDirs.add(dir);
    const metaDir = onDisk(dir === "" ? META_DIR : `${dir}/${META_DIR}`);
    let names: string[];
    let stats: BigIntStats | undefined;
    try {
      stats = lstatSync(metaDir, { bigint: true, throwIfNoEntry: false });
      names = readdirSync(metaDir);
    } catch {
      return;
    }
    const objects: string[] = [];
    let stray = false;
    for (const name of names) {
      const object = objectOfMetaFile(`${dir === "" ? "" : dir + "/"}${META_DIR}/${name}`);
      if (object !== undefined) {
        metaFiles.add(object);
        objects.push(object);
      } else {
        strayMetaFiles.push(`${dir === "" ? "" : dir + "/"}${META_DIR}/${name}`);
        stray = true;
      }
    }
    if (stats?.isDirectory()) metaDirs.set(dir, { stats, objects, stray });
  };

  /**
   * Whether a folder's unchanged listing also vouches for its `@@meta/` (see ListingCache.meta);
   * if so, its children with a metadata file are known without reading `@@meta/`.
   */
  const metaListingHolds = (dir: string, listing: ListingCache): boolean => {
    // No `@@meta/` then, and the folder's names are the same: none now.
    if (!listing.meta) return true;
    const stats = lstatSync(onDisk(dir === "" ? META_DIR : `${dir}/${META_DIR}`), { bigint: true, throwIfNoEntry: false });
    if (!stats || !sameListing(listing.meta, stats)) return false;
    const withMeta = childrenOf(dir).filter((child) => entries.get(child)!.metaCache !== undefined);
    if (withMeta.length !== listing.meta.files) return false;
    for (const child of withMeta) metaFiles.add(child);
    listedMetaDirs.add(dir);
    return true;
  };

  const scopes = opts.within && !opts.within.includes("") ? opts.within : undefined;
  // A whole-tree scan of many files: their stat caches are checked up front, on two threads.
  const unvouched = scopes ? undefined : await unvouchedEntries(entries, base, opts.parallelFrom ?? PARALLEL_FROM);

  // Entries read lazily: a plain file's stat cache is checked without decoding its entry.
  const lazy = entries instanceof LazyEntries ? entries : undefined;
  const visit = (path: string): DiskNode | undefined => {
    // Vouched for: a file entry whose cache matched (a record still undecoded is a plain file's).
    if (unvouched && !unvouched.has(path) && entries.has(path)) {
      const node = lazy?.holdsRecord(path) ? CACHED_PLAIN_FILE : CACHED_FILE;
      disk.set(path, node);
      return node;
    }
    const plain = lazy?.plainFileStat(path);
    const entry = plain ? undefined : entries.get(path);
    const stats = lstatAgainst(onDisk(path), plain ?? (entry?.kind === "file" ? entry.cache : undefined));
    if (stats === true) {
      const node = plain ? CACHED_PLAIN_FILE : CACHED_FILE;
      disk.set(path, node);
      return node;
    }
    if (!stats) return undefined;
    const isDir = stats.isDirectory();
    if (!isDir && !stats.isFile()) return undefined; // symlinks and devices are never followed or tracked
    const tracked = plain !== undefined || entry !== undefined;
    if (!tracked && ignored(path, isDir)) return undefined;
    const node: DiskNode = { kind: isDir ? "folder" : "file", stats };
    disk.set(path, node);
    if (isDir && tracked) walk(path, stats); // an unversioned folder is reported once, as a whole
    return node;
  };

  /** Tracked children per folder, built on the first folder whose listing is skipped. */
  let children: Map<string, string[]> | undefined;
  const childrenOf = (dir: string): string[] => {
    children ??= childrenByParent(entries.keys());
    return children.get(dir) ?? [];
  };
  const refreshedListings = new Map<string, ListingCache>();

  // Sync walk: measured fastest for many small directories (toolchain.md §6).
  const walk = (dir: string, stats?: BigIntStats) => {
    // Unchanged since it held only tracked names: visit those, without reading the folder.
    const listing = entries.get(dir)?.listing;
    if (listingHolds(listing, childrenOf(dir).length, stats) && metaListingHolds(dir, listing)) {
      for (const path of childrenOf(dir)) visit(path);
      return;
    }
    let names: string[];
    try {
      names = readdirSync(onDisk(dir));
    } catch {
      return;
    }
    let onlyTracked = true;
    let tracked = 0;
    let hasMetaDir = false;
    for (const name of names) {
      if (name === META_DIR) {
        hasMetaDir = true;
        listMetaDir(dir);
        continue;
      }
      if (dir === "" && name === ADMIN_DIR) continue;
      const path = dir === "" ? name : `${dir}/${name}`;
      if (entries.has(path)) tracked++;
      else onlyTracked = false;
      visit(path);
    }
    // Every tracked child must be on disk too, or a later listing of the same names could not tell.
    const fresh = onlyTracked && stats && tracked === childrenOf(dir).length ? listingFromStats(stats, tracked, (opts.now ?? Date.now)()) : undefined;
    // With an `@@meta/`, decided once the metadata caches are known (below).
    if (fresh) (hasMetaDir ? listingsWithMeta : refreshedListings).set(dir, fresh);
  };
  const listingsWithMeta = new Map<string, ListingCache>();

  if (scopes) {
    listMetaDir("");
    for (const scope of scopes) {
      listMetaDir(parentPath(scope));
      visit(scope);
    }
  } else {
    walk("", lstatSync(root, { bigint: true }));
  }
  listMetaDir("");

  const nowMs = (opts.now ?? Date.now)();
  const refreshedMetaCaches = new Map<string, MetaFileCache>();
  /** Objects whose metadata file has a valid cache after this scan (kept or refreshed). */
  const metaCached = new Set<string>();
  /** An object's working metadata: from its cache while the file's stat matches, else read (and cached when settled). */
  const workingMeta = (path: string, cache: MetaFileCache | undefined): { meta?: ObjectMeta; error?: string } => {
    const file = onDisk(metaFileOf(path));
    const before = lstatAgainst(file, cache);
    if (before === true) {
      metaCached.add(path);
      return { meta: cache!.meta };
    }
    const working = readWorkingMetaSync(root, path);
    const fresh = before && working.meta && !working.error ? metaCacheFromStats(before, working.meta, nowMs) : undefined;
    // Only if the file did not change while it was read: the cache must describe these bytes.
    if (fresh && cacheMatches(fresh, lstatSync(file, { bigint: true, throwIfNoEntry: false }))) {
      refreshedMetaCaches.set(path, fresh);
      metaCached.add(path);
    }
    return working;
  };

  const inScope = (path: string) => !scopes || scopes.some((w) => path === w || path.startsWith(w + "/"));
  const items: PathStatus[] = [];
  const toHash: PathStatus[] = [];
  const refreshedCaches = new Map<string, StatCache>();

  for (const [path, node] of disk) {
    if (!inScope(path) || entries.has(path)) continue;
    items.push({ path, kind: node.kind, content: "?", meta: " " });
  }
  for (const path of strayMetaFiles) if (inScope(path) && !ignored(path, false)) items.push({ path, kind: "file", content: "?", meta: " " });
  for (const path of entries.keys()) {
    if (scopes && !inScope(path)) continue;
    const node = path === "" ? ({ kind: "folder" } as DiskNode) : disk.get(path);
    if (opts.changedOnly && node === CACHED_PLAIN_FILE && !metaFiles.has(path)) continue; // clean, and never decoded
    const entry = entries.get(path)!;
    // The common case of a clean status, decided without allocating: a plain entry, no metadata
    // on either side, the same kind on disk, and a file whose stat matches its cache.
    if (opts.changedOnly && node && node.kind === entry.kind && entry.schedule === undefined && entry.conflict === undefined && entry.meta === undefined && !metaFiles.has(path)) {
      if (node.kind === "folder") continue;
      if (node.cacheHit && entry.cache!.hash === entry.hash) continue;
    }
    const item: PathStatus = { path, kind: node?.kind ?? entry.kind, content: "=", meta: " ", entry };
    let pending = false;
    if (metaFiles.has(path)) {
      const working = workingMeta(path, entry.metaCache);
      item.workingMeta = working.meta;
      item.metaError = working.error;
    }
    if (entry.schedule !== "removed" && (item.metaError || !sameMeta(item.workingMeta, entry.schedule === "added" ? undefined : entry.meta))) {
      item.meta = entry.schedule === "added" ? " " : "M";
    }
    if (entry.conflict?.kind === "meta") item.meta = "C";
    if (entry.conflict && entry.conflict.kind !== "meta") item.content = "C";
    else if (entry.schedule === "removed") item.content = "R";
    else if (!node) item.content = "!";
    else if (node.kind !== entry.kind) item.content = "~";
    else if (entry.schedule === "added") item.content = "A";
    if (node?.kind === "file" && entry.kind === "file" && item.content !== "~") {
      const cache = entry.cache;
      const s = node.stats;
      if (node.cacheHit && cache) {
        item.workingHash = cache.hash;
        item.workingSize = cache.size;
      } else if (s && s.size <= SYNC_HASH_LIMIT) {
        const bytes = readFileSync(join(root, path));
        item.workingHash = nodeCrypto().createHash("sha256").update(bytes).digest("hex");
        item.workingSize = bytes.length;
        const fresh = cacheFromStats(s, item.workingHash, nowMs);
        if (fresh) refreshedCaches.set(path, fresh);
      } else if (opts.hashOnlyToDecide && s && (item.content === "A" || (item.content === "=" && entry.size !== undefined && s.size !== BigInt(entry.size)))) {
        if (item.content === "=") item.content = "M";
        item.workingSize = Number(s.size);
      } else {
        toHash.push(item);
        pending = true;
      }
    }
    const unchanged = item.content === "=" && item.meta === " " && (item.workingHash === undefined || item.workingHash === entry.hash);
    if (!opts.changedOnly || pending || !unchanged) items.push(item);
  }

  // Large files are streamed, a few at a time.
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < toHash.length) {
        const item = toHash[next++];
        const absolute = join(root, item.path);
        const { hash, size } = await hashFile(absolute);
        item.workingHash = hash;
        item.workingSize = size;
        const cache = await statCache(absolute, hash, nowMs);
        if (cache) refreshedCaches.set(item.path, cache);
      }
    }),
  );
  for (const item of items) {
    if (item.content === "=" && item.kind === "file" && item.workingHash !== item.entry?.hash) item.content = "M";
  }
  // A listing with an `@@meta/` is kept only when that folder held nothing but tracked children's
  // metadata files, each now cached, and no other child keeps a cache (so the count identifies them).
  for (const [dir, listing] of listingsWithMeta) {
    const metaDir = metaDirs.get(dir);
    if (!metaDir || metaDir.stray || !settled(metaDir.stats.mtimeNs, nowMs) || !settled(metaDir.stats.ctimeNs, nowMs)) continue;
    if (!metaDir.objects.every((object) => entries.has(object) && metaCached.has(object))) continue;
    const withCache = childrenOf(dir).filter((child) => metaCached.has(child) || entries.get(child)!.metaCache !== undefined).length;
    if (withCache !== metaDir.objects.length) continue;
    const { mtimeNs, ctimeNs, ino } = metaDir.stats;
    refreshedListings.set(dir, { ...listing, meta: { mtimeNs: String(mtimeNs), ctimeNs: String(ctimeNs), ino: Number(ino), files: withCache } });
  }
  items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { items, refreshedCaches, refreshedListings, refreshedMetaCaches };
}

/**
 * Puts the caches a scan refreshed into `entries` (new entry objects) and returns the paths
 * changed, for `saveEntries`. A cache says only "a file with this stat holds this", so it is
 * valid on any version of the entries; a listing only while the folder has the children it counted.
 */
export function adoptScanCaches(entries: Map<string, Entry>, refreshed: Pick<ScanResult, "refreshedCaches" | "refreshedListings" | "refreshedMetaCaches">): string[] {
  const changed = new Set<string>();
  const adopt = (path: string, patch: Partial<Entry>) => {
    const entry = entries.get(path);
    if (!entry) return;
    entries.set(path, { ...entry, ...patch });
    changed.add(path);
  };
  for (const [path, cache] of refreshed.refreshedCaches) adopt(path, { cache });
  for (const [path, metaCache] of refreshed.refreshedMetaCaches) adopt(path, { metaCache });
  if (refreshed.refreshedListings.size > 0) {
    const children = childrenByParent(entries.keys());
    for (const [path, listing] of refreshed.refreshedListings) {
      if (entries.get(path)?.kind === "folder" && (children.get(path)?.length ?? 0) === listing.children) adopt(path, { listing });
    }
  }
  return [...changed];
}

/**
 * Listing caches for the folders of a checkout just written: a folder whose names are exactly its
 * tracked children gets the cache a scan would give it (if settled), so the first `status` or
 * `update` after a checkout need not read every folder, nor the whole index (its summary needs
 * them). `@@meta/` is never a tracked name, so a folder with one is left to the scan: its cache
 * also rests on the metadata files' caches. The folder's stat is taken before its names, as in
 * the scan's walk.
 */
export function listingsOfNewCheckout(root: string, entries: Map<string, Entry>, nowMs: number = Date.now()): Map<string, ListingCache> {
  const children = childrenByParent(entries.keys());
  const listings = new Map<string, ListingCache>();
  for (const [dir, entry] of entries) {
    if (entry.kind !== "folder") continue;
    const stats = lstatSync(join(root, dir), { bigint: true, throwIfNoEntry: false });
    if (!stats?.isDirectory()) continue;
    let names: string[];
    try {
      names = readdirSync(join(root, dir));
    } catch {
      continue;
    }
    if (dir === "") names = names.filter((name) => name !== ADMIN_DIR);
    const kids = children.get(dir)?.length ?? 0;
    if (names.length !== kids || !names.every((name) => entries.has(dir === "" ? name : `${dir}/${name}`))) continue;
    const listing = listingFromStats(stats, kids, nowMs);
    if (listing) listings.set(dir, listing);
  }
  return listings;
}

/** The listing cache for a folder just read, unless its mtime is too recent to trust (as for files). */
function listingFromStats(s: BigIntStats, children: number, nowMs: number): ListingCache | undefined {
  if (!settled(s.mtimeNs, nowMs) || !settled(s.ctimeNs, nowMs)) return undefined;
  return { mtimeNs: String(s.mtimeNs), ctimeNs: String(s.ctimeNs), ino: Number(s.ino), children };
}
