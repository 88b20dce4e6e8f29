/**
 * How `merge` replays each kind of SOURCE change onto TARGET (the rules are in merge.ts's
 * module comment): a modified path, an addition, a removal (the top of a removed subtree).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parentPath } from "../protocol/paths.js";
import { lstatOrNone } from "./add.js";
import type { UpdateLine } from "./plan-object.js";
import { entriesUnder, type ConflictRecord, type Entry } from "./entries.js";
import type { JournalStep } from "./journal.js";
import type { MergePlan, MergePlanContext } from "./merge-plan.js";
import { SOURCE_LABEL } from "./merge-source.js";
import { formatMeta, metaFileOf, sameMeta } from "./meta-files.js";
import { hashFile, readPristine } from "./pristine.js";
import type { PathStatus } from "./scan.js";

const depthOf = (path: string) => (path === "" ? 0 : path.split("/").length);
const inside = (path: string, dir: string) => dir === "" || path === dir || path.startsWith(dir + "/");

/** The planners of SOURCE's changes, one per kind of change, adding to `plan`. */
export function changePlanners(plan: MergePlan, { target, source, local }: MergePlanContext) {
  const srcEntries = source.entries.entries;
  const tgtEntries = target.entries.entries;
  const { steps, entryChanges, blocked, addedFolders, note, skip, keepFile, keepBytes, asNew, noteBase, planFileMerge, planMetaMerge, parentReady, targetMeta } = plan;
  return { planModified, planAdded, planRemoved };

  /** A file or folder with a BASE in SOURCE whose content and/or metadata SOURCE changed. */
  async function planModified(item: PathStatus): Promise<void> {
    const { path } = item;
    const a = item.entry!;
    const kind = a.kind;
    const b = tgtEntries.get(path);
    const t = local.get(path);
    if (!b) {
      return skip(
        path,
        t
          ? "not under version control in TARGET"
          : a.revision !== undefined && target.entries.revision >= a.revision
            ? `deleted on the server (TARGET, at revision ${target.entries.revision}, no longer has it)`
            : "not in TARGET (it is at another revision there: `zsync update` TARGET, then merge again)",
        kind === "folder",
      );
    }
    if (b.kind !== kind) return skip(path, `a ${b.kind} in TARGET`, true);
    if (b.conflict) return skip(path, "in conflict in TARGET; resolve it there first", kind === "folder");
    noteBase(path, a, b);
    const contentChanged = kind === "file" && item.content === "M";
    const metaChanged = item.meta === "M";

    if (b.schedule === "removed" && !(await parentReady(path))) {
      // TARGET removed the folder too and put something else in its place: nothing can be
      // written beside the path. A tree conflict records SOURCE's version (its bytes stay in
      // SOURCE and in TARGET's pristine store); `resolve --accept working` keeps the removal.
      const reason = "changed in SOURCE inside a folder that is gone in TARGET";
      const conflict: ConflictRecord = { kind: "tree", artifacts: [], reason };
      if (contentChanged) conflict.versions = { theirs: await keepFile(join(source.root, path)) };
      entryChanges[path] = { ...b, conflict };
      note({ path, kind, content: "C", meta: " ", reason });
      return;
    }
    if (b.schedule === "removed") {
      // TARGET removed what SOURCE changed: keep both sides, SOURCE's version beside the path.
      const artifacts: string[] = [];
      let theirs: string | undefined;
      if (contentChanged) {
        theirs = await keepFile(join(source.root, path));
        steps.push({ do: "write", path: path + SOURCE_LABEL, hash: theirs, expect: "absent" });
        artifacts.push(path + SOURCE_LABEL);
      }
      if (metaChanged) {
        const artifact = metaFileOf(path) + SOURCE_LABEL;
        steps.push({ do: "write-text", path: artifact, text: item.workingMeta ? formatMeta(item.workingMeta) : "{}\n", expect: "absent" });
        artifacts.push(artifact);
      }
      const reason = "scheduled for removal in TARGET, changed in SOURCE";
      const conflict: ConflictRecord = { kind: "tree", artifacts, reason };
      if (contentChanged) {
        // SOURCE's BASE goes into TARGET's pristine store too (when SOURCE has it), so `resolve` can use it.
        const baseBytes = await readPristine(source.root, a.hash!).catch(() => undefined);
        const base = baseBytes ? await keepBytes(baseBytes) : undefined;
        conflict.versions = { base, theirs };
        conflict.labels = { base: `.r${a.revision}`, theirs: SOURCE_LABEL };
      }
      entryChanges[path] = { ...b, conflict };
      note({ path, kind, content: "C", meta: " ", reason });
      return;
    }
    if (t?.content === "!") return skip(path, "missing in TARGET; restore it (`zsync revert`) first", kind === "folder");
    if (t?.content === "~") return skip(path, `obstructed in TARGET (not a ${kind} on disk)`, kind === "folder");

    const next: Entry = { ...b };
    let content: UpdateLine["content"] = " ";
    let reason: string | undefined;
    if (contentChanged) {
      const mineHash = t?.workingHash;
      if (mineHash === item.workingHash) {
        // TARGET has SOURCE's content already.
      } else if (mineHash === a.hash) {
        const theirs = await keepFile(join(source.root, path));
        steps.push({ do: "write", path, hash: theirs, expect: mineHash ? { hash: mineHash } : "absent" });
        delete next.cache;
        content = "U";
      } else {
        const conflict = await planFileMerge(path, a, a.meta?.contentType ?? b.meta?.contentType, item.workingMeta?.contentType);
        if (conflict !== "unchanged") {
          delete next.cache;
          if (conflict) {
            next.conflict = conflict;
            reason = conflict.reason;
          }
          content = conflict ? "C" : "G";
        }
      }
    }
    const meta = metaChanged ? await planMetaMerge(path, a.meta, item.workingMeta, next) : " ";
    if (content !== " " || next.conflict) entryChanges[path] = next;
    note({ path, kind, content, meta, ...(reason ? { reason } : {}) });
  }

  /** A file or folder SOURCE scheduled for addition. */
  async function planAdded(item: PathStatus): Promise<void> {
    const { path } = item;
    const a = item.entry!;
    const kind = a.kind;
    const isFolder = kind === "folder";
    const parent = parentPath(path);
    if (!addedFolders.has(parent)) {
      const p = tgtEntries.get(parent);
      const why = !p
        ? "its folder is not in TARGET"
        : p.kind !== "folder"
          ? "its parent is a file in TARGET"
          : p.schedule === "removed"
            ? "its folder is scheduled for removal in TARGET"
            : p.conflict
              ? "its folder is in conflict in TARGET"
              : !(await lstatOrNone(join(target.root, parent)))?.isDirectory()
                ? "its folder is missing in TARGET"
                : undefined;
      if (why) return skip(path, why, isFolder);
    }
    const b = tgtEntries.get(path);
    const t = local.get(path);
    const srcMetaFile = join(source.root, metaFileOf(path));
    const copyMetaFile = async () => {
      const raw = await readFile(srcMetaFile).catch(() => undefined);
      if (raw) steps.push({ do: "write-text", path: metaFileOf(path), text: raw.toString("utf8"), expect: "absent" });
    };

    if (!b) {
      if (!t) {
        // New in TARGET: copy it with its metadata file, as `zsync copy`/`add` would schedule it.
        if (isFolder) {
          steps.push({ do: "mkdir", path });
          addedFolders.add(path);
        } else {
          steps.push({ do: "write", path, hash: await keepFile(join(source.root, path)), expect: "absent" });
        }
        await copyMetaFile();
        entryChanges[path] = { kind, schedule: "added" };
        note({ path, kind, content: "A", meta: " " });
        return;
      }
      if (t.kind !== kind) return skip(path, `an unversioned ${t.kind} is in the way in TARGET`, isFolder);
      // An unversioned object of the same kind is already there: it becomes the addition.
      const next: Entry = { kind, schedule: "added" };
      if (isFolder) {
        addedFolders.add(path);
        const meta = asNew(await planMetaMerge(path, undefined, item.workingMeta, next));
        entryChanges[path] = next;
        note({ path, kind, content: "A", meta, reason: "the unversioned folder already in TARGET is now scheduled for addition" });
        return;
      }
      const mineHash = (await hashFile(join(target.root, path))).hash;
      let content: UpdateLine["content"] = "A";
      let reason = "the same file was already in TARGET (unversioned); now scheduled for addition";
      if (mineHash !== item.workingHash) {
        const conflict = await planFileMerge(path, undefined, undefined, item.workingMeta?.contentType);
        if (conflict && conflict !== "unchanged") {
          next.conflict = conflict;
          content = "C";
          reason = "added in SOURCE, an unversioned file with other content in TARGET";
        } else if (!conflict) {
          content = "G";
          reason = "merged into the unversioned file in TARGET, now scheduled for addition";
        } else {
          reason = "TARGET's unversioned file (SOURCE's is empty) is now scheduled for addition";
        }
      }
      const meta = asNew(await planMetaMerge(path, undefined, item.workingMeta, next));
      entryChanges[path] = next;
      note({ path, kind, content, meta, reason });
      return;
    }

    if (b.kind !== kind) return skip(path, `a ${b.kind} in TARGET`, isFolder);
    if (b.schedule === "removed") return skip(path, "scheduled for removal in TARGET", isFolder);
    if (b.conflict) return skip(path, "in conflict in TARGET; resolve it there first", isFolder);
    if (t?.content === "!") return skip(path, "missing in TARGET; restore it (`zsync revert`) first", isFolder);
    if (t?.content === "~") return skip(path, `obstructed in TARGET (not a ${kind} on disk)`, isFolder);
    // TARGET has this path too (added there as well, or it came from the server): two-way.
    const next: Entry = { ...b };
    let content: UpdateLine["content"] = " ";
    let reason: string | undefined;
    if (!isFolder && t?.workingHash !== item.workingHash) {
      const conflict = await planFileMerge(path, undefined, b.meta?.contentType, item.workingMeta?.contentType);
      if (conflict !== "unchanged") {
        delete next.cache;
        if (conflict) {
          next.conflict = conflict;
          reason = "added in SOURCE with other content than TARGET's";
        }
        content = conflict ? "C" : "G";
      }
    }
    const meta = await planMetaMerge(path, undefined, item.workingMeta, next);
    if (content !== " " || next.conflict) entryChanges[path] = next;
    note({ path, kind, content, meta, ...(reason ? { reason } : {}) });
  }

  /** A file or folder SOURCE scheduled for removal (the top of a removed subtree). */
  async function planRemoved(item: PathStatus): Promise<void> {
    const { path } = item;
    const a = item.entry!;
    const kind = a.kind;
    const b = tgtEntries.get(path);
    if (!b || (b.schedule === "removed" && !b.conflict)) return; // not in TARGET, or already going
    if (b.kind !== kind) return skip(path, `a ${b.kind} in TARGET`, true);
    if (b.conflict) return skip(path, "in conflict in TARGET; resolve it there first", true);
    if (b.schedule === "added") return skip(path, "scheduled for addition in TARGET", true);
    noteBase(path, a, b);

    // Everything TARGET has there must equal what SOURCE removed; otherwise keep it all.
    const holding: string[] = [];
    const removalSteps: JournalStep[] = [];
    const removedEntries: Record<string, Entry> = {};
    const folders: string[] = [];
    let mineHash: string | undefined;
    for (const q of [path, ...entriesUnder(tgtEntries, path)]) {
      const bq = tgtEntries.get(q)!;
      const aq = q === path ? a : srcEntries.get(q);
      const tq = local.get(q);
      if (bq.schedule === "removed" && !bq.conflict) continue;
      if (bq.conflict || bq.schedule === "added" || tq?.content === "~" || !aq || aq.kind !== bq.kind || aq.schedule === "added") {
        holding.push(q);
        continue;
      }
      const mine = await targetMeta(q);
      const present = bq.kind === "file" && tq !== undefined && tq.content !== "!" && tq.workingHash !== undefined;
      if (q === path) mineHash = present ? tq!.workingHash : undefined;
      if (mine.error || !sameMeta(mine.meta, aq.meta) || (present && tq!.workingHash !== aq.hash)) {
        holding.push(q);
        continue;
      }
      if (present) removalSteps.push({ do: "delete", path: q, expect: { hash: tq!.workingHash! } });
      if (bq.kind === "folder") folders.push(q);
      if (mine.expect !== "absent") removalSteps.push({ do: "delete", path: metaFileOf(q), expect: mine.expect });
      removedEntries[q] = { ...bq, schedule: "removed" };
    }
    for (const other of local.values()) if (other.content === "?" && inside(other.path, path)) holding.push(other.path);

    if (holding.length === 0) {
      steps.push(...removalSteps);
      for (const folder of folders.sort((x, y) => depthOf(y) - depthOf(x))) steps.push({ do: "rmdir", path: `${folder}/@@meta` }, { do: "rmdir", path: folder });
      Object.assign(entryChanges, removedEntries);
      note({ path, kind, content: "D", meta: " " });
      return;
    }
    // Never delete bytes that exist only in TARGET: a tree conflict keeps everything.
    const shown = holding.slice(0, 5).join(", ") + (holding.length > 5 ? `, … (${holding.length} paths)` : "");
    const reason =
      kind === "file"
        ? "removed in SOURCE, but TARGET's file differs from the version SOURCE removed (edited in TARGET, or at another revision); kept"
        : `removed in SOURCE, but TARGET holds changes inside (${shown}); kept`;
    const conflict: ConflictRecord = { kind: "tree", artifacts: [], reason };
    if (kind === "file") conflict.versions = { base: a.hash, mine: mineHash };
    entryChanges[path] = { ...b, conflict };
    if (kind === "folder") blocked.push(path);
    note({ path, kind, content: "C", meta: " ", reason });
  }
}
