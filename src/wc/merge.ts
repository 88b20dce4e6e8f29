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
import { readCheckoutFile } from "./safe-path.js";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { conflictReasonOf, planContentMerge, type ArtifactVersion } from "../merge/content-plan.js";
import { announcedTypeOf, choosePolicy, type ConflictPolicy } from "../merge/content-kinds.js";
import { readServerTypes } from "./server-types.js";
import { mergeMeta } from "../merge/meta.js";
import { joinArchivePath, parentPath } from "../protocol/paths.js";
import type { ObjectMeta } from "../protocol/types.js";
import type { ZsyncClient } from "../transport/http/client.js";
import { adminPaths, findWorkingCopy, readConfig, WcError, type WcConfig } from "./admin.js";
import { lstatOrNone } from "./add.js";
import { withinDepth, type UpdateLine } from "./apply-remote.js";
import { entriesUnder, loadEntries, type ConflictRecord, type Entries, type Entry } from "./entries.js";
import { hasJournal, runJournal, type Expectation, type JournalReport, type JournalStep } from "./journal.js";
import { formatMeta, formatMetaConflict, metaFileOf, readWorkingMeta, sameMeta } from "./meta-files.js";
import { hashFile, pristinePath, storePristine } from "./pristine.js";
import { scanWorkingCopy, type PathStatus } from "./scan.js";
import type { WorkingCopy } from "./session.js";

/** Label of SOURCE's working version in conflict markers and artifact names (`FILE.source`). */
export const SOURCE_LABEL = ".source";

/** A checkout opened read-only as the source of a merge. */
export interface SourceCheckout {
  root: string;
  config: WcConfig;
  entries: Entries;
}

export interface MergeOptions {
  /** Plan and report, change nothing (not even TARGET's pristine store). */
  dryRun?: boolean;
  /** Connects to the server; called only when a BASE copy is missing from SOURCE's pristine store. */
  connect?: () => Promise<ZsyncClient>;
  /** Conflict policy for every file (`--policy`); otherwise TARGET's per-path policies, then `merge`. */
  policy?: ConflictPolicy;
}

/** A change of SOURCE that was not brought over, and why. */
export interface NotMerged {
  path: string;
  reason: string;
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

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const depthOf = (path: string) => (path === "" ? 0 : path.split("/").length);
const inside = (path: string, dir: string) => dir === "" || path === dir || path.startsWith(dir + "/");

/**
 * The root of the checkout at `dir`; `dir` must be that root (merge works on whole checkouts, so a
 * folder inside one is refused rather than silently widened to the whole checkout).
 */
export async function requireCheckoutRoot(dir: string, what: string): Promise<string> {
  if (!(await lstatOrNone(resolve(dir)))?.isDirectory()) throw new WcError("not-found", `${what} ${dir} is not a folder`);
  const root = await findWorkingCopy(dir);
  const [given, top] = await Promise.all([realpath(resolve(dir)), realpath(root)]);
  if (given !== top) {
    throw new WcError("not-checkout-root", `${what} ${dir} is inside the checkout at ${root}; merge works on whole checkouts, name the checkout's top folder`, 2);
  }
  return root;
}

/** Opens SOURCE without locking or writing anything; refuses a checkout with an unfinished or running command. */
export async function openSource(dir: string): Promise<SourceCheckout> {
  const root = await requireCheckoutRoot(dir, "SOURCE");
  const config = await readConfig(root);
  await checkSourceIdle(root);
  return { root, config, entries: await loadEntries(root) };
}

/**
 * Refuses a SOURCE whose state is in the middle of changing: an interrupted command (its journal
 * is pending) or a zsync command running there now (its lock is held by a live process). Only reads.
 */
async function checkSourceIdle(root: string): Promise<void> {
  if (await hasJournal(root)) {
    throw new WcError(
      "source-interrupted",
      `SOURCE ${root} has an interrupted command (.zsync/journal.json); run \`zsync cleanup\` there first (merge never writes to SOURCE)`,
    );
  }
  let holder: { pid?: unknown; command?: unknown } | undefined;
  try {
    holder = JSON.parse(await readFile(adminPaths(root).lock, "utf8"));
  } catch {
    return; // no lock (or a stale, unreadable one): nothing is running there
  }
  const pid = holder?.pid;
  if (typeof pid !== "number" || pid === process.pid) return;
  let alive = true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    alive = (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (alive) {
    throw new WcError("source-busy", `SOURCE ${root} is in use by \`zsync ${String(holder?.command ?? "?")}\` (process ${pid}); wait for it to finish`);
  }
}

/** Merges SOURCE's local modifications into the open (locked, unless dry run) TARGET checkout `wc`. */
export async function merge(wc: WorkingCopy, source: SourceCheckout, opts: MergeOptions = {}): Promise<MergeResult> {
  const dryRun = opts.dryRun === true;
  const target = wc;
  if ((await realpath(source.root)) === (await realpath(target.root))) {
    throw new WcError("same-checkout", `SOURCE and TARGET are the same checkout (${target.root})`, 2);
  }
  // The types TARGET's server announced at its last checkout or update (plug-ins' merge kinds and policies).
  const serverTypes = await readServerTypes(target.root);
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

  const steps: JournalStep[] = [];
  const entryChanges: Record<string, Entry | null> = {};
  const lines: UpdateLine[] = [];
  const notMerged: NotMerged[] = [];
  const fetched: string[] = [];
  const differentBase: string[] = [];
  let conflicts = 0;
  /** TARGET paths whose insides are left alone (a folder that could not be merged). */
  const blocked: string[] = [];
  /** Folders this merge schedules for addition in TARGET (children may go into them). */
  const addedFolders = new Set<string>();
  let client: Promise<ZsyncClient> | undefined;

  const note = (line: UpdateLine) => {
    if (line.content === "C" || line.meta === "C") conflicts++;
    if (line.content !== " " || line.meta !== " ") lines.push(line);
  };
  const skip = (path: string, reason: string, isFolder = false): void => {
    notMerged.push({ path, reason });
    if (isFolder) blocked.push(path);
  };
  /** Puts bytes into TARGET's pristine store (only hashes them in a dry run). */
  const keepBytes = async (bytes: Buffer): Promise<string> =>
    dryRun ? sha256(bytes) : (await storePristine(target.root, Readable.from([bytes]), undefined, bytes.length)).hash;
  /** Copies a file (of either checkout) into TARGET's pristine store; returns its hash. */
  const keepFile = async (absolute: string): Promise<string> =>
    dryRun ? (await hashFile(absolute)).hash : (await storePristine(target.root, createReadStream(absolute, { highWaterMark: 1 << 20 }))).hash;
  /** An object this merge schedules for addition: its metadata comes with it (no `U`), as in update. */
  const asNew = (meta: UpdateLine["meta"]): UpdateLine["meta"] => (meta === "U" ? " " : meta);
  const noteBase = (path: string, a: Entry, b: Entry) => {
    if (b.schedule !== "added" && b.revision !== undefined && a.revision !== b.revision) differentBase.push(path);
  };

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
    ({ savedAside } = await runJournal(target.root, { command: "merge", steps, entries: entryChanges }));
    target.entries = await loadEntries(target.root);
  }
  lines.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  return {
    source: { root: source.root, revision: source.entries.revision },
    revision: target.entries.revision,
    lines,
    conflicts,
    notMerged,
    fetched,
    differentBase,
    savedAside,
    dryRun,
  };

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
        const basePristine = pristinePath(source.root, a.hash!);
        const base = (await lstatOrNone(basePristine))?.isFile() ? await keepFile(basePristine) : undefined;
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

  /**
   * Three-way merge of TARGET's working file (mine) with SOURCE's (theirs) over SOURCE's BASE
   * (`base`; an empty base for two independently added files). Plans the writes and artifacts;
   * returns the conflict, if any, or "unchanged" when the clean result is TARGET's file as it is.
   */
  async function planFileMerge(
    path: string,
    base: Entry | undefined,
    contentType: string | undefined,
    theirsType: string | undefined,
  ): Promise<ConflictRecord | undefined | "unchanged"> {
    const mineBytes = await readCheckoutFile(target.root, path);
    const theirsBytes = await readCheckoutFile(source.root, path);
    const baseBytes = base?.hash ? await sourceBase(path, base) : Buffer.alloc(0);
    const mine = await keepBytes(mineBytes);
    const theirs = await keepBytes(theirsBytes);
    const baseHash = base?.hash ? await keepBytes(baseBytes) : undefined;
    const baseLabel = base?.revision !== undefined ? `.r${base.revision}` : ".base";
    const labels = { base: baseLabel, theirs: SOURCE_LABEL };
    const versions = { base: baseHash, mine, theirs };
    const plan = planContentMerge(
      { base: base?.hash ? baseBytes : undefined, mine: mineBytes, theirs: theirsBytes },
      {
        labels: { mine: ".mine", ...labels },
        contentType: theirsType ?? contentType,
        types: serverTypes,
        policy: choosePolicy(path, { override: opts.policy, byPath: target.config.policies, typeDefault: announcedTypeOf(theirsType ?? contentType, serverTypes)?.defaultPolicy }),
        times: await modificationTimes(join(target.root, path), join(source.root, path)),
      },
    );
    const suffixes = { mine: ".mine", base: baseLabel, theirs: SOURCE_LABEL };
    const beside = (which: ArtifactVersion[]) =>
      which.map((v) => {
        steps.push({ do: "write", path: path + suffixes[v], hash: versions[v]!, expect: "absent" });
        return path + suffixes[v];
      });
    if (plan.outcome === "binary") {
      // Binary: never merged. TARGET's file stays; SOURCE's BASE and working versions go beside it.
      return { kind: "binary", artifacts: beside(plan.beside), reason: plan.reason ?? "binary file changed in both checkouts", versions, labels };
    }
    if (plan.outcome === "kept") {
      // A policy chose one version whole: SOURCE's replaces TARGET's file, or TARGET's stays.
      if (plan.version === "mine") return "unchanged";
      steps.push({ do: "write", path, hash: theirs, expect: { hash: mine } });
      return undefined;
    }
    if (plan.outcome === "merged" && plan.unchanged) return "unchanged"; // TARGET holds SOURCE's change already
    const result = await keepBytes(Buffer.from(plan.text, "utf8"));
    steps.push({ do: "write", path, hash: result, expect: { hash: mine } });
    if (plan.outcome === "merged") return undefined;
    return { kind: "text", artifacts: beside(plan.beside), reason: conflictReasonOf(plan), versions, labels };
  }

  /**
   * Per-key three-way merge of an object's metadata into TARGET's metadata file: base = SOURCE's
   * BASE metadata (undefined for additions), mine = TARGET's working metadata, theirs = SOURCE's.
   * On conflict the file takes update's editable conflict form and `next.conflict` is set.
   */
  async function planMetaMerge(path: string, base: ObjectMeta | undefined, theirs: ObjectMeta | undefined, next: Entry): Promise<UpdateLine["meta"]> {
    const file = metaFileOf(path);
    const mine = await targetMeta(path);
    if (mine.error) {
      // An unreadable metadata file is TARGET's user's: keep it, put SOURCE's version beside it.
      const artifact = file + SOURCE_LABEL;
      steps.push({ do: "write-text", path: artifact, text: theirs ? formatMeta(theirs) : "{}\n", expect: "absent" });
      next.conflict ??= { kind: "meta", artifacts: [artifact], reason: mine.error };
      return "C";
    }
    const merged = mergeMeta(base, mine.meta, theirs);
    if (merged.clean) {
      if (sameMeta(merged.meta, mine.meta)) return " ";
      steps.push({ do: "write-text", path: file, text: merged.meta ? formatMeta(merged.meta) : null, expect: mine.expect });
      return sameMeta(mine.meta, base) ? "U" : "G";
    }
    const form = formatMetaConflict(merged.meta, { base, mine: mine.meta, theirs }, merged.conflicts);
    steps.push({ do: "write-text", path: file, text: form, expect: mine.expect });
    next.conflict ??= {
      kind: "meta",
      artifacts: [],
      reason: `metadata keys changed in both checkouts: ${merged.conflicts.join(", ")}`,
      meta: { base, mine: mine.meta, theirs, keys: merged.conflicts },
    };
    return "C";
  }

  /** TARGET's metadata file of `path`: parsed, and what a step replacing it must expect. */
  async function targetMeta(path: string): Promise<{ meta?: ObjectMeta; error?: string; expect: Expectation }> {
    const raw = await readCheckoutFile(target.root, metaFileOf(path)).catch(() => undefined);
    if (!raw) return { expect: "absent" };
    return { ...(await readWorkingMeta(target.root, path)), expect: { hash: sha256(raw) } };
  }

  /**
   * SOURCE's BASE content of a file: from SOURCE's pristine store, or — only when that copy is
   * missing or damaged — from the server at the BASE's revision (checked against its hash).
   */
  async function sourceBase(path: string, entry: Entry): Promise<Buffer> {
    const hash = entry.hash!;
    const file = pristinePath(source.root, hash);
    const stored = await readFile(file).catch(() => undefined);
    if (stored && sha256(stored) === hash) return stored;
    const what = `SOURCE's BASE copy of ${path} (revision ${entry.revision}) is missing from ${file}`;
    if (!opts.connect) throw new WcError("missing-pristine", `${what}; nothing was changed`);
    let bytes: Buffer;
    try {
      client ??= opts.connect();
      const stream = await (await client).cat(joinArchivePath(source.config.path, path), { rev: entry.revision });
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
      bytes = Buffer.concat(chunks);
    } catch (error) {
      throw new WcError("missing-pristine", `${what} and could not be fetched from the server (${(error as Error).message}); nothing was changed`);
    }
    if (sha256(bytes) !== hash) throw new WcError("bad-content", `${what}, and the server's copy at revision ${entry.revision} does not match it; nothing was changed`);
    fetched.push(path);
    return bytes;
  }
}

/** Modification times (ms) of TARGET's and SOURCE's working files, for the `newest` policy. */
async function modificationTimes(mine: string, theirs: string): Promise<{ mine?: number; theirs?: number }> {
  const time = (file: string) => stat(file).then((s) => s.mtimeMs, () => undefined);
  return { mine: await time(mine), theirs: await time(theirs) };
}
