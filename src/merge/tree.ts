/**
 * The tree reconciler: what `zsync update` does with one path at the level of *kinds* (file,
 * folder, nothing) before the per-kind tables ({@link decideFile}, {@link decideDir}) decide the
 * content. A pure function of (BASE entry, what is on disk, the schedule, the incoming change).
 *
 * Rules, first match wins (svn's names of the tree-conflict cases in brackets; docs/TREE-CONFLICTS.md):
 *
 * | # | situation | step |
 * |---|---|---|
 * | 1 | a conflict is recorded on the path | sticky (skip the path and what is inside) |
 * | 2 | incoming delete | per-kind (the tables keep edits as tree conflicts) |
 * | 3 | no entry, nothing on disk or the same kind on disk | per-kind |
 * | 4 | no entry, the other kind on disk [local unversioned, incoming add] | tree conflict, local kept |
 * | 5 | scheduled `added`, same kind as the incoming add | per-kind (add/add merge) |
 * | 6 | scheduled `added`, other kind [local add, incoming add] | tree conflict, local kept |
 * | 7 | BASE of the incoming kind, the other kind on disk [local obstruction, incoming edit] | tree conflict, local kept |
 * | 8 | BASE of the incoming kind | per-kind |
 * | 9 | BASE of the other kind, scheduled `removed`, gone from disk [local delete, incoming replace] | replace |
 * | 10 | BASE of the other kind, nothing changed at or under the path | replace |
 * | 11 | BASE of the other kind, local changes (or removed but kept on disk) [local edit, incoming replace] | tree conflict, local kept |
 *
 * "Local kept" means: nothing on disk changes; the local object (and everything inside a folder)
 * becomes a local addition that *replaces* the server's object, and the conflict is recorded on
 * the path. `resolve --accept working` keeps that (the next commit replaces the server's object),
 * `--accept theirs-full` saves the local object as `.orig` and the next update brings the server's.
 */

/** A kind on one side, or nothing. */
export type KindOrNone = "file" | "folder" | "none";

/** Everything the tree reconciler needs to know about one path the server changed. */
export interface TreeSituation {
  /** The BASE entry's kind; `none` when the path has no BASE (unversioned, or scheduled `added`). */
  base: KindOrNone;
  /** The entry's kind when it is scheduled for addition without a BASE. */
  added?: "file" | "folder";
  /** The entry is scheduled for removal. */
  removed?: boolean;
  /** A conflict is recorded on the path. */
  conflicted?: boolean;
  /** What is on disk at the path. */
  disk: KindOrNone;
  /** Anything at or under the path differs from BASE: edits, metadata, additions, unversioned files. */
  localChanges: boolean;
  /** The server's object after the change, or `deleted`. */
  incoming: "file" | "folder" | "deleted";
}

/** What to do with the path. */
export type TreeStep =
  /** Leave the path and everything inside it alone (a recorded conflict blocks it). */
  | { step: "sticky" }
  /** Same kinds on both sides: the per-kind table decides. */
  | { step: "per-kind" }
  /** Remove the local object (unchanged, or scheduled for removal), then bring the server's. */
  | { step: "replace" }
  /** Keep the local object, make it a local addition replacing the server's, record the conflict. */
  | { step: "tree-conflict"; reason: string };

/** The reasons of the tree conflicts {@link reconcileTree} records (the ones `resolve` recognises). */
export const TREE_CONFLICT_REASONS = {
  obstructedUnversioned: (local: "file" | "folder", incoming: "file" | "folder") =>
    `obstructed: an unversioned ${local} is in the way of the server's ${incoming}`,
  addedBothSides: (local: "file" | "folder", incoming: "file" | "folder") => `added locally as a ${local}, added on the server as a ${incoming}`,
  obstructedVersioned: (local: "file" | "folder", incoming: "file" | "folder") =>
    `replaced locally by a ${local}, changed on the server as a ${incoming}`,
  editedReplaced: (incoming: "file" | "folder") => `changed locally, replaced on the server by a ${incoming}`,
} as const;

const KEEP_LOCAL_PATTERNS = [
  /^obstructed: an unversioned (file|folder) is in the way of the server's (file|folder)$/,
  /^added locally as a (file|folder), added on the server as a (file|folder)$/,
  /^replaced locally by a (file|folder), changed on the server as a (file|folder)$/,
  /^changed locally, replaced on the server by a (file|folder)$/,
  // The wording of zsync before issue 10, still found in older checkouts' entries.
  /^replaced on the server by a (file|folder), but changed locally$/,
];

/**
 * True for a tree conflict of two kinds on one path, where the local object was kept as a local
 * addition: `theirs-full` saves it aside and drops its entries; the next update brings the server's.
 */
export function isKindClash(reason: string | undefined): boolean {
  return reason !== undefined && KEEP_LOCAL_PATTERNS.some((p) => p.test(reason));
}

/** The tree step for one path; see the module documentation for the table. */
export function reconcileTree(s: TreeSituation): TreeStep {
  if (s.conflicted) return { step: "sticky" };
  if (s.incoming === "deleted") return { step: "per-kind" };
  const incoming = s.incoming;
  if (s.base === "none") {
    if (s.added !== undefined) {
      return s.added === incoming ? { step: "per-kind" } : conflict(TREE_CONFLICT_REASONS.addedBothSides(s.added, incoming));
    }
    if (s.disk === "none" || s.disk === incoming) return { step: "per-kind" };
    return conflict(TREE_CONFLICT_REASONS.obstructedUnversioned(s.disk, incoming));
  }
  if (s.base === incoming) {
    if (s.disk !== "none" && s.disk !== s.base && !s.removed) return conflict(TREE_CONFLICT_REASONS.obstructedVersioned(s.disk, incoming));
    return { step: "per-kind" };
  }
  if ((s.removed && s.disk === "none") || (!s.removed && !s.localChanges)) return { step: "replace" };
  return conflict(TREE_CONFLICT_REASONS.editedReplaced(incoming));
}

function conflict(reason: string): TreeStep {
  return { step: "tree-conflict", reason };
}
