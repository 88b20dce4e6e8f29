/**
 * One entry of the checkout: what a tracked path records (BASE revision, hash and size, metadata,
 * schedule, conflict, and the stat, listing and metadata caches), the checks every entry passes
 * before it is written, and helpers over a map of entries. Stored by entries.ts.
 */
import { ArchivePathError, checkArchivePath, parentPath } from "../protocol/paths.js";
import type { EntryInfo, ObjectKind, ObjectMeta } from "../protocol/types.js";
import { ManifestError, parseObjectMeta } from "../protocol/manifest.js";
import type { BigIntStats } from "node:fs";
import { checkoutPathProblem } from "./safe-path.js";

/** What an unresolved conflict left behind. */
export interface ConflictRecord {
  kind: "text" | "binary" | "meta" | "tree";
  /** Files written beside the conflicted one (`f.mine`, `f.r12`, `f.r15`), relative to the root. */
  artifacts: string[];
  reason?: string;
  /**
   * Pristine hashes of the versions involved (text, binary and tree conflicts), so `resolve`
   * can rebuild any choice even when the artifacts were deleted: BASE before the update, the
   * working file before the update (`mine`), and the server's (`theirs`).
   */
  versions?: { base?: string; mine?: string; theirs?: string };
  /** Marker labels used (`.r12`, `.r15`). */
  labels?: { base: string; theirs: string };
  /** Metadata conflicts: the three metadata values and the conflicting keys. */
  meta?: { base?: ObjectMeta; mine?: ObjectMeta; theirs?: ObjectMeta; keys: string[] };
}

/** The working file's stat when its content was known to hash to `hash`. */
export interface StatCache {
  size: number;
  mtimeNs: string;
  ino: number;
  hash: string;
}

/**
 * The stat of an object's metadata file (`@@meta/NAME.json`) when it parsed to `meta`: while the
 * file keeps its size, mtime and inode, `status` takes `meta` instead of reading and parsing it.
 * It describes the file, not its relation to BASE, so a change of BASE metadata never stales it.
 */
export interface MetaFileCache {
  size: number;
  mtimeNs: string;
  ino: number;
  meta: ObjectMeta;
}

/**
 * A folder's stat when its listing held exactly its tracked children (no unversioned or ignored
 * names; `@@meta` only as below): while the folder's mtime, ctime and inode stay the same, its
 * names are the same, so `status` need not read it (git's untracked cache).
 */
export interface ListingCache {
  mtimeNs: string;
  ctimeNs: string;
  ino: number;
  /** How many tracked children the folder had: an entry dropped while its file stays makes the listing stale. */
  children: number;
  /**
   * The folder's `@@meta/` folder, when it had one: its stat, and how many metadata files it
   * held — each of them a tracked child's, each child with a `metaCache`. While that stat and
   * that count of children with a `metaCache` hold, those children are exactly the ones with a
   * metadata file, so `@@meta/` need not be read either.
   */
  meta?: { mtimeNs: string; ctimeNs: string; ino: number; files: number };
}

/** True while a folder (or `@@meta/`) still has the stat its listing cache recorded: the same names as then. */
export function sameListing(listing: Pick<ListingCache, "mtimeNs" | "ctimeNs" | "ino">, s: BigIntStats): boolean {
  return listing.mtimeNs === String(s.mtimeNs) && listing.ctimeNs === String(s.ctimeNs) && listing.ino === Number(s.ino);
}

/**
 * True while a folder's listing cache vouches for its tracked children: it counted all
 * `children` of them, and the folder (`s`) still has the stat it recorded, so none is missing.
 */
export function listingHolds(listing: ListingCache | undefined, children: number, s: BigIntStats | undefined): listing is ListingCache {
  return listing !== undefined && s !== undefined && listing.children === children && sameListing(listing, s);
}

function metaListingValid(meta: ListingCache["meta"]): boolean {
  return meta === undefined || (typeof meta === "object" && meta !== null && typeof meta.mtimeNs === "string" && typeof meta.ctimeNs === "string" && Number.isSafeInteger(meta.ino) && Number.isSafeInteger(meta.files));
}

/** One tracked path. */
export interface Entry {
  kind: ObjectKind;
  /** The object's last-changed revision at BASE; absent for paths scheduled for addition. */
  revision?: number;
  /** BASE content hash and size (files with a BASE). */
  hash?: string;
  size?: number;
  /** BASE metadata. */
  meta?: ObjectMeta;
  schedule?: "added" | "removed";
  conflict?: ConflictRecord;
  cache?: StatCache;
  /** See {@link MetaFileCache}. */
  metaCache?: MetaFileCache;
  /** Folders: see {@link ListingCache}. */
  listing?: ListingCache;
}

/** The whole entries file. */
export interface Entries {
  /** Revision the whole checkout was last updated to. */
  revision: number;
  entries: Map<string, Entry>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/** What is wrong with one entry (the checks every entry passes before it is written), or undefined. */
export function entryProblem(path: string, e: Entry): string | undefined {
  try {
    checkArchivePath(path);
  } catch (error) {
    if (error instanceof ArchivePathError) return `bad path ${JSON.stringify(path)}`;
    throw error;
  }
  if (typeof e !== "object" || e === null) return `bad entry for ${JSON.stringify(path)}`;
  const conflict = e.conflict as ConflictRecord | undefined;
  if (conflict !== undefined) {
    const ok = typeof conflict === "object" && conflict !== null && ["text", "binary", "meta", "tree"].includes(conflict.kind) && Array.isArray(conflict.artifacts);
    if (!ok) return `bad conflict record for ${JSON.stringify(path)}`;
    for (const artifact of conflict.artifacts) {
      const problem = checkoutPathProblem(artifact);
      if (problem || artifact === "") return `bad conflict artifact of ${JSON.stringify(path)}: ${problem ?? "empty"}`;
    }
  }
  if (e.meta !== undefined) {
    try {
      parseObjectMeta(e.meta, `metadata of ${JSON.stringify(path)}`);
    } catch (error) {
      if (error instanceof ManifestError) return error.message;
      throw error;
    }
  }
  if (e.metaCache !== undefined) {
    const c = e.metaCache as Partial<MetaFileCache> | null;
    if (typeof c !== "object" || c === null || !Number.isSafeInteger(c.size) || typeof c.mtimeNs !== "string" || !Number.isSafeInteger(c.ino)) return `bad metadata cache for ${JSON.stringify(path)}`;
    try {
      parseObjectMeta(c.meta, `cached metadata of ${JSON.stringify(path)}`);
    } catch (error) {
      if (error instanceof ManifestError) return error.message;
      throw error;
    }
  }
  const valid =
    (e.kind === "file" || e.kind === "folder") &&
    (e.revision === undefined || Number.isSafeInteger(e.revision)) &&
    (e.hash === undefined || (typeof e.hash === "string" && SHA256.test(e.hash))) &&
    (e.schedule === undefined || e.schedule === "added" || e.schedule === "removed") &&
    (e.cache === undefined || (typeof e.cache === "object" && e.cache !== null && typeof e.cache.hash === "string" && (e.cache.hash === e.hash || SHA256.test(e.cache.hash)))) &&
    (e.listing === undefined || (e.kind === "folder" && typeof e.listing === "object" && e.listing !== null && typeof e.listing.mtimeNs === "string" && typeof e.listing.ctimeNs === "string" && Number.isSafeInteger(e.listing.children) && metaListingValid(e.listing.meta))) &&
    (e.schedule === "added" || e.revision !== undefined) &&
    (e.kind === "folder" || e.schedule === "added" || e.hash !== undefined);
  return valid ? undefined : `bad entry for ${JSON.stringify(path)}`;
}


/** Paths of `entries` under `path` (exclusive), in sorted order. */
export function entriesUnder(entries: Map<string, Entry>, path: string): string[] {
  const prefix = path === "" ? "" : path + "/";
  return [...entries.keys()].filter((p) => p !== path && p.startsWith(prefix)).sort();
}

/** The BASE entry for an object as the server describes it. */
export function entryFromRemote(remote: EntryInfo): Entry {
  const entry: Entry = { kind: remote.kind, revision: remote.revision };
  if (remote.kind === "file") {
    entry.hash = remote.hash;
    entry.size = remote.size;
  }
  if (remote.meta) entry.meta = remote.meta;
  return entry;
}

/** The tracked children of each folder (the root "" not included as a child), from the entries' paths. */
export function childrenByParent(paths: Iterable<string>): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const path of paths) {
    if (path === "") continue;
    const parent = parentPath(path);
    const list = children.get(parent);
    if (list) list.push(path);
    else children.set(parent, [path]);
  }
  return children;
}
