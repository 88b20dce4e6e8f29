/**
 * `revert`: restores BASE content and metadata, drops schedules (an added path becomes
 * unversioned again and stays on disk; a removed one comes back from its pristine copy), clears
 * conflict records and deletes their artifact files.
 *
 * Never destroys bytes silently: a working file (or metadata file) that differs from BASE is
 * first stored in the pristine store and written beside itself as `FILE.orig` (`FILE.orig.1`,
 * … when taken); the journal then writes BASE over the working file only if it still holds what
 * was saved. A conflict artifact that holds the only copy of a version (`FILE.mine` when the
 * file no longer holds mine's lines, `FILE.source` after a merge) is left in place, unversioned.
 *
 * A folder without `recursive` reverts only the folder's own metadata and schedule — except that
 * reverting the addition of a folder also un-adds everything inside it, and reverting the removal
 * of a folder also brings back everything that was removed with it.
 */
import { assertSafeCheckoutPath, readCheckoutFile } from "./safe-path.js";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { revertBlocker, type RevertAncestor } from "../merge/revert-scope.js";
import type { KindOrNone } from "../merge/tree.js";
import { parseObjectMeta } from "../protocol/manifest.js";
import { parentPath } from "../protocol/paths.js";
import type { ObjectKind } from "../protocol/types.js";
import { WcError } from "./admin.js";
import { lstatOrNone, sha256 } from "./add.js";
import { entriesUnder, type Entry } from "./entries.js";
import { runJournalOn, type JournalReport, type JournalStep } from "./journal.js";
import { formatMeta, metaFileOf, sameMeta } from "./meta-files.js";
import { SOURCE_LABEL } from "./merge-source.js";
import { hashFile, readPristine, storePristine } from "./pristine.js";
import { holdsAddedLines } from "./resolve-text.js";
import { scanWorkingCopy, type ContentState } from "./scan.js";
import type { WorkingCopy } from "./session.js";

export interface RevertOptions {
  /** Checkout paths to revert. */
  paths: string[];
  /** Also revert everything inside named folders (`-R`). */
  recursive?: boolean;
}

export interface RevertedPath {
  path: string;
  kind: ObjectKind;
  /** The status letter before reverting (`A`, `R`, `M`, `C`, `!`, `~`, or `=` when only metadata changed). */
  previous: ContentState;
  /** The schedule that was dropped, if any. */
  unscheduled?: "added" | "removed";
  /** True when the working file or folder was restored from BASE. */
  content: boolean;
  /** True when the metadata file was restored from BASE. */
  meta: boolean;
  /** Where the user's version of the file was saved (relative to the root). */
  savedAs?: string;
  /** Where the user's version of the metadata file was saved. */
  metaSavedAs?: string;
  /** Conflict artifact files deleted. */
  removedArtifacts: string[];
  /** True when a conflict record was cleared. */
  conflictCleared: boolean;
  /** The reverted addition replaced the server's object: `zsync update` brings that object. */
  serverObjectToUpdate?: boolean;
}

export interface RevertResult {
  reverted: RevertedPath[];
  /** Named paths that are not under version control. */
  skipped: { path: string; message: string }[];
  savedAside: JournalReport["savedAside"];
  /**
   * A reverted addition replaced a server object this checkout never received (svn's BASE of a
   * replacement). The checkout's revision is then set back to 0 — the checkout no longer claims
   * to hold everything up to a revision — so the next update compares every path with the
   * server's (mixed revisions, see docs/TREE-CONFLICTS.md) and brings that object.
   */
  serverObjectsToUpdate?: boolean;
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}

/**
 * The versions of a conflict that only its artifacts still hold once the file is reverted: mine
 * (the file before the update, in `FILE.mine`) and, after a merge, SOURCE's (`FILE.source`) —
 * unless it is BASE, or the working file (which revert keeps, in place or as `.orig`) is it or
 * holds every line it added.
 */
async function versionsOnlyInArtifacts(root: string, path: string, entry: Entry, workingHash: string | undefined): Promise<Set<string>> {
  const conflict = entry.conflict!;
  const { versions, labels } = conflict;
  const candidates = [versions?.mine, labels?.theirs === SOURCE_LABEL ? versions?.theirs : undefined];
  const only = new Set<string>();
  const read = (hash: string) => readPristine(root, hash).catch(() => undefined);
  for (const hash of candidates) {
    if (hash === undefined || hash === entry.hash || hash === workingHash) continue;
    if (conflict.kind === "text" && workingHash !== undefined) {
      const working = await readCheckoutFile(root, path).catch(() => undefined);
      const [base, version] = [versions?.base === undefined ? Buffer.alloc(0) : await read(versions.base), await read(hash)];
      if (base && version && working && holdsAddedLines(base, version, working)) continue;
    }
    only.add(hash);
  }
  return only;
}

/**
 * Refuses (changing nothing) when a path would be put back inside a folder that is not coming
 * back with it: a folder scheduled for removal, or a file in a folder's place ({@link revertBlocker}).
 */
async function refuseOrphans(root: string, entries: Map<string, Entry>, targets: Set<string>): Promise<void> {
  const diskKinds = new Map<string, KindOrNone>();
  const diskKind = async (path: string): Promise<KindOrNone> => {
    let kind = diskKinds.get(path);
    if (kind === undefined) {
      const s = await lstatOrNone(join(root, path)).catch(() => undefined);
      kind = !s ? "none" : s.isDirectory() ? "folder" : "file";
      diskKinds.set(path, kind);
    }
    return kind;
  };
  for (const path of [...targets].sort()) {
    const entry = entries.get(path)!;
    // A symlink in a folder's place is the hostile case, refused as such before any other rule.
    assertSafeCheckoutPath(root, path, `revert ${path}`);
    const ancestors: RevertAncestor[] = [];
    for (let parent = parentPath(path); parent !== ""; parent = parentPath(parent)) {
      const above = entries.get(parent);
      if (above) ancestors.push({ path: parent, schedule: above.schedule, disk: await diskKind(parent), reverted: targets.has(parent) });
    }
    const why = revertBlocker({ path, schedule: entry.schedule }, ancestors);
    if (why) throw new WcError("revert-parent-first", why);
  }
}

/** Reverts `opts.paths` (see the module comment). Plans everything before changing anything. */
export async function revert(wc: WorkingCopy, opts: RevertOptions): Promise<RevertResult> {
  const entries = wc.entries.entries;
  const result: RevertResult = { reverted: [], skipped: [], savedAside: [] };

  const targets = new Set<string>();
  const roots: string[] = [];
  for (const path of [...new Set(opts.paths)]) {
    const entry = entries.get(path);
    if (!entry) {
      const exists = await lstatOrNone(join(wc.root, path));
      result.skipped.push({ path, message: exists ? `'${path}' is not under version control; nothing to revert` : `nothing known about '${path}'` });
      continue;
    }
    roots.push(path);
    targets.add(path);
    const below = entriesUnder(entries, path);
    if (opts.recursive) below.forEach((p) => targets.add(p));
    else if (entry.schedule === "added") below.forEach((p) => targets.add(p));
    else if (entry.schedule === "removed") below.filter((p) => entries.get(p)!.schedule === "removed").forEach((p) => targets.add(p));
  }
  if (targets.size === 0) return result;
  await refuseOrphans(wc.root, entries, targets);

  const scan = await scanWorkingCopy(wc.root, entries, { within: roots });
  const scanned = new Map(scan.items.map((i) => [i.path, i]));
  const taken = new Set<string>();
  const pickOrig = async (path: string) => {
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? `${path}.orig` : `${path}.orig.${n}`;
      if (taken.has(candidate) || entries.has(candidate) || (await lstatOrNone(join(wc.root, candidate)))) continue;
      taken.add(candidate);
      return candidate;
    }
  };

  const steps: JournalStep[] = [];
  const journalEntries: Record<string, Entry | null> = {};
  for (const path of [...targets].sort()) {
    const entry = entries.get(path)!;
    const item = scanned.get(path);
    const rec: RevertedPath = { path, kind: entry.kind, previous: item?.content ?? "=", content: false, meta: false, removedArtifacts: [], conflictCleared: false };
    const absolute = join(wc.root, path);

    if (entry.conflict) {
      rec.conflictCleared = true;
      const onlyCopies = await versionsOnlyInArtifacts(wc.root, path, entry, item?.workingHash);
      for (const artifact of entry.conflict.artifacts) {
        const s = await lstatOrNone(join(wc.root, artifact));
        if (!s?.isFile()) continue;
        const hash = (await hashFile(join(wc.root, artifact))).hash;
        // The only copy of mine (or of SOURCE's version after a merge): left in place, unversioned.
        if (onlyCopies.has(hash)) continue;
        steps.push({ do: "delete", path: artifact, expect: { hash } });
        rec.removedArtifacts.push(artifact);
      }
    }

    if (entry.schedule === "added") {
      // Back to unversioned: the file and its metadata file stay as they are.
      rec.unscheduled = "added";
      // It replaced the server's object (a tree conflict resolved `working`), which this checkout
      // never received: the next update must bring it. See {@link RevertResult.serverObjectsToUpdate}.
      if (entry.revision !== undefined) {
        rec.serverObjectToUpdate = true;
        result.serverObjectsToUpdate = true;
      }
      journalEntries[path] = null;
      result.reverted.push(rec);
      continue;
    }

    const next: Entry = { ...entry };
    delete next.schedule;
    delete next.conflict;
    if (entry.schedule === "removed") rec.unscheduled = "removed";

    // Content.
    const s = await lstatOrNone(absolute);
    if (s?.isSymbolicLink()) {
      throw new WcError("obstructed", `can't revert '${path}': a symbolic link is in its place; move it away first`);
    }
    if (entry.kind === "file") {
      if (s?.isFile()) {
        const working = item?.workingHash ?? (await hashFile(absolute)).hash;
        if (working !== entry.hash) {
          const mine = await storePristine(wc.root, createReadStream(absolute));
          rec.savedAs = await pickOrig(path);
          steps.push({ do: "write", path: rec.savedAs, hash: mine.hash, expect: "absent" });
          steps.push({ do: "write", path, hash: entry.hash!, expect: { hash: mine.hash } });
          rec.content = true;
        }
      } else {
        // Missing, or a folder in its place (the journal moves that aside and says so).
        steps.push({ do: "write", path, hash: entry.hash!, expect: "absent" });
        rec.content = true;
      }
      if (rec.content) delete next.cache;
    } else if (!s?.isDirectory()) {
      steps.push({ do: "mkdir", path });
      rec.content = true;
    }

    // Metadata.
    const metaFile = metaFileOf(path);
    const bytes = await readCheckoutFile(wc.root, metaFile).catch(() => undefined);
    const baseText = entry.meta && Object.keys(entry.meta).length > 0 ? formatMeta(entry.meta) : null;
    let same: boolean;
    if (bytes === undefined) same = baseText === null;
    else {
      try {
        same = sameMeta(parseObjectMeta(JSON.parse(bytes.toString("utf8")), metaFile), entry.meta);
      } catch {
        same = false;
      }
    }
    if (!same) {
      if (bytes !== undefined) {
        const mine = await storePristine(wc.root, once(bytes));
        rec.metaSavedAs = await pickOrig(metaFile);
        steps.push({ do: "write", path: rec.metaSavedAs, hash: mine.hash, expect: "absent" });
        steps.push({ do: "write-text", path: metaFile, text: baseText, expect: { hash: sha256(bytes) } });
      } else {
        steps.push({ do: "write-text", path: metaFile, text: baseText, expect: "absent" });
      }
      rec.meta = true;
    }

    if (rec.unscheduled || rec.conflictCleared || rec.content || rec.meta) {
      journalEntries[path] = next;
      result.reverted.push(rec);
    }
  }

  if (result.reverted.length > 0) {
    const revision = result.serverObjectsToUpdate ? 0 : undefined;
    result.savedAside = (await runJournalOn(wc, { command: "revert", steps, entries: journalEntries, revision })).savedAside;
  }
  return result;
}
