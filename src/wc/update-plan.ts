/**
 * The plan of one update (see apply-remote.ts): the journal steps, entry changes and report
 * lines it collects, and the planners of folders, removals, tree conflicts that keep the local
 * object, and restores of what was deleted by hand. Plans only: the journal carries it out.
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { choosePolicy, type AnnouncedType, type ConflictPolicy } from "../merge/content-kinds.js";
import type { KindOrNone, TreeSituation } from "../merge/tree.js";
import type { EntryInfo } from "../protocol/types.js";
import { entriesUnder, entryFromRemote, type Entry } from "./entries.js";
import type { Expectation, JournalStep } from "./journal.js";
import { formatMeta, metaFileOf } from "./meta-files.js";
import { planMeta, type PlanContext, type UpdateLine } from "./plan-object.js";
import { hasPristine } from "./pristine.js";
import { missingPaths } from "./missing.js";
import type { PathStatus } from "./scan.js";
import type { WorkingCopy } from "./session.js";

/** What the plan of an update needs to know. */
export interface UpdatePlanContext {
  wc: WorkingCopy;
  /** The local state of every path the server touched (and of the root). */
  local: Map<string, PathStatus>;
  /** Paths deleted on the server. */
  deleted: Set<string>;
  /** True when a path belongs to this update (depth and named paths). */
  wanted: (path: string, kind: "file" | "folder") => boolean;
  policy?: ConflictPolicy;
  /** The types the server announced (merge kind and default policy of plug-in types). */
  types?: readonly AnnouncedType[];
}

/** The plan of one update: its collections and shared planners. */
export type UpdatePlan = ReturnType<typeof createUpdatePlan>;

/** Starts the plan of an update. */
export function createUpdatePlan({ wc, local, deleted, wanted, policy, types }: UpdatePlanContext) {
  const { root, config } = wc;
  const entries = wc.entries.entries;
  const steps: JournalStep[] = [];
  const ctx: PlanContext = {
    root,
    steps,
    types,
    policyOf: (path, typeDefault) => choosePolicy(path, { override: policy, byPath: config.policies, typeDefault }),
  };
  const entryChanges: Record<string, Entry | null> = {};
  const lines: UpdateLine[] = [];
  const skipped: string[] = [];
  let conflicts = 0;
  const note = (line: UpdateLine) => {
    if (line.content === "C" || line.meta === "C") conflicts++;
    if (line.content !== " " || line.meta !== " ") lines.push(line);
  };
  const fileExpect = (status: PathStatus | undefined): Expectation =>
    status?.workingHash ? { hash: status.workingHash } : status && status.kind === "folder" ? "any" : "absent";

  const blocked: string[] = [];
  const superseded: string[] = [];
  /** Folders this plan creates: paths inside them can be written. */
  const madeDirs = new Set<string>();
  /** True when the folder holding `path` exists on disk (or is created by this plan) and is not being removed. */
  const parentReady = (path: string): boolean => {
    const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    if (parent === "" || madeDirs.has(parent)) return true;
    if (entryChanges[parent] === null) return false;
    try {
      return lstatSync(join(root, parent)).isDirectory();
    } catch {
      return false;
    }
  };
  const isBlocked = (path: string) => blocked.some((b) => path.startsWith(b + "/"));

  return {
    ctx,
    steps,
    entryChanges,
    lines,
    skipped,
    conflicts: () => conflicts,
    /** Paths whose insides are left alone (a conflict blocks them). */
    blocked,
    /** Server objects the user chose to replace with a local one. */
    superseded,
    /** Folders this plan creates: paths inside them can be written. */
    madeDirs,
    note,
    fileExpect,
    parentReady,
    isBlocked,
    treeSituation,
    keepLocal,
    planLocalAdditions,
    planRestores,
    planRemoval,
    planFolder,
  };

  /** The tree reconciler's view of one path. */
  function treeSituation(path: string, entry: Entry | undefined, status: PathStatus | undefined, incoming: "file" | "folder"): TreeSituation {
    const disk: KindOrNone = !status || status.content === "!" || (status.content === "R" && !existsSync(join(root, path))) ? "none" : status.kind;
    const hasBase = entry !== undefined && entry.schedule !== "added";
    return {
      base: hasBase ? entry!.kind : "none",
      added: entry?.schedule === "added" ? entry.kind : undefined,
      removed: entry?.schedule === "removed",
      conflicted: entry?.conflict !== undefined,
      disk,
      localChanges: holdsChanges(path, local, true),
      incoming,
    };
  }

  /**
   * A tree conflict that keeps the local object: nothing on disk changes; the object and every
   * versioned path inside it become local additions, the top one replacing the server's object
   * (its revision recorded, so the next commit removes that first). The path is blocked: the
   * checkout stays at its revision, so the update after a `resolve --accept theirs-full` brings
   * the server's object.
   */
  function keepLocal(path: string, entry: Entry | undefined, status: PathStatus | undefined, remote: EntryInfo, reason: string) {
    const disk = status && status.content !== "!" ? status.kind : undefined;
    const kind = entry?.schedule === "added" ? entry.kind : (disk ?? entry?.kind ?? "file");
    planLocalAdditions(path);
    entryChanges[path] = {
      kind,
      schedule: "added",
      revision: remote.revision,
      conflict: { kind: "tree", artifacts: [], reason, ...(remote.hash ? { versions: { theirs: remote.hash } } : {}) },
    };
    blocked.push(path);
    note({ path, kind, content: "C", meta: " ", reason });
  }

  /**
   * Everything versioned inside `path` becomes a local addition of what is on disk: a scheduled
   * removal or a missing object is forgotten (nothing of it is left to keep), an object replaced
   * on disk by the other kind is added as that kind.
   */
  function planLocalAdditions(path: string) {
    for (const inner of entriesUnder(entries, path)) {
      const e = entries.get(inner)!;
      const s = local.get(inner);
      const disk = s && s.content !== "!" && lexists(join(root, inner)) ? s.kind : undefined;
      if (e.schedule === "removed" || !disk) entryChanges[inner] = null;
      else if (e.schedule !== "added" || e.kind !== disk || e.conflict) entryChanges[inner] = { kind: disk, schedule: "added" };
    }
  }

  /** Plans bringing back versioned files and folders that are missing on disk and that this update does not touch. */
  async function planRestores() {
    const restored: string[] = [];
    // Only paths missing from disk can need restoring (found with one lstat per unchanged folder).
    const candidates = missingPaths(root, entries).map((path): [string, Entry] => [path, entries.get(path)!]);
    for (const [path, entry] of candidates.sort(([a], [b]) => depthOf(a) - depthOf(b) || (a < b ? -1 : 1))) {
      if (path === "" || entry.schedule || entry.conflict || entryChanges[path] !== undefined || !wanted(path, entry.kind)) continue;
      // A changed path the plan left alone (already current) is restored like any other.
      if (deleted.has(path) || skipped.includes(path) || superseded.includes(path) || isBlocked(path) || blocked.includes(path)) continue;
      if (restored.some((r) => path.startsWith(r + "/"))) {
        // Inside a folder being restored: everything inside comes back too.
      } else if (lexists(join(root, path)) || !parentReady(path)) continue;
      if (entry.kind === "folder") {
        steps.push({ do: "mkdir", path });
        madeDirs.add(path);
        restored.push(path);
        note({ path, kind: "folder", content: "U", meta: " ", reason: "restored: it was missing" });
        continue;
      }
      if (!entry.hash || !(await hasPristine(root, entry.hash))) continue; // nothing to restore from: stays missing (`!`)
      steps.push({ do: "write", path, hash: entry.hash, expect: "absent" });
      if (entry.meta && !lexists(join(root, metaFileOf(path)))) steps.push({ do: "write-text", path: metaFileOf(path), text: formatMeta(entry.meta), expect: "absent" });
      note({ path, kind: "file", content: "U", meta: " ", reason: "restored: it was missing" });
    }
  }

  /** Journal steps removing an unmodified local object (its metadata file too). */
  function planRemoval(path: string, entry: Entry, status: PathStatus | undefined) {
    if (entry.kind === "file") {
      if (status?.workingHash && entry.hash) steps.push({ do: "delete", path, expect: { hash: entry.hash } });
    } else {
      steps.push({ do: "rmdir", path: `${path}/@@meta` }, { do: "rmdir", path });
    }
    if (entry.meta) steps.push({ do: "write-text", path: metaFileOf(path), text: null, expect: { hash: textHash(formatMeta(entry.meta)) } });
    entryChanges[path] = null;
  }

  function planFolder(remote: EntryInfo, entry: Entry | undefined, status: PathStatus | undefined) {
    const { path } = remote;
    if (path !== "" && status && status.kind !== "folder" && entry?.schedule !== "removed") {
      // An unversioned file is where the folder should go: keep it, skip the folder.
      blocked.push(path);
      note({ path, kind: "folder", content: "C", meta: " ", reason: "obstructed: an unversioned file is in the way" });
      return;
    }
    if (entry?.conflict) {
      blocked.push(path);
      skipped.push(path);
      note({ path, kind: "folder", content: "C", meta: " ", reason: "remains in conflict; resolve it, then update again" });
      return;
    }
    const next: Entry = entryFromRemote(remote);
    if (entry?.schedule === "removed") next.schedule = "removed";
    let content: UpdateLine["content"] = " ";
    let reason: string | undefined;
    if (!entry && path !== "") {
      steps.push({ do: "mkdir", path });
      madeDirs.add(path);
      content = status ? "E" : "N";
    } else if (entry?.schedule === "added") {
      if (path !== "" && !lexists(join(root, path))) {
        // Added locally, then deleted by hand, and now added on the server: nothing of the local
        // addition is left, so the server's folder comes in (decideDir's rule 2, "create"; the
        // same as a file's rule 5). Recording it as BASE without creating it left it missing, and
        // every later commit refused ("missing") with no schedule left for `revert` to undo.
        steps.push({ do: "mkdir", path });
        madeDirs.add(path);
        content = "N";
      } else content = "E";
    } else if (entry && !entry.schedule && path !== "" && status?.content === "!") {
      // Deleted by hand and changed on the server: it comes back (svn's "Restored"), and with it
      // what is inside (new server objects here, and the untouched ones by planRestores).
      steps.push({ do: "mkdir", path });
      madeDirs.add(path);
      content = "U";
      reason = "restored: it was missing";
    }
    // A folder scheduled for removal keeps no metadata file: only its BASE moves.
    const meta = entry?.schedule === "removed" ? " " : planMeta(ctx, path, entry?.schedule === "added" ? undefined : entry, remote, status, next);
    entryChanges[path] = next;
    note({ path, kind: "folder", content, meta, ...(reason ? { reason } : {}) });
  }
}

export function lexists(absolute: string): boolean {
  try {
    lstatSync(absolute);
    return true;
  } catch {
    return false;
  }
}

export function depthOf(path: string): number {
  if (path === "") return 0;
  // Counted, not split: sorts call this twice per comparison (100k paths in a checkout).
  let depth = 1;
  for (let at = path.indexOf("/"); at >= 0; at = path.indexOf("/", at + 1)) depth++;
  return depth;
}

export function textHash(text: string): string {
  return nodeCrypto().createHash("sha256").update(text).digest("hex");
}

/** True when anything at or under `path` is modified, added, unversioned or conflicted. */
export function holdsChanges(path: string, local: Map<string, PathStatus>, missingIsUnchanged = false): boolean {
  for (const [p, s] of local) {
    if (p !== path && !p.startsWith(path + "/")) continue;
    if ((s.content !== "=" && !(missingIsUnchanged && s.content === "!")) || s.meta !== " ") return true;
  }
  return false;
}
