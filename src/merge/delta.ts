/**
 * How `update` reads a delta (the server's changes since the checkout's revision) against the
 * checkout's entries, as pure functions: used by the update of the entries (apply-remote.ts) and
 * by the one decided from the index summary (update.ts), so both decide alike.
 */
import type { ObjectKind } from "../protocol/types.js";

/** What the checkout holds for a path: its BASE kind and revision, and whether a schedule or conflict is pending on it. */
export interface LocalBase {
  kind: ObjectKind;
  revision?: number;
  pending: boolean;
}

/**
 * True when the checkout already has the server's object the delta lists: the same kind at the
 * same revision, with nothing scheduled or in conflict (typically what a commit from here
 * sent). The update leaves such a path alone.
 */
export function alreadyCurrent(local: LocalBase | undefined, remote: { kind: ObjectKind; revision: number }): boolean {
  return local !== undefined && !local.pending && local.kind === remote.kind && local.revision === remote.revision;
}

/**
 * Mixed revisions: an entry newer than the checkout (committed from here after its revision)
 * that a delta up to `target` does not list was deleted on the server since — a delta from the
 * checkout's revision names only what existed then.
 */
export function deletedSinceCommitted(revision: number | undefined, checkoutRevision: number, target: number, listed: boolean): boolean {
  return revision !== undefined && revision > checkoutRevision && revision <= target && !listed;
}
