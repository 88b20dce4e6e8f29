/**
 * `merge`: brings the local modifications of another checkout of the same server folder (SOURCE)
 * into this one (TARGET), as local modifications of TARGET. Nothing is committed, and SOURCE is
 * only read (never locked, never written, not even its stat cache).
 *
 * SOURCE's changes are exactly what `zsync commit` would send from SOURCE: content edits,
 * additions, scheduled removals and metadata edits of versioned paths. Each is replayed onto
 * TARGET three-way, with **SOURCE's BASE** of the path as the base: SOURCE's change is the
 * difference between its BASE and its working file, so that BASE is the one base against which
 * "what SOURCE did" is defined, whatever revision TARGET is at. TARGET's working state is "mine"
 * (its own uncommitted edits are kept), SOURCE's working state is "theirs".
 *
 * - modified file: TARGET already has SOURCE's content → nothing; TARGET still holds SOURCE's BASE
 *   → SOURCE's content (`U`); otherwise a three-way text merge (`G`, or `C` with markers and the
 *   artifacts `FILE.mine`, `FILE.rN` (SOURCE's BASE, revision N) and `FILE.source`); binary
 *   content is never merged (conflict, both other versions beside the file).
 * - added file or folder: copied with its metadata file and scheduled for addition (`A`); when
 *   TARGET has the path already, equal content is nothing and different content a two-way
 *   conflict (empty base), like update's add/add.
 * - removed file or folder: scheduled for removal in TARGET and deleted from disk (`D`) only when
 *   everything TARGET has there equals SOURCE's BASE (content and metadata) — bytes that exist on
 *   the server and in a pristine copy. Anything else is a tree conflict that keeps TARGET's files.
 * - metadata: per-key three-way merge (base = SOURCE's BASE metadata), conflicts in the editable
 *   conflict form `update` writes.
 *
 * The server is needed only when SOURCE's pristine copy of a BASE that must be read is missing;
 * it is then fetched at that BASE's revision (`cat`). Otherwise merge works offline.
 *
 * Paths that cannot be merged (TARGET lacks them, holds a conflict there, …) are reported with a
 * reason and left alone; everything written goes through one journal, like every other command.
 */
import { realpath } from "node:fs/promises";
import type { ConflictPolicy } from "../merge/content-kinds.js";
import type { ZsyncClient } from "../transport/http/client.js";
import { WcError } from "./admin.js";
import { readServerTypes } from "./server-types.js";
import { withinDepth, type UpdateLine } from "./apply-remote.js";
import { runJournalOn, type JournalReport } from "./journal.js";
import { changePlanners } from "./merge-changes.js";
import { createMergePlan, type MergePlanContext, type NotMerged } from "./merge-plan.js";
import { checkSourceIdle, type SourceCheckout } from "./merge-source.js";
import { scanWorkingCopy, type PathStatus } from "./scan.js";
import type { WorkingCopy } from "./session.js";

export { openSource, requireCheckoutRoot, SOURCE_LABEL, type SourceCheckout } from "./merge-source.js";
export type { NotMerged } from "./merge-plan.js";

export interface MergeOptions {
  /** Plan and report, change nothing (not even TARGET's pristine store). */
  dryRun?: boolean;
  /** Connects to the server; called only when a BASE copy is missing from SOURCE's pristine store. */
  connect?: () => Promise<ZsyncClient>;
  /** Conflict policy for every file (`--policy`); otherwise TARGET's per-path policies, then `merge`. */
  policy?: ConflictPolicy;
}


export interface MergeResult {
  source: { root: string; revision: number };
  /** TARGET's revision (a merge never moves it). */
  revision: number;
  /** Report lines, as update's: `U`, `G`, `C`, `A`, `D`; metadata `U`, `G`, `C`. */
  lines: UpdateLine[];
  conflicts: number;
  notMerged: NotMerged[];
  /** Paths whose BASE was fetched from the server (missing from SOURCE's pristine store). */
  fetched: string[];
  /** Paths merged whose BASE revision differs between the two checkouts. */
  differentBase: string[];
  savedAside: JournalReport["savedAside"];
  dryRun: boolean;
}

const depthOf = (path: string) => (path === "" ? 0 : path.split("/").length);
const inside = (path: string, dir: string) => dir === "" || path === dir || path.startsWith(dir + "/");

/** Merges SOURCE's local modifications into the open (locked, unless dry run) TARGET checkout `wc`. */
export async function merge(wc: WorkingCopy, source: SourceCheckout, opts: MergeOptions = {}): Promise<MergeResult> {
  const dryRun = opts.dryRun === true;
  const target = wc;
  if ((await realpath(source.root)) === (await realpath(target.root))) {
    throw new WcError("same-checkout", `SOURCE and TARGET are the same checkout (${target.root})`, 2);
  }
  if (source.config.repository !== target.config.repository) {
    throw new WcError(
      "different-repository",
      `SOURCE ${source.root} is a checkout of another repository (uuid ${source.config.repository}, TARGET has ${target.config.repository}); merge works between checkouts of the same folder`,
    );
  }
  if (source.config.path !== target.config.path) {
    throw new WcError(
      "different-folder",
      `SOURCE ${source.root} is a checkout of /${source.config.path}, TARGET ${target.root} of /${target.config.path}; merge works between checkouts of the same folder`,
    );
  }
  const srcEntries = source.entries.entries;
  const tgtEntries = target.entries.entries;

  // 1. SOURCE's changes: what `zsync commit` would send there. Refuse what commit would refuse.
  const srcScan = await scanWorkingCopy(source.root, srcEntries);
  await checkSourceIdle(source.root); // a command that started in SOURCE meanwhile would make the scan a mix
  const problems: string[] = [];
  for (const item of srcScan.items) {
    if (!item.entry) continue;
    if (item.content === "C" || item.meta === "C") problems.push(`${item.path}: in conflict`);
    else if (item.content === "!") problems.push(`${item.path}: missing`);
    else if (item.content === "~") problems.push(`${item.path}: replaced by a ${item.kind}`);
    if (item.metaError && item.entry.schedule !== "removed") problems.push(item.metaError);
  }
  if (problems.length > 0) {
    throw new WcError(
      "source-not-mergeable",
      `nothing was merged: SOURCE ${source.root} has changes that could not be committed either:\n  ${problems.join("\n  ")}\nFix them there first.`,
    );
  }
  const srcByDepth = [...srcScan.items].sort((a, b) => depthOf(a.path) - depthOf(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const changes: PathStatus[] = [];
  const removedTops: string[] = [];
  for (const item of srcByDepth) {
    const entry = item.entry;
    if (!entry) continue; // unversioned in SOURCE: not a change until added there
    if (entry.schedule === "removed") {
      if (!removedTops.some((top) => inside(item.path, top))) {
        removedTops.push(item.path);
        changes.push(item);
      }
    } else if (entry.schedule === "added" || item.content === "M" || item.meta === "M") {
      changes.push(item);
    }
  }

  // 2. TARGET's state where SOURCE changed something (the root's own metadata read directly).
  const scopes = [...new Set(changes.map((c) => c.path).filter((p) => p !== ""))];
  const tgtScan = scopes.length > 0 ? await scanWorkingCopy(target.root, tgtEntries, { within: scopes }) : { items: [] };
  const local = new Map<string, PathStatus>(tgtScan.items.map((i) => [i.path, i]));
  local.set("", { path: "", kind: "folder", content: "=", meta: " ", entry: tgtEntries.get("") });


  // The types TARGET's server announced at its last checkout or update (plug-ins' merge kinds and policies).
  const serverTypes = await readServerTypes(target.root);
  const context: MergePlanContext = { target, source, local, dryRun, connect: opts.connect, policy: opts.policy, serverTypes };
  const plan = createMergePlan(context);
  const { planAdded, planRemoved, planModified } = changePlanners(plan, context);
  const { steps, entryChanges, lines, notMerged, fetched, differentBase, blocked, skip } = plan;

  for (const item of changes) {
    const { path } = item;
    const a = item.entry!;
    if (blocked.some((b) => path.startsWith(b + "/"))) {
      skip(path, "its folder was not merged", a.kind === "folder");
      continue;
    }
    if (!withinDepth(path, a.kind, target.config.depth)) {
      skip(path, `outside TARGET's depth (${target.config.depth})`, a.kind === "folder");
      continue;
    }
    if (a.schedule === "added") await planAdded(item);
    else if (a.schedule === "removed") await planRemoved(item);
    else await planModified(item);
  }

  // 3. Apply, through the journal (an interrupted merge is finished by the next command).
  let savedAside: JournalReport["savedAside"] = [];
  if (!dryRun && (steps.length > 0 || Object.keys(entryChanges).length > 0)) {
    ({ savedAside } = await runJournalOn(target, { command: "merge", steps, entries: entryChanges }));
  }
  lines.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return {
    source: { root: source.root, revision: source.entries.revision },
    revision: target.entries.revision,
    lines,
    conflicts: plan.conflicts(),
    notMerged,
    fetched,
    differentBase,
    savedAside,
    dryRun,
  };
}
