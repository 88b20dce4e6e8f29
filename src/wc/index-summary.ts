/**
 * `.zsync/index-summary`: what an update that brings nothing needs from the index, without
 * reading the index. At 100k files, reading the index was ~60% of such an update; the summary
 * holds one line per folder instead of one per file.
 *
 * It holds the checkout's revision, the entries newer than it (mixed revisions: what a commit
 * from here leaves), and the listing cache of every folder with tracked children. While each of
 * those folders keeps its stat, none of its tracked children is missing (the argument of
 * missing.ts), so an update has nothing to restore; when its delta lists only newer entries at
 * the revision they have here, and every newer entry, it has nothing to change either.
 *
 * A folder whose listing cache does not hold when the summary is written (an update just wrote
 * into it, too recently for its stat to be trusted) is listed with its tracked children's
 * paths instead, and those are lstat'ed one by one: so the update after an update that brought
 * something needs no index either. Past {@link MAX_UNLISTED} such paths (a fresh checkout, whose
 * folders are all too recent), no summary is written.
 *
 * It is a cache derived from the index and names the index it was made from (inode, size,
 * mtime and last seal line): any later write of the index makes it stale, and a stale, damaged
 * or absent summary only means the update reads the index as before. Written without fsync.
 */
import { lstatSync, type BigIntStats } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { adminPaths } from "./admin.js";
import { writeFileAtomic } from "./atomic.js";
import { indexAsLoaded } from "./entries.js";
import { childrenByParent, listingHolds, sameListing, type Entries } from "./entry.js";
import { appendIndex, encodeBatch } from "./index-file.js";
import { forEachRevision } from "./lazy-entries.js";

const SUMMARY_FORMAT = 2;
/** Past this many entries newer than the checkout (a large commit), the summary lists none. */
const MAX_NEWER = 1000;
/** Past this many tracked children of folders without a listing that holds, no summary is written. */
const MAX_UNLISTED = 2000;
/** Enough of the index's end to hold its last seal line (`CRC\tc\tREV\tCRC\n`, at most 40 bytes). */
const TAIL_BYTES = 48;

/** The index file a summary was made from. */
interface IndexIdentity {
  ino: number;
  size: number;
  /** Any write of the file changes it (and a test that damages the index in place is noticed). */
  mtimeNs: string;
  /** The last bytes of the file: its last seal line names the last batch's revision and CRC. */
  tail: string;
}

/** An entry newer than the checkout: `[path, kind, revision, clean]` (clean: 1 without schedule or conflict). */
export type NewerEntry = [string, "file" | "folder", number, 0 | 1];

/** A summary that matches the index on disk. */
export interface IndexSummary {
  /** The checkout's revision. */
  revision: number;
  /**
   * Every entry whose BASE revision is above the checkout's: `[path, kind, revision, clean]`,
   * clean (1) when it has no schedule and no conflict. Null when there were more than {@link MAX_NEWER}.
   */
  newer: NewerEntry[] | null;
  /**
   * Every folder with tracked children whose listing cache held when the summary was written,
   * with that cache's stat: `[path, mtimeNs, ctimeNs, ino]`.
   */
  folders: [string, string, string, number][];
  /** Every other folder with tracked children, with their paths: `[path, children]`. */
  unlisted: [string, string[]][];
  index: IndexIdentity;
}

async function identityOf(file: string): Promise<IndexIdentity | undefined> {
  const handle = await open(file, "r").catch(() => undefined);
  if (!handle) return undefined;
  try {
    const s = await handle.stat({ bigint: true });
    const [ino, size] = [Number(s.ino), Number(s.size)];
    const length = Math.min(TAIL_BYTES, size);
    const { buffer } = await handle.read({ buffer: Buffer.alloc(length), position: size - length });
    return { ino, size, mtimeNs: String(s.mtimeNs), tail: buffer.toString("latin1") };
  } finally {
    await handle.close();
  }
}

/** A checkout path as written (never up or absolute). */
const pathValid = (p: unknown) => typeof p === "string" && !p.startsWith("/") && !p.split("/").includes("..");
/** A folder line as written: its path and its listing's stat. */
const folderValid = (f: unknown) => Array.isArray(f) && f.length === 4 && pathValid(f[0]) && typeof f[1] === "string" && typeof f[2] === "string" && Number.isSafeInteger(f[3]);
const unlistedValid = (u: unknown) => Array.isArray(u) && u.length === 2 && pathValid(u[0]) && Array.isArray(u[1]) && u[1].every(pathValid);
const newerValid = (n: unknown) => Array.isArray(n) && n.length === 4 && pathValid(n[0]) && (n[1] === "file" || n[1] === "folder") && Number.isSafeInteger(n[2]) && (n[3] === 0 || n[3] === 1);

const sameIdentity = (a: IndexIdentity, b: IndexIdentity) => a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.tail === b.tail;

/** The summary, when there is one and it was made from the index as it is now; undefined otherwise. */
export async function readIndexSummary(root: string): Promise<IndexSummary | undefined> {
  const paths = adminPaths(root);
  let summary: IndexSummary & { format?: unknown };
  try {
    summary = JSON.parse(await readFile(paths.summary, "utf8")) as IndexSummary & { format?: unknown };
  } catch {
    return undefined; // absent, or torn by a crash: the index is read instead
  }
  if (
    summary?.format !== SUMMARY_FORMAT ||
    !Number.isSafeInteger(summary.revision) ||
    !(summary.newer === null || (Array.isArray(summary.newer) && summary.newer.every(newerValid))) ||
    !Array.isArray(summary.folders) ||
    !summary.folders.every(folderValid) ||
    !Array.isArray(summary.unlisted) ||
    !summary.unlisted.every(unlistedValid)
  ) {
    return undefined;
  }
  const now = await identityOf(paths.index);
  if (!now || typeof summary.index !== "object" || summary.index === null || !sameIdentity(now, summary.index)) return undefined;
  return { revision: summary.revision, newer: summary.newer, folders: summary.folders, unlisted: summary.unlisted, index: summary.index };
}

/**
 * Writes the summary of `entries` as read or saved (loadEntries, saveEntries), unless the index
 * has been written since. A folder with tracked children is summarised by its listing cache when
 * that counts them all and the folder still has its stat, and by its children's paths otherwise;
 * past {@link MAX_UNLISTED} such paths, none is written (and any summary on disk is stale).
 */
export async function writeIndexSummary(root: string, entries: Entries): Promise<void> {
  const paths = adminPaths(root);
  const saved = indexAsLoaded(root, entries);
  const index = saved && (await identityOf(paths.index));
  if (!saved || !index || index.size !== saved.size || index.ino !== saved.ino) return;
  const folders: IndexSummary["folders"] = [];
  const unlisted: IndexSummary["unlisted"] = [];
  let unlistedPaths = 0;
  for (const [folder, kids] of childrenByParent(entries.entries.keys())) {
    const entry = entries.entries.get(folder);
    const listing = entry?.kind === "folder" ? entry.listing : undefined;
    if (listingHolds(listing, kids.length, folderStat(root, folder))) {
      folders.push([folder, listing.mtimeNs, listing.ctimeNs, listing.ino]);
      continue;
    }
    unlistedPaths += kids.length;
    if (unlistedPaths > MAX_UNLISTED) return;
    unlisted.push([folder, kids]);
  }
  let newer: NewerEntry[] | null = [];
  forEachRevision(entries.entries, (path, kind, revision, entry) => {
    if (revision === undefined || revision <= entries.revision || newer === null) return;
    if (newer.length === MAX_NEWER) newer = null;
    else newer.push([path, kind, revision, entry?.schedule || entry?.conflict ? 0 : 1]);
  });
  await writeSummary(paths.summary, { revision: entries.revision, newer, folders, unlisted, index });
}

/**
 * True when no tracked path can be missing from disk: every folder of the summary is still a
 * folder with its recorded stat, and every child listed by path (see {@link IndexSummary.unlisted})
 * exists. (False means "look": missing.ts then checks path by path.)
 */
export function noTrackedPathMissing(root: string, summary: IndexSummary): boolean {
  for (const [folder, mtimeNs, ctimeNs, ino] of summary.folders) {
    const s = folderStat(root, folder);
    if (!s || !sameListing({ mtimeNs, ctimeNs, ino }, s)) return false;
  }
  for (const [folder, children] of summary.unlisted) {
    if (!folderStat(root, folder)) return false;
    for (const child of children) if (!lstatOf(root, child)) return false;
  }
  return true;
}

/** The lstat of `folder` when it is a folder (not a symlink, a file or nothing). */
function folderStat(root: string, folder: string): BigIntStats | undefined {
  const s = lstatOf(root, folder);
  return s?.isDirectory() ? s : undefined;
}

/** The lstat of a checkout path; undefined when nothing is there (or a file is where a parent folder should be). */
function lstatOf(root: string, path: string): BigIntStats | undefined {
  try {
    return lstatSync(join(root, path), { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR
  }
}

/**
 * Moves the checkout to `revision` by appending an empty batch to the index, and summarises the
 * result. False (nothing written) when the index is no longer the one summarised.
 */
export async function saveSummarisedRevision(root: string, summary: IndexSummary, revision: number): Promise<boolean> {
  const paths = adminPaths(root);
  const text = encodeBatch([], revision);
  if (!(await appendIndex(paths.index, text, summary.index.size, summary.index, { fsync: true }).catch(() => false))) return false;
  const index = await identityOf(paths.index);
  const expected = summary.index.size + Buffer.byteLength(text);
  if (!index || index.size !== expected || index.ino !== summary.index.ino) return true; // written since: that writer's summary, or none
  summary.revision = revision;
  summary.newer = summary.newer && summary.newer.filter(([, , newer]) => newer > revision);
  summary.index = index;
  await writeSummary(paths.summary, summary);
  return true;
}

/**
 * A cache: a failed write (a full disk) must not fail the command that already did its work.
 * The summary it would have replaced names an older index, so it is stale and ignored.
 */
async function writeSummary(file: string, summary: IndexSummary): Promise<void> {
  await writeFileAtomic(file, JSON.stringify({ format: SUMMARY_FORMAT, ...summary }), { fsync: false }).catch(() => {});
}
