/**
 * `commit`: sends the local changes (only the changed objects, each with its base) in one
 * request; on success records the server's canonical entries as the new BASE without
 * downloading what was sent. On 409 nothing changes locally.
 */
import { join } from "node:path";
import type { SnarfInput } from "../protocol/snarf.js";
import type { CommitChange, CommitResult } from "../protocol/types.js";
import { ProtocolError, type ZsyncClient } from "../transport/http/client.js";
import { WcError } from "./admin.js";
import { entryFromRemote, saveEntries, type Entry } from "./entries.js";
import { adoptAlreadyCommitted, removeReplacedObjects, replacements } from "./commit-recover.js";
import { writeIndexSummary } from "./index-summary.js";
import { runJournalOn } from "./journal.js";
import { pristineTee, type PristineTee } from "./pristine-tee.js";
import { adoptScanCaches, scanWorkingCopy, type PathStatus, type ScanResult } from "./scan.js";
import type { WorkingCopy } from "./session.js";

export interface CommitOptions {
  client: ZsyncClient;
  /**
   * The log message, or a function asked for it once the changes are known and committable
   * (the editor: it sees what will be committed and is never opened when nothing would be).
   */
  message: string | ((changes: PathStatus[]) => Promise<string>);
  /** Commit only these checkout paths (and what is inside them). */
  paths?: string[];
}

/** One committed path, as reported: `Sending`, `Adding`, `Deleting`. */
export interface CommittedPath {
  path: string;
  kind: "file" | "folder";
  action: "added" | "modified" | "removed";
  content: boolean;
  meta: boolean;
}

export interface CommitOutcome {
  /** New revision; undefined when there was nothing to commit. */
  revision?: number;
  committed: CommittedPath[];
}

/** Raised when the server says some paths are out of date. */
export class OutOfDateError extends WcError {
  readonly paths: string[];
  constructor(paths: string[]) {
    super("out-of-date", `commit failed, out of date (nothing was changed): ${paths.join(", ")}\nRun \`zsync update\` and commit again.`);
    this.paths = paths;
  }
}

/** Commits the changes of an open (locked) checkout. */
export async function commit(wc: WorkingCopy, options: CommitOptions): Promise<CommitOutcome> {
  // Asked at most once, even when the commit is retried below.
  let asked: Promise<string> | undefined;
  const ask = options.message;
  const opts = typeof ask === "string" ? options : { ...options, message: (changes: PathStatus[]) => (asked ??= ask(changes)) };
  try {
    return await commitOnce(wc, opts);
  } catch (error) {
    // Out of date only because the server already holds exactly these bytes (an earlier commit
    // whose answer was lost): record them as BASE and commit the rest.
    if (!(error instanceof OutOfDateError) || (await adoptAlreadyCommitted(wc, opts.client, error.paths)).length === 0) throw error;
    return commitOnce(wc, opts);
  }
}

async function commitOnce(wc: WorkingCopy, opts: CommitOptions): Promise<CommitOutcome> {
  const { root } = wc;
  const entries = wc.entries.entries;
  const named = opts.paths && opts.paths.length > 0 ? opts.paths : undefined;
  const parents = named ? addedParents(named, entries) : [];
  // Unchanged paths send nothing: leave them out, as plain `status` does (the same fast scan).
  const scan = await scanWorkingCopy(root, entries, { within: named && [...named, ...parents], changedOnly: true, hashOnlyToDecide: true });
  // An added parent comes along by itself, not with its other children.
  scan.items = scan.items.filter((i) => !named || parents.includes(i.path) || named.some((p) => p === "" || i.path === p || i.path.startsWith(p + "/")));

  // Refuse what cannot be committed, before sending anything.
  const problems: string[] = [];
  for (const item of scan.items) {
    if (item.content === "C" || item.meta === "C") problems.push(`${item.path}: in conflict; resolve it first (zsync resolve)`);
    else if (item.content === "!") problems.push(`${item.path}: missing; restore it (zsync revert) or remove it (zsync remove)`);
    else if (item.content === "~") problems.push(`${item.path}: replaced by a ${item.kind}; revert or remove it first`);
    if (item.metaError && item.entry?.schedule !== "removed") problems.push(`${item.metaError}; fix the metadata file first`);
  }
  if (problems.length > 0) throw new WcError("cannot-commit", `nothing was committed:\n  ${problems.join("\n  ")}`);
  const changed = scan.items.filter((i) => i.content !== "?" && (i.content !== "=" || i.meta !== " "));
  if (changed.length === 0) {
    await keepScanCaches(wc, scan, new Set());
    return { committed: [] };
  }
  const message = typeof opts.message === "string" ? opts.message : await opts.message(changed);

  // A local object kept in place of a server object of the other kind: that one goes first.
  const replacing = replacements(wc, scan.items.map((i) => i.path));
  if (replacing.length > 0) await sendCommit(() => removeReplacedObjects(wc, opts.client, replacing, message));

  const changes: CommitChange[] = [];
  const committed: CommittedPath[] = [];
  const bodies: { path: string; tee: PristineTee }[] = [];
  const removedFolders: string[] = [];
  for (const item of scan.items) {
    const entry = item.entry;
    if (!entry || item.path === "" && item.meta === " ") continue;
    const insideRemoved = removedFolders.some((f) => item.path.startsWith(f + "/"));
    if (entry.schedule === "removed") {
      if (insideRemoved) continue;
      // A folder's base is the checkout revision: everything inside is known up to it (docs/PROTOCOL.md).
      const baseRevision = entry.kind === "folder" ? Math.max(wc.entries.revision, entry.revision ?? 0) : entry.revision;
      changes.push({ path: item.path, kind: entry.kind, schedule: "removed", baseRevision });
      committed.push({ path: item.path, kind: entry.kind, action: "removed", content: false, meta: false });
      if (entry.kind === "folder") removedFolders.push(item.path);
      continue;
    }
    if (entry.schedule === "added") {
      const change: CommitChange = { path: item.path, kind: entry.kind, schedule: "added" };
      if (item.workingMeta) change.meta = item.workingMeta;
      if (entry.kind === "file") {
        change.content = true;
        bodies.push({ path: item.path, tee: await pristineTee(root, join(root, item.path)) });
      }
      changes.push(change);
      committed.push({ path: item.path, kind: entry.kind, action: "added", content: entry.kind === "file", meta: item.workingMeta !== undefined });
      continue;
    }
    const contentChanged = item.content === "M";
    const metaChanged = item.meta === "M";
    if (!contentChanged && !metaChanged) continue;
    const change: CommitChange = { path: item.path, kind: entry.kind, schedule: "modified", baseRevision: entry.revision };
    if (contentChanged) {
      change.content = true;
      bodies.push({ path: item.path, tee: await pristineTee(root, join(root, item.path)) });
    }
    if (metaChanged) change.meta = item.workingMeta ?? null;
    changes.push(change);
    committed.push({ path: item.path, kind: entry.kind, action: "modified", content: contentChanged, meta: metaChanged });
  }
  if (changes.length === 0) return { committed: [] };

  // Each body is read once, through a pristine tee: the bytes sent are the bytes hashed and
  // stored as the pristine copy, so an edit during the upload cannot make the server store
  // bytes other than those recorded as the new BASE.
  const records: SnarfInput[] = bodies.map((b) => ({ kind: "file", path: b.path, size: b.tee.size, body: () => b.tee.body() }));
  const result = await sendCommit(() => opts.client.commit(wc.config.path, { protocol: 1, note: message, changes }, records));

  // Record the new BASE through the journal (a kill here is finished by the next command).
  const newEntries: Record<string, Entry | null> = {};
  const sent = new Map(bodies.map((b) => [b.path, b.tee.result]));
  for (const path of sent.keys()) {
    if (!sent.get(path)) throw new WcError("commit-incomplete", `the server answered before ${path} was sent; run \`zsync update\` to see what was committed`);
  }
  for (const remote of result.entries) {
    const previous = entries.get(remote.path);
    const next = entryFromRemote(remote);
    const read = sent.get(remote.path);
    // The working file held what was sent, unchanged during the read: its stat is valid for it.
    if (remote.kind === "file" && read && read.hash === remote.hash) {
      if (read.cache) next.cache = read.cache;
    } else if (previous?.cache && previous.cache.hash === remote.hash) {
      next.cache = previous.cache;
    }
    newEntries[remote.path] = next;
  }
  for (const path of result.deleted) newEntries[path] = null;
  await runJournalOn(wc, { command: "commit", steps: [], entries: newEntries });
  await keepScanCaches(wc, scan, new Set(Object.keys(newEntries)));
  // The update after a commit from here gets back what was committed: decided from the summary.
  await writeIndexSummary(wc.root, wc.entries);
  return { revision: result.revision, committed };
}

/**
 * Saves the stat caches the scan refreshed for paths this commit did not write, as `status`
 * does: otherwise every commit after a checkout hashes every file again until a `status` runs.
 * Only caches: no journal needed (a kill loses them, nothing else).
 */
async function keepScanCaches(wc: WorkingCopy, scan: ScanResult, written: Set<string>): Promise<void> {
  const unwritten = <T>(map: Map<string, T>) => new Map([...map].filter(([path]) => !written.has(path)));
  const refreshed = { refreshedCaches: unwritten(scan.refreshedCaches), refreshedMetaCaches: unwritten(scan.refreshedMetaCaches), refreshedListings: unwritten(scan.refreshedListings) };
  const changed = adoptScanCaches(wc.entries.entries, refreshed);
  if (changed.length > 0) await saveEntries(wc.root, wc.entries, { changed, fsync: false });
}

/** Runs one commit request, turning the server's refusals into the checkout's errors. */
async function sendCommit<T>(send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (error instanceof ProtocolError && error.code === "out-of-date") throw new OutOfDateError(error.paths ?? []);
    if (error instanceof ProtocolError && error.status === 403) throw new WcError("forbidden", `${error.message}; nothing was committed`);
    if (error instanceof ProtocolError && error.status === 404) {
      throw new WcError("not-found", `${error.message} on the server (or you may not see it); nothing was committed`);
    }
    throw error;
  }
}

/** Added folders above the named paths: committing a path inside one needs the folder too. */
function addedParents(paths: string[], entries: Map<string, Entry>): string[] {
  const parents = new Set<string>();
  for (const path of paths) {
    for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
      const parent = path.slice(0, i);
      if (entries.get(parent)?.schedule === "added") parents.add(parent);
    }
  }
  return [...parents];
}
