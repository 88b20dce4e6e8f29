/**
 * `remove` (svn semantics): schedules versioned paths for removal (a path scheduled for addition
 * just loses its entry) and deletes the working files, folders and their `@@meta` files unless
 * `keepLocal`. Refuses, changing nothing at all, when a named path or anything inside a named
 * folder holds bytes that exist nowhere else — local modifications of content or metadata,
 * unversioned or added files, conflicts — unless `force`. With `keepLocal` nothing is deleted,
 * so only conflicts refuse.
 *
 * Files zsync does not track (ignored files, stray metadata files, symlinks) are never deleted
 * without `force`; a folder still holding some stays on disk and is reported as `kept`.
 */
import { readCheckoutFile } from "./safe-path.js";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { ObjectKind } from "../protocol/types.js";
import { WcError } from "./admin.js";
import { checkObjectPath, lstatOrNone, sha256 } from "./add.js";
import { entriesUnder, type Entry } from "./entries.js";
import { runJournalOn, type JournalReport, type JournalStep } from "./journal.js";
import { metaFileOf, objectOfMetaFile, readWorkingMeta, sameMeta } from "./meta-files.js";
import { hashFile } from "./pristine.js";
import { scanWorkingCopy } from "./scan.js";
import type { WorkingCopy } from "./session.js";

export interface RemoveOptions {
  /** Checkout paths to remove. */
  paths: string[];
  /** Keep the working files and folders (only the schedule changes). */
  keepLocal?: boolean;
  /** Remove even what holds local modifications, unversioned files or conflicts. */
  force?: boolean;
}

export interface RemovedPath {
  path: string;
  kind: ObjectKind;
  /** `scheduled`: will be deleted on the server by the next commit; `forgotten`: was only scheduled for addition, its entry is gone. */
  action: "scheduled" | "forgotten";
  /** True when the working file or folder is gone from disk. */
  deleted: boolean;
}

/** A path that blocked the removal, with its status letters (content, metadata). */
export interface RemoveOffender {
  path: string;
  status: string;
}

export interface RemoveResult {
  removed: RemovedPath[];
  /** Unversioned paths deleted because of `force`. */
  deletedUnversioned: string[];
  /** Named paths left on disk because they still hold files zsync does not track. */
  kept: { path: string; remaining: string[] }[];
  /** Named paths with nothing to do (already scheduled for removal, unversioned with keepLocal). */
  skipped: { path: string; message: string }[];
  savedAside: JournalReport["savedAside"];
}

/** The refusal: lists what would have been lost. Nothing was changed. */
export class RemoveRefusedError extends WcError {
  readonly offenders: RemoveOffender[];
  constructor(offenders: RemoveOffender[], keepLocal: boolean) {
    const list = offenders.map((o) => `  ${o.status.padEnd(2)} ${o.path}`).join("\n");
    const hint = keepLocal ? "resolve the conflicts first, or use --force" : "use --force to remove them anyway (local changes will be lost), or --keep-local to keep the files";
    super("local-modifications", `nothing removed: these paths have local modifications, are not versioned or are in conflict:\n${list}\n${hint}`);
    this.offenders = offenders;
  }
}

interface DiskTree {
  files: string[];
  dirs: string[];
  /** Symlinks and special files: never deleted by this command. */
  others: string[];
}

async function walkDisk(root: string, path: string, tree: DiskTree): Promise<void> {
  const s = await lstatOrNone(join(root, path));
  if (!s) return;
  if (s.isFile()) tree.files.push(path);
  else if (s.isDirectory()) {
    tree.dirs.push(path);
    for (const name of (await readdir(join(root, path))).sort()) await walkDisk(root, `${path}/${name}`, tree);
  } else tree.others.push(path);
}

const depth = (p: string) => p.split("/").length;
const within = (path: string, dir: string) => path === dir || path.startsWith(dir + "/");

/** True when the metadata file of `path` differs from its BASE (or exists at all for an added path). */
async function metaChanged(root: string, path: string, entry: Entry): Promise<boolean> {
  const working = await readWorkingMeta(root, path);
  if (working.error) return true;
  return !sameMeta(working.meta, entry.schedule === "added" ? undefined : entry.meta);
}

/** Removes `opts.paths` (see the module comment). */
export async function remove(wc: WorkingCopy, opts: RemoveOptions): Promise<RemoveResult> {
  const entries = wc.entries.entries;
  const keepLocal = opts.keepLocal === true;
  const force = opts.force === true;
  const result: RemoveResult = { removed: [], deletedUnversioned: [], kept: [], skipped: [], savedAside: [] };

  // Named paths, without those inside another named path.
  const named = [...new Set(opts.paths)].sort();
  const targets = named.filter((p) => !named.some((q) => q !== p && (q === "" || p.startsWith(q + "/"))));
  const versioned: string[] = [];
  const unversioned: string[] = [];
  for (const path of targets) {
    if (path === "") throw new WcError("remove-root", "can't remove the checkout root");
    checkObjectPath(path, "remove");
    const entry = entries.get(path);
    if (entry?.schedule === "removed") {
      result.skipped.push({ path, message: `'${path}' is already scheduled for removal` });
    } else if (entry) {
      versioned.push(path);
    } else if (!(await lstatOrNone(join(wc.root, path)))) {
      throw new WcError("not-found", `can't remove '${path}': it does not exist and is not under version control`);
    } else if (keepLocal) {
      result.skipped.push({ path, message: `'${path}' is not under version control; nothing to do` });
    } else {
      unversioned.push(path);
    }
  }

  // What would be lost?
  const offenders: RemoveOffender[] = [];
  const scan = versioned.length > 0 ? await scanWorkingCopy(wc.root, entries, { within: versioned }) : { items: [] };
  const hashes = new Map<string, string>();
  for (const item of scan.items) {
    if (item.workingHash && item.kind === "file") hashes.set(item.path, item.workingHash);
    const entry = item.entry;
    let content = " ";
    if (item.content === "C") content = "C";
    else if (!keepLocal) {
      if (item.content === "?" || item.content === "M" || item.content === "~") content = item.content;
      else if (item.content === "A" && item.kind === "file") content = "A";
      else if (item.content === "R" && item.kind === "file" && entry?.kind === "file" && item.workingHash && item.workingHash !== entry.hash) content = "M";
    }
    const meta = !keepLocal && entry && (await metaChanged(wc.root, item.path, entry)) ? "M" : " ";
    if (content !== " " || meta !== " ") offenders.push({ path: item.path, status: content + meta });
  }
  for (const path of unversioned) offenders.push({ path, status: "?" });
  if (offenders.length > 0 && !force) throw new RemoveRefusedError(offenders, keepLocal);

  // Entries.
  const journalEntries: Record<string, Entry | null> = {};
  const affected: { path: string; kind: ObjectKind; action: RemovedPath["action"] }[] = [];
  for (const path of versioned) {
    for (const p of [path, ...entriesUnder(entries, path)]) {
      const entry = entries.get(p)!;
      if (entry.schedule === "added") {
        journalEntries[p] = null;
        affected.push({ path: p, kind: entry.kind, action: "forgotten" });
      } else if (entry.schedule !== "removed" || entry.conflict) {
        const next: Entry = { ...entry, schedule: "removed" };
        delete next.conflict;
        journalEntries[p] = next;
        if (entry.schedule !== "removed") affected.push({ path: p, kind: entry.kind, action: "scheduled" });
      }
    }
  }

  // Disk: delete tracked files and metadata files that hold what we checked; the rest only with force.
  const steps: JournalStep[] = [];
  const deleteTargets = keepLocal ? [] : [...versioned, ...unversioned];
  for (const target of deleteTargets) {
    const tracked = new Set([target, ...entriesUnder(entries, target)].filter((p) => entries.has(p)));
    const tree: DiskTree = { files: [], dirs: [], others: [] };
    await walkDisk(wc.root, target, tree);
    const ownMeta = metaFileOf(target);
    if (await lstatOrNone(join(wc.root, ownMeta)).then((s) => s?.isFile())) tree.files.push(ownMeta);
    for (const file of tree.files) {
      const owner = objectOfMetaFile(file);
      const isTracked = (tracked.has(file) && entries.get(file)!.kind === "file") || (owner !== undefined && tracked.has(owner));
      if (!isTracked && !force) continue;
      const hash = hashes.get(file) ?? (owner !== undefined ? sha256(await readCheckoutFile(wc.root, file)) : (await hashFile(join(wc.root, file))).hash);
      steps.push({ do: "delete", path: file, expect: { hash } });
    }
    for (const dir of [...tree.dirs].sort((a, b) => depth(b) - depth(a))) steps.push({ do: "rmdir", path: dir });
  }

  if (affected.length > 0 || steps.length > 0) {
    result.savedAside = (await runJournalOn(wc, { command: "remove", steps, entries: journalEntries })).savedAside;
  }

  for (const target of deleteTargets) {
    const tree: DiskTree = { files: [], dirs: [], others: [] };
    await walkDisk(wc.root, target, tree);
    const remaining = [...tree.files, ...tree.others];
    if (tree.dirs.length > 0 || remaining.length > 0) result.kept.push({ path: target, remaining: remaining.slice(0, 20) });
    else if (unversioned.includes(target)) result.deletedUnversioned.push(target);
  }
  for (const item of affected) {
    const deleted = !keepLocal && !(await lstatOrNone(join(wc.root, item.path)));
    result.removed.push({ ...item, deleted });
  }
  return result;
}
