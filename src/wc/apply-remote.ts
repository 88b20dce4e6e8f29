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
import { alreadyCurrent, deletedSinceCommitted } from "../merge/delta.js";
import { decideDir } from "../merge/dir-decision.js";
import { reconcileTree } from "../merge/tree.js";
import type { SnarfRecord } from "../protocol/snarf.js";
import type { SnapshotManifest } from "../protocol/types.js";
import { WcError, type Depth } from "./admin.js";
import { entriesUnder, entryFromRemote, saveEntries, type Entry } from "./entries.js";
import { runJournalOn, type JournalReport } from "./journal.js";
import { writeIndexSummary } from "./index-summary.js";
import { forEachRevision } from "./lazy-entries.js";
import { readWorkingMetaSync } from "./meta-files.js";
import { receiveBodies } from "./receive.js";
import type { EarlyWriter } from "./early-writes.js";
import { adoptScanCaches, listingsOfNewCheckout, scanWorkingCopy, type PathStatus } from "./scan.js";
import type { ConflictPolicy } from "../merge/content-kinds.js";
import { checkoutPathChecker } from "./safe-path.js";
import type { WorkingCopy } from "./session.js";
import { filePlanner } from "./update-file.js";
import type { UpdateLine } from "./plan-object.js";
import { createUpdatePlan, depthOf, holdsChanges } from "./update-plan.js";
import { rememberServerTypes } from "./server-types.js";

export type { UpdateLine } from "./plan-object.js";

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
 * Throws `unsafe-path` when a path the server names (within `scopes`) would leave the checkout
 * or pass through a symlink the user has (`link -> /elsewhere`, then `link/x` from the server).
 * Called before any body of the snapshot is received, so a refused update writes nothing.
 */
export function refuseUnsafePaths(root: string, manifest: SnapshotManifest, scopes?: string[]): void {
  const unsafe = checkoutPathChecker(root);
  for (const path of [...manifest.entries.map((e) => e.path), ...manifest.deleted]) {
    if (!under(path, scopes)) continue;
    const problem = unsafe(path);
    if (problem) throw new WcError("unsafe-path", `the server sent the path ${JSON.stringify(path)}: ${problem}; refused, nothing was written`);
  }
}

/**
 * Applies a snapshot (full or `since` delta) to the checkout. `full` means the manifest lists
 * every object, so local entries it does not list were deleted on the server.
 */
export async function applyRemote(
  wc: WorkingCopy,
  snapshot: { manifest: SnapshotManifest; records: AsyncGenerator<SnarfRecord> },
  opts: {
    full: boolean;
    paths?: string[];
    command: string;
    progress?: (received: number, total: number) => void;
    policy?: ConflictPolicy;
    /** A new checkout's early writer (src/wc/early-writes.ts); its owner undoes it if this fails before the journal. */
    early?: EarlyWriter;
    /** This update finishes an interrupted checkout (files it was writing may be cut short). */
    finishesCheckout?: boolean;
  },
): Promise<ApplyResult> {
  const { root, config } = wc;
  const entries = wc.entries.entries;
  const { manifest } = snapshot;
  const scopes = opts.paths;
  const wanted = (path: string, kind: "file" | "folder") => withinDepth(path, kind, config.depth) && under(path, scopes);

  // 0. Refuse the whole update before anything is received or written.
  refuseUnsafePaths(root, manifest, scopes);

  // 1. Receive every body we will need into the pristine store.
  const remoteByPath = new Map(manifest.entries.map((e) => [e.path, e]));
  // A checkout in the making (no entry but the root) has nothing local to compare: every write
  // expects its path absent, and the journal moves aside whatever turns up there meanwhile. Its
  // pristine store is new, and its small bodies go into one pack (src/wc/pristine-pack.ts).
  const newCheckout = opts.command === "checkout" && entries.size <= 1;
  const early = newCheckout ? opts.early : undefined;
  await receiveBodies(root, snapshot, { wanted: (path) => wanted(path, "file"), progress: opts.progress, pack: newCheckout, early });
  const prewritten = await early?.finish();

  // 2. Plan. Only what the server touched is scanned, so the cost follows the change, not the tree.
  const deleted = new Set(manifest.deleted.filter((p) => entries.has(p)));
  if (opts.full) {
    for (const path of entries.keys()) if (path !== "" && !remoteByPath.has(path)) deleted.add(path);
  } else if (manifest.revision > wc.entries.revision) {
    // Mixed revisions: an entry newer than the checkout (committed from here) that the delta does
    // not list was deleted on the server — the delta names only what existed at the checkout's revision.
    // (None can be when the server is at the checkout's revision: then no entry is read here.)
    forEachRevision(entries, (path, kind, revision) => {
      if (path !== "" && deletedSinceCommitted(revision, wc.entries.revision, manifest.revision, remoteByPath.has(path)) && wanted(path, kind)) deleted.add(path);
    });
  }
  const changed = manifest.entries.filter((e) => wanted(e.path, e.kind)).sort((a, b) => depthOf(a.path) - depthOf(b.path) || (a.path < b.path ? -1 : 1));
  const affected = [...new Set([...changed.map((e) => e.path).filter((p) => p !== ""), ...deleted])];
  const scan = affected.length > 0 && !newCheckout ? await scanWorkingCopy(root, entries, { within: affected }) : { items: [] };
  const local = new Map<string, PathStatus>(scan.items.map((i) => [i.path, i]));
  const rootMeta = readWorkingMetaSync(root, "");
  local.set("", { path: "", kind: "folder", content: "=", meta: " ", workingMeta: rootMeta.meta, metaError: rootMeta.error, entry: entries.get("") });
  await rememberServerTypes(root, manifest.types);
  const plan = createUpdatePlan({ wc, local, deleted, wanted, policy: opts.policy, types: manifest.types });
  const planFile = filePlanner(plan, root, { finishesCheckout: opts.finishesCheckout });
  const { steps, entryChanges, skipped, blocked, superseded, note, parentReady, isBlocked } = plan;
  const { treeSituation, keepLocal, planLocalAdditions, planRestores, planRemoval, planFolder } = plan;


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
    if (alreadyCurrent(entry && { kind: entry.kind, revision: entry.revision, pending: Boolean(entry.schedule || entry.conflict) }, remote)) continue;
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
    : await runJournalOn(
        wc,
        {
          command: opts.command,
          steps,
          entries: entryChanges,
          revision: advance ? manifest.revision : undefined,
        },
        { prewritten },
      );
  // Files the worker wrote that no step took (the plan wrote nothing there) are not the checkout's.
  early?.removeUntaken();
  if (newCheckout) {
    // What a first status would record of the folders, so that the index summary below can be written.
    const changed = adoptScanCaches(wc.entries.entries, { refreshedCaches: new Map(), refreshedMetaCaches: new Map(), refreshedListings: listingsOfNewCheckout(root, wc.entries.entries) });
    if (changed.length > 0) await saveEntries(root, wc.entries, { changed });
  }
  // The next update that brings nothing can then do without reading the entries.
  await writeIndexSummary(root, wc.entries);
  plan.lines.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    revision: advance ? manifest.revision : wc.entries.revision,
    target: manifest.revision,
    lines: plan.lines,
    conflicts: plan.conflicts(),
    savedAside: report.savedAside,
    skipped,
  };
}
