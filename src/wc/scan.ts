/**
 * Scans a checkout and classifies every path (DESIGN.md §3 letters). Files whose stat matches
 * the stat cache are not read (git's index idea); the others are hashed, a few at a time.
 */
import { lstatSync, readdirSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import type { ObjectKind, ObjectMeta } from "../protocol/types.js";
import { ADMIN_DIR } from "./admin.js";
import type { Entry, StatCache } from "./entries.js";
import { createIgnoreMatcher } from "./ignore.js";
import { statCache } from "./journal.js";
import { META_DIR, readWorkingMeta, sameMeta } from "./meta-files.js";
import { hashFile } from "./pristine.js";

/** Content column: `?` unversioned, `A` added, `R` removed, `M` modified, `C` conflict, `!` missing, `~` obstructed, `=` unchanged. */
export type ContentState = "?" | "A" | "R" | "M" | "C" | "!" | "~" | "=";
/** Metadata column: ` ` unchanged, `M` modified (or unreadable, see `metaError`). */
export type MetaState = " " | "M";

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
}

interface DiskNode {
  kind: ObjectKind;
  stats: BigIntStats;
}

/** Scans the checkout at `root` against its entries. `within` limits the result to those subtrees. */
export async function scanWorkingCopy(root: string, entries: Map<string, Entry>, opts: { within?: string[] } = {}): Promise<ScanResult> {
  const ignored = createIgnoreMatcher(root);
  const disk = new Map<string, DiskNode>();

  // Sync walk: measured fastest for many small directories (toolchain.md §6).
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(join(root, dir));
    } catch {
      return;
    }
    for (const name of names) {
      if (name === META_DIR) continue;
      const path = dir === "" ? name : `${dir}/${name}`;
      if (dir === "" && name === ADMIN_DIR) continue;
      let stats: BigIntStats;
      try {
        stats = lstatSync(join(root, path), { bigint: true });
      } catch {
        continue;
      }
      const isDir = stats.isDirectory();
      if (!isDir && !stats.isFile()) continue; // symlinks and devices are never followed or tracked
      const versioned = entries.has(path);
      if (!versioned && ignored(path, isDir)) continue;
      disk.set(path, { kind: isDir ? "folder" : "file", stats });
      if (isDir) {
        if (versioned) walk(path); // an unversioned folder is reported once, as a whole
      }
    }
  };
  walk("");

  const inScope = (path: string) =>
    !opts.within || opts.within.some((w) => w === "" || path === w || path.startsWith(w + "/"));
  const items: PathStatus[] = [];
  const toHash: PathStatus[] = [];
  const refreshedCaches = new Map<string, StatCache>();

  for (const [path, node] of disk) {
    if (!inScope(path) || entries.has(path)) continue;
    items.push({ path, kind: node.kind, content: "?", meta: " " });
  }
  for (const [path, entry] of entries) {
    if (!inScope(path)) continue;
    const node = path === "" ? ({ kind: "folder" } as DiskNode) : disk.get(path);
    const item: PathStatus = { path, kind: node?.kind ?? entry.kind, content: "=", meta: " ", entry };
    items.push(item);
    const working = await readWorkingMeta(root, path);
    item.workingMeta = working.meta;
    item.metaError = working.error;
    if (entry.schedule !== "removed" && (working.error || !sameMeta(working.meta, entry.schedule === "added" ? undefined : entry.meta))) {
      item.meta = entry.schedule === "added" ? " " : "M";
    }
    if (entry.conflict) item.content = "C";
    else if (entry.schedule === "removed") item.content = "R";
    else if (!node) item.content = "!";
    else if (node.kind !== entry.kind) item.content = "~";
    else if (entry.schedule === "added") item.content = "A";
    if (node?.kind === "file" && entry.kind === "file" && item.content !== "~") {
      const cache = entry.cache;
      const s = node.stats;
      if (cache && cache.size === Number(s.size) && cache.ino === Number(s.ino) && cache.mtimeNs === String(s.mtimeNs)) {
        item.workingHash = cache.hash;
        item.workingSize = cache.size;
      } else {
        toHash.push(item);
      }
    }
  }

  // Hash what the cache could not vouch for, a few files at a time.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < toHash.length) {
        const item = toHash[next++];
        const absolute = join(root, item.path);
        const { hash, size } = await hashFile(absolute);
        item.workingHash = hash;
        item.workingSize = size;
        const cache = await statCache(absolute, hash);
        if (cache) refreshedCaches.set(item.path, cache);
      }
    }),
  );
  for (const item of items) {
    if (item.content === "=" && item.kind === "file" && item.workingHash !== item.entry?.hash) item.content = "M";
  }
  items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { items, refreshedCaches };
}
