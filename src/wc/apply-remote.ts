/**
 * Bringing server changes into a checkout — the engine of `checkout` and `update`.
 *
 * 1. Receive: stream the snapshot's bodies into the pristine store (verified against the
 *    manifest hashes). Interrupting here changes nothing but the pristine store.
 * 2. Plan: decide per path with the merge tables (src/merge), producing journal steps and the
 *    entries they lead to. Merged texts and conflict artifacts are stored as pristine blobs first.
 * 3. Apply: run the journal. A kill from here on is completed by the next command.
 *
 * Local modifications are never overwritten: every write names the content it expects to
 * replace, and the decision tables turn every data-losing case into a recorded conflict.
 */
import { createHash } from "node:crypto";
import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { decideDir } from "../merge/dir-decision.js";
import { decideFile, type FileAction } from "../merge/file-decision.js";
import { reconcileTree, type KindOrNone, type TreeSituation } from "../merge/tree.js";
import type { SnarfRecord } from "../protocol/snarf.js";
import type { EntryInfo, SnapshotManifest } from "../protocol/types.js";
import { WcError, type Depth } from "./admin.js";
import { entriesUnder, entryFromRemote, type Entry } from "./entries.js";
import { runJournal, type Expectation, type JournalReport, type JournalStep } from "./journal.js";
import { formatMeta, metaFileOf, readWorkingMetaSync } from "./meta-files.js";
import { hashFile, hasPristine } from "./pristine.js";
import { missingPaths } from "./missing.js";
import { receiveBodies } from "./receive.js";
import { scanWorkingCopy, type PathStatus } from "./scan.js";
import { planFileMerge, planMeta, type PlanContext } from "./plan-object.js";
import { choosePolicy, type ConflictPolicy } from "../merge/content-kinds.js";
import { assertSafeCheckoutPath } from "./safe-path.js";
import type { WorkingCopy } from "./session.js";

/** One line of an update report: `U  path`, ` U path` (metadata), `C  path`… */
export interface UpdateLine {
  path: string;
  kind: "file" | "folder";
  /** Content letter: U updated, G merged, C conflict, D deleted, N new folder, A/R kept schedules, E existed. */
  content: " " | "U" | "G" | "C" | "D" | "N" | "A" | "R" | "E";
  /** Metadata letter: U updated, G merged, C conflict. */
  meta: " " | "U" | "G" | "C";
  reason?: string;
}

export interface ApplyResult {
  /** The revision the checkout is now at (unchanged when something had to be skipped). */
  revision: number;
  /** The revision the server sent. */
  target: number;
  lines: UpdateLine[];
  conflicts: number;
  savedAside: JournalReport["savedAside"];
  /** Paths left alone because a conflict or an obstruction blocked them. */
  skipped: string[];
}

/** True when `path` belongs in a checkout of that depth. */
export function withinDepth(path: string, kind: "file" | "folder", depth: Depth): boolean {
  if (path === "" || depth === "infinity") return true;
  if (path.includes("/")) return false;
  return depth === "immediates" || (depth === "files" && kind === "file");
}

function under(path: string, scopes: string[] | undefined): boolean {
  return !scopes || scopes.some((s) => s === "" || path === s || path.startsWith(s + "/") || s.startsWith(path + "/"));
}

/**
 * Applies a snapshot (full or `since` delta) to the checkout. `full` means the manifest lists
 * every object, so local entries it does not list were deleted on the server.
 */
export async function applyRemote(
  wc: WorkingCopy,
  snapshot: { manifest: SnapshotManifest; records: AsyncGenerator<SnarfRecord> },
  opts: { full: boolean; paths?: string[]; command: string; progress?: (received: number, total: number) => void; policy?: ConflictPolicy },
): Promise<ApplyResult> {
  const { root, config } = wc;
  const entries = wc.entries.entries;
  const { manifest } = snapshot;
  const scopes = opts.paths;
  const wanted = (path: string, kind: "file" | "folder") => withinDepth(path, kind, config.depth) && under(path, scopes);

  // 0. Every path the server names must stay inside the checkout, and not through a symlink
  // the user has (`link -> /elsewhere`, then `link/x` from the server): refuse the whole
  // update before anything is received or written.
  for (const path of [...manifest.entries.map((e) => e.path), ...manifest.deleted]) {
    if (!under(path, scopes)) continue;
    assertSafeCheckoutPath(root, path, `the server sent the path ${JSON.stringify(path)}`);
  }

  // 1. Receive every body we will need into the pristine store.
  const remoteByPath = new Map(manifest.entries.map((e) => [e.path, e]));
  await receiveBodies(root, snapshot, { wanted: (path) => wanted(path, "file"), progress: opts.progress });

  // 2. Plan. Only what the server touched is scanned, so the cost follows the change, not the tree.
  const deleted = new Set(manifest.deleted.filter((p) => entries.has(p)));
  if (opts.full) {
    for (const path of entries.keys()) if (path !== "" && !remoteByPath.has(path)) deleted.add(path);
  } else {
    // Mixed revisions: an entry newer than the checkout (committed from here) that the delta does
    // not list was deleted on the server — the delta names only what existed at the checkout's revision.
    for (const [path, entry] of entries) {
      if (path === "" || entry.revision === undefined || entry.revision <= wc.entries.revision || entry.revision > manifest.revision) continue;
      if (!remoteByPath.has(path) && wanted(path, entry.kind)) deleted.add(path);
    }
  }
  const changed = manifest.entries.filter((e) => wanted(e.path, e.kind)).sort((a, b) => depthOf(a.path) - depthOf(b.path) || (a.path < b.path ? -1 : 1));
  const affected = [...new Set([...changed.map((e) => e.path).filter((p) => p !== ""), ...deleted])];
  const scan = affected.length > 0 ? await scanWorkingCopy(root, entries, { within: affected }) : { items: [] };
  const local = new Map<string, PathStatus>(scan.items.map((i) => [i.path, i]));
  const rootMeta = readWorkingMetaSync(root, "");
  local.set("", { path: "", kind: "folder", content: "=", meta: " ", workingMeta: rootMeta.meta, metaError: rootMeta.error, entry: entries.get("") });
  const steps: JournalStep[] = [];
  const ctx: PlanContext = { root, steps, policyOf: (path) => choosePolicy(path, { override: opts.policy, byPath: config.policies }) };
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

  // Additions and changes, parents first. The tree reconciler decides at the level of kinds;
  // the per-kind tables decide the content.
  for (const remote of changed) {
    const { path } = remote;
    if (superseded.some((r) => path.startsWith(r + "/"))) continue; // inside a server object the user chose to replace
    if (isBlocked(path)) {
      skipped.push(path);
      continue;
    }
    const entry = entries.get(path);
    const status = local.get(path);
    if (entry && !entry.schedule && !entry.conflict && entry.revision === remote.revision && entry.kind === remote.kind) continue; // already current
    if (entry?.schedule === "added" && !entry.conflict && entry.revision === remote.revision && entry.kind !== remote.kind) {
      // The user kept a local object in place of exactly this server object: the next commit replaces it.
      superseded.push(path);
      continue;
    }
    if (path !== "" && !parentReady(path)) {
      if (entry?.schedule === "removed" && !entry.conflict && entry.revision === remote.revision) continue; // kept removed by the user
      // Its folder is gone locally (removed, or replaced on disk by a file): nothing can be written
      // there. The server's object is recorded as BASE, scheduled for removal with its folder, in a
      // tree conflict that `resolve --accept working` ends (the next commit removes the folder).
      if (entry?.schedule === "added" || entry?.conflict) {
        skipped.push(path);
        continue;
      }
      entryChanges[path] = {
        ...entryFromRemote(remote),
        schedule: "removed",
        conflict: { kind: "tree", artifacts: [], reason: "changed on the server inside a folder that is gone locally" },
      };
      note({ path, kind: remote.kind, content: "C", meta: " ", reason: "changed on the server inside a folder that is gone locally" });
      continue;
    }
    const step = path === "" ? { step: "per-kind" as const } : reconcileTree(treeSituation(path, entry, status, remote.kind));
    if (step.step === "sticky") {
      blocked.push(path);
      skipped.push(path);
      note({ path, kind: entry!.kind, content: "C", meta: " ", reason: "remains in conflict; resolve it, then update again" });
      continue;
    }
    if (step.step === "tree-conflict") {
      keepLocal(path, entry, status, remote, step.reason);
      continue;
    }
    let current = status;
    if (step.step === "replace") {
      // The local object (unchanged, or scheduled for removal) goes; the server's comes in its place.
      for (const inner of entriesUnder(entries, path).sort((a, b) => depthOf(b) - depthOf(a))) planRemoval(inner, entries.get(inner)!, local.get(inner));
      planRemoval(path, entry!, status);
      current = undefined;
    }
    const fresh = step.step === "replace" ? undefined : entry;
    if (remote.kind === "folder") {
      planFolder(remote, fresh && fresh.kind === "folder" ? fresh : undefined, current);
    } else {
      await planFile(remote, fresh && fresh.kind === "file" ? fresh : undefined, current);
    }
  }

  // Deletions, parents first: a folder's decision (delete all, or keep all in a tree conflict)
  // covers everything inside it, which is then skipped below.
  for (const path of [...deleted].sort((a, b) => depthOf(a) - depthOf(b))) {
    if (!under(path, scopes) || isBlocked(path)) continue;
    const entry = entries.get(path)!;
    if (entryChanges[path] !== undefined) continue; // handled as part of a folder
    const status = local.get(path);
    if (entry.schedule === "added" && entry.revision !== undefined && !entry.conflict) {
      // A local addition that replaced the server's object: that object is gone, a plain addition remains.
      const next: Entry = { ...entry };
      delete next.revision;
      entryChanges[path] = next;
      note({ path, kind: entry.kind, content: "A", meta: " ", reason: "the server's object it replaced was deleted there" });
      continue;
    }
    if (entry.kind === "folder") {
      const decision = decideDir({
        local: status && status.kind === "folder" && status.content !== "!" ? "present" : "absent",
        base: entry.schedule !== "added",
        remote: "absent",
        schedule: entry.schedule,
        holdsLocalChanges: holdsChanges(path, local),
      });
      if (decision.action === "tree-conflict") {
        // Keep every byte: the folder and what is in it become local additions in conflict.
        planLocalAdditions(path);
        entryChanges[path] = { kind: "folder", schedule: "added", conflict: { kind: "tree", artifacts: [], reason: decision.reason } };
        note({ path, kind: "folder", content: "C", meta: " ", reason: decision.reason });
      } else if (decision.action === "delete" || decision.action === "forget") {
        for (const inner of [...entries.keys()].filter((p) => p.startsWith(path + "/")).sort((a, b) => depthOf(b) - depthOf(a))) {
          if (entryChanges[inner] === undefined) planRemoval(inner, entries.get(inner)!, local.get(inner));
        }
        planRemoval(path, entry, status);
        note({ path, kind: "folder", content: "D", meta: " " });
      }
      continue;
    }
    await planFile(undefined, entry, status, path);
  }

  // Files and folders deleted by hand that the server did not change come back (svn's "Restored").
  if (!opts.full) await planRestores();

  // The checkout root's own metadata and revision.
  const rootRemote = remoteByPath.get("");
  if (rootRemote && rootRemote.kind === "folder" && !entryChanges[""]) {
    planFolder(rootRemote, entries.get(""), local.get(""));
  }

  // 3. Apply. The checkout's revision moves only if nothing had to be left behind.
  const advance = skipped.length === 0 && blocked.length === 0 && !scopes;
  // Nothing to write (a no-op update): do not rewrite the entries for nothing.
  const nothingToDo = steps.length === 0 && Object.keys(entryChanges).length === 0 && (!advance || manifest.revision === wc.entries.revision);
  const report = nothingToDo
    ? { savedAside: [] }
    : await runJournal(root, {
        command: opts.command,
        steps,
        entries: entryChanges,
        revision: advance ? manifest.revision : undefined,
      });
  lines.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    revision: advance ? manifest.revision : wc.entries.revision,
    target: manifest.revision,
    lines,
    conflicts,
    savedAside: report.savedAside,
    skipped,
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
    if (!entry && path !== "") {
      steps.push({ do: "mkdir", path });
      madeDirs.add(path);
      content = status ? "E" : "N";
    } else if (entry?.schedule === "added") {
      content = "E";
    }
    // A folder scheduled for removal keeps no metadata file: only its BASE moves.
    const meta = entry?.schedule === "removed" ? " " : planMeta(ctx, path, entry?.schedule === "added" ? undefined : entry, remote, status, next);
    entryChanges[path] = next;
    note({ path, kind: "folder", content, meta });
  }

  async function planFile(remote: EntryInfo | undefined, entry: Entry | undefined, status: PathStatus | undefined, deletedPath?: string) {
    const path = remote?.path ?? deletedPath!;
    const hasBase = entry !== undefined && entry.schedule !== "added";
    const present = status !== undefined && status.content !== "!" && status.kind === "file";
    // The scan does not hash unversioned files; comparing with the server's content needs it.
    if (present && !entry && status.workingHash === undefined) status.workingHash = (await hashFile(join(root, path))).hash;
    // Edited metadata is a local change too: a file deleted on the server must not take it along.
    const metaEdited = !remote && status?.meta === "M";
    const localState: "absent" | "unchanged" | "modified" = !present
      ? "absent"
      : hasBase && status.workingHash === entry!.hash && !metaEdited
        ? "unchanged"
        : "modified";
    // A metadata-only change bumps the revision but not the content: that is "unchanged" here.
    const remoteState: "absent" | "unchanged" | "changed" = !remote ? "absent" : hasBase && entry!.hash === remote.hash ? "unchanged" : "changed";
    const decision: FileAction = decideFile({
      local: localState,
      base: hasBase,
      remote: remoteState,
      schedule: entry?.schedule,
      conflicted: entry?.conflict !== undefined,
      sameContent: present && remote !== undefined && status.workingHash === remote.hash,
    });
    const kind = "file" as const;
    switch (decision.action) {
      case "nothing": {
        if (decision.report === "C") {
          skipped.push(path);
          note({ path, kind, content: "C", meta: " ", reason: "remains in conflict; resolve it, then update again" });
          return;
        }
        if (!remote || !hasBase) return;
        // Content stays; the BASE still moves to the server's revision and metadata.
        const next: Entry = { ...entryFromRemote(remote), ...(entry!.cache ? { cache: entry!.cache } : {}) };
        if (entry!.schedule === "removed") next.schedule = "removed";
        // An object scheduled for removal has no metadata file to merge into: only its BASE moves.
        const meta = entry!.schedule === "removed" ? " " : planMeta(ctx, path, entry, remote, status, next);
        entryChanges[path] = next;
        note({ path, kind, content: " ", meta });
        return;
      }
      case "take-remote": {
        steps.push({ do: "write", path, hash: remote!.hash!, expect: fileExpect(present ? status : undefined) });
        const next = entryFromRemote(remote!);
        const meta = planMeta(ctx, path, hasBase ? entry : undefined, remote!, status, next);
        entryChanges[path] = next;
        note({ path, kind, content: "U", meta });
        return;
      }
      case "adopt": {
        const next = entryFromRemote(remote!);
        const meta = planMeta(ctx, path, hasBase ? entry : undefined, remote!, status, next);
        entryChanges[path] = next;
        note({ path, kind, content: localState === "modified" && hasBase ? "G" : "U", meta });
        return;
      }
      case "delete":
        planRemoval(path, entry!, status);
        note({ path, kind, content: "D", meta: " " });
        return;
      case "forget":
        if (entry?.meta) steps.push({ do: "write-text", path: metaFileOf(path), text: null, expect: { hash: textHash(formatMeta(entry.meta)) } });
        entryChanges[path] = null;
        note({ path, kind, content: "D", meta: " " });
        return;
      case "tree-conflict": {
        const artifacts: string[] = [];
        let next: Entry;
        if (remote) {
          const theirs = `${path}.r${remote.revision}`;
          steps.push({ do: "write", path: theirs, hash: remote.hash!, expect: "absent" });
          artifacts.push(theirs);
          next = entryFromRemote(remote);
          if (entry?.schedule === "removed") next.schedule = "removed";
          // The server's metadata is the new BASE's: write it (merged with a local metadata file),
          // or keeping the local file would later commit its deletion.
          if (!hasBase) planMeta(ctx, path, undefined, remote, status, next);
        } else {
          next = { kind: "file", schedule: "added" };
        }
        next.conflict = {
          kind: "tree",
          artifacts,
          reason: decision.reason,
          versions: { base: hasBase ? entry!.hash : undefined, mine: present ? status.workingHash : undefined, theirs: remote?.hash },
          ...(remote ? { labels: { base: hasBase ? `.r${entry!.revision}` : ".base", theirs: `.r${remote.revision}` } } : {}),
        };
        entryChanges[path] = next;
        note({ path, kind, content: "C", meta: " ", reason: decision.reason });
        return;
      }
      case "merge": {
        const next = entryFromRemote(remote!);
        const conflict = await planFileMerge(ctx, path, hasBase ? entry : undefined, status!, remote!);
        if (conflict) next.conflict = conflict;
        const meta = planMeta(ctx, path, hasBase ? entry : undefined, remote!, status, next);
        entryChanges[path] = next;
        note({ path, kind, content: conflict ? "C" : "G", meta, reason: conflict?.reason });
        return;
      }
    }
  }

}

function lexists(absolute: string): boolean {
  try {
    lstatSync(absolute);
    return true;
  } catch {
    return false;
  }
}

function depthOf(path: string): number {
  return path === "" ? 0 : path.split("/").length;
}

function textHash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** True when anything at or under `path` is modified, added, unversioned or conflicted. */
function holdsChanges(path: string, local: Map<string, PathStatus>, missingIsUnchanged = false): boolean {
  for (const [p, s] of local) {
    if (p !== path && !p.startsWith(path + "/")) continue;
    if ((s.content !== "=" && !(missingIsUnchanged && s.content === "!")) || s.meta !== " ") return true;
  }
  return false;
}
