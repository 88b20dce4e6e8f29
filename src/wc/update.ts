/**
 * `update`: brings the server's changes since the checkout's revision into the checkout,
 * three-way merging local modifications; never destroys them.
 */
import { alreadyCurrent, deletedSinceCommitted } from "../merge/delta.js";
import type { SnapshotManifest } from "../protocol/types.js";
import { ProtocolError, type Snapshot, type ZsyncClient } from "../transport/http/client.js";
import { rm, stat } from "node:fs/promises";
import { adminPaths, WcError } from "./admin.js";
import { applyRemote, refuseUnsafePaths, withinDepth, type ApplyResult } from "./apply-remote.js";
import type { Entry } from "./entries.js";
import { noTrackedPathMissing, saveSummarisedRevision, type IndexSummary } from "./index-summary.js";
import { forEachRevision } from "./lazy-entries.js";
import { receiveBodies } from "./receive.js";
import { rememberServerTypes } from "./server-types.js";
import { checkoutRevision, loadDeferredEntries, type WorkingCopy } from "./session.js";
import type { ConflictPolicy } from "../merge/content-kinds.js";

export interface UpdateOptions {
  client: ZsyncClient;
  /** Limit the update to these checkout paths. */
  paths?: string[];
  /** Target revision (default: head). */
  revision?: number;
  progress?: (received: number, total: number) => void;
  /** Conflict policy for every file (`--policy`); otherwise the checkout's per-path policies, then `merge`. */
  policy?: ConflictPolicy;
}

/**
 * Updates an open (locked) checkout, in one round trip. A checkout opened with `summaryFirst`
 * reads its entries only when the server sent something or a tracked path may be missing.
 */
export async function update(wc: WorkingCopy, opts: UpdateOptions): Promise<ApplyResult> {
  const incomplete = await stat(adminPaths(wc.root).incomplete).then(() => true, () => false);
  if (wc.summary && (opts.paths || opts.revision !== undefined || incomplete)) await loadDeferredEntries(wc);
  const revision = checkoutRevision(wc);
  // Going back in time needs the whole state at that revision; forward, the delta suffices.
  // An entry committed from here after the checkout's revision (mixed revisions) that is newer
  // than the target cannot be judged from a delta either.
  const target = opts.revision;
  const backwards = target !== undefined && (target < revision || anyRevisionAbove(wc.entries.entries, target));
  let snapshot: Snapshot;
  try {
    snapshot = await opts.client.snapshot(wc.config.path, backwards ? { rev: opts.revision } : { since: revision, rev: opts.revision });
  } catch (error) {
    if (error instanceof ProtocolError && error.code === "bad-request" && opts.revision !== undefined) {
      throw new WcError("no-such-revision", `revision ${opts.revision} does not exist (${error.message})`, 2);
    }
    if (error instanceof ProtocolError && error.status === 404) {
      throw new WcError("not-found", `/${wc.config.path} no longer exists on the server at that revision`);
    }
    throw error;
  }
  if (snapshot.repository !== wc.config.repository) {
    await snapshot.records.return(undefined);
    throw new WcError("wrong-repository", `the server at ${wc.config.origin} holds another repository (uuid ${snapshot.repository}, this checkout has ${wc.config.repository})`);
  }
  // A server must never move a checkout backwards unasked, nor answer another revision than asked for.
  const got = snapshot.manifest.revision;
  if ((target !== undefined && got !== target) || (target === undefined && got < revision)) {
    await snapshot.records.return(undefined);
    throw new WcError("bad-archive", `the server answered with revision ${got}, but ${target !== undefined ? `revision ${target} was asked for` : `the checkout is already at revision ${revision}`}; refused, nothing in the checkout was changed`);
  }
  if (wc.summary) {
    const { manifest } = snapshot;
    refuseUnsafePaths(wc.root, manifest);
    // Receive what the delta holds as an update of the entries would (into the pristine store,
    // with the progress bar), and read the archive to its end: a malformed one is refused here too.
    await receiveBodies(wc.root, snapshot, { wanted: (path) => withinDepth(path, "file", wc.config.depth), progress: opts.progress });
    await rememberServerTypes(wc.root, manifest.types);
    const done = await nothingNew(wc.root, wc.summary, manifest);
    if (done) return done;
    snapshot = { ...snapshot, records: (async function* () {})() };
    await loadDeferredEntries(wc);
  }
  const result = await applyRemote(wc, snapshot, { full: backwards, paths: opts.paths, command: "update", progress: opts.progress, policy: opts.policy, finishesCheckout: incomplete });
  // An interrupted checkout is finished by a whole update.
  if (!opts.paths) await rm(adminPaths(wc.root).incomplete, { force: true });
  return result;
}

/**
 * An update decided from the index summary: nothing to do but move the checkout's revision when
 * no tracked path is missing (so nothing to restore), the delta deletes nothing, every entry it
 * lists is already current here (src/merge/delta.ts; only entries newer than the checkout can
 * be), and no newer entry was deleted on the server. Undefined when the entries must be read;
 * applyRemote then decides the same way.
 */
async function nothingNew(root: string, summary: IndexSummary, manifest: SnapshotManifest): Promise<ApplyResult | undefined> {
  const target = manifest.revision;
  if (manifest.deleted.length > 0 || summary.newer === null) return undefined;
  const newer = new Map(summary.newer.map(([path, kind, revision, clean]) => [path, { kind, revision, pending: clean === 0 }]));
  // The root's own entry is planned even when current (its metadata): left to the entries.
  if (manifest.entries.some((remote) => remote.path === "" || !alreadyCurrent(newer.get(remote.path), remote))) return undefined;
  const listed = new Set(manifest.entries.map((e) => e.path));
  for (const [path, { revision }] of newer) if (deletedSinceCommitted(revision, summary.revision, target, listed.has(path))) return undefined;
  if (!noTrackedPathMissing(root, summary)) return undefined;
  if (target !== summary.revision && !(await saveSummarisedRevision(root, summary, target))) return undefined;
  return { revision: target, target, lines: [], conflicts: 0, savedAside: [], skipped: [] };
}

/** True when an entry's BASE revision is above `revision` (plain files read lazily stay undecoded). */
function anyRevisionAbove(entries: Map<string, Entry>, revision: number): boolean {
  let found = false;
  forEachRevision(entries, (_path, _kind, base) => {
    if (base !== undefined && base > revision) found = true;
  });
  return found;
}
