/**
 * What `zsync update` does with one file, as a pure function of its situation.
 *
 * This is zsync's classification (reference `zsync.md` §5.1/§5.2) with the cases that lose data
 * fixed. The rules, first match wins:
 *
 * | # | situation | action | report |
 * |---|---|---|---|
 * | 1 | conflict recorded in the entry (sticky) | nothing | C |
 * | 2 | no BASE, scheduled `added`, nothing on the server | nothing | A |
 * | 3 | no BASE, scheduled `added`, on the server, same content | adopt | U |
 * | 4 | no BASE, scheduled `added`, on the server, different content | merge (empty base) | G (→ C) |
 * | 5 | no BASE, scheduled `added` but the file is gone, on the server | take-remote | U |
 * | 6 | no BASE, unversioned file, nothing on the server | nothing | ? |
 * | 7 | no BASE, no file, new on the server | take-remote | U |
 * | 8 | no BASE, unversioned file, new on the server, same content | adopt | U |
 * | 9a | no BASE, unversioned file cut short by an interrupted checkout, new on the server | take-remote | U |
 * | 9 | no BASE, unversioned file, new on the server, different content | tree-conflict (obstructed) | C |
 * | 10 | scheduled `removed`, deleted on the server too | forget | D |
 * | 11 | scheduled `removed`, unchanged on the server | nothing | R |
 * | 12 | scheduled `removed`, changed on the server | tree-conflict | C |
 * | 13 | file lost locally, deleted on the server | forget | D |
 * | 14 | file lost locally, on the server | take-remote | U |
 * | 15 | unmodified, unchanged on the server | nothing | – |
 * | 16 | unmodified, changed on the server | take-remote | U |
 * | 17 | unmodified, deleted on the server | delete | D |
 * | 18 | modified, unchanged on the server | nothing | M |
 * | 19 | modified, changed on the server to the same content | adopt | U |
 * | 20 | modified, changed on the server | merge | G (→ C) |
 * | 21 | modified, deleted on the server | tree-conflict | C |
 *
 * Where this differs from zsync:
 * - 21: zsync deletes the file and its edits (its rule 6, bug §8-3); here the file is kept and a
 *   tree conflict "edited locally, deleted on the server" is recorded.
 * - 9: zsync copies the server's file over the unversioned one (rule 4); here it is kept and a
 *   tree conflict "obstructed" is recorded.
 * - 12: zsync reports C without recording anything, and repeats it on every update (bug §8-19);
 *   here it is a recorded tree conflict that `zsync resolve` clears.
 * - 10 with the file still on disk: zsync deletes it; here only the entry is forgotten and the
 *   file stays as an unversioned file.
 * - 4 (added on both sides, different content): like zsync's rule 3d, a text merge against an
 *   empty base, which always gives a conflict block around the differing files — the caller
 *   writes markers and artifacts, or for binary content records a conflict and keeps the local
 *   file. We chose this over svn's tree conflict because the markers show both versions in place.
 * - 1: zsync silently clears a sticky conflict whose working file was deleted; here the conflict
 *   stays until `zsync resolve`. As in zsync (bug §8-22), a conflicted file's BASE is not advanced
 *   by later updates until it is resolved.
 * - 5: zsync tries to merge a missing file; here the server's file is simply written.
 * - 9a (no zsync counterpart): an update that finishes an interrupted checkout finds the files
 *   the checkout was writing when it stopped. One that holds the start of the server's content
 *   (fewer bytes) is completed: its bytes are all in what replaces it. Anything else is rule 9.
 *
 * A `schedule` of `added` on a path that has a BASE (re-added after a removal) is treated like no
 * schedule; a `schedule` of `removed` without a BASE is ignored. Without a BASE, `local:
 * "unchanged"` counts as present and `remote: "unchanged"` as present on the server.
 */

/** Everything the update decision needs to know about one file path. */
export interface FileSituation {
  /** Working file vs BASE; for a file with no BASE: `"absent"`, or `"modified"` meaning present. */
  local: "absent" | "unchanged" | "modified";
  /** A BASE exists (the path was checked out). */
  base: boolean;
  /** Server vs BASE; `"changed"` also for a file new on the server when `base` is false. */
  remote: "absent" | "unchanged" | "changed";
  /** Local schedule flag. */
  schedule?: "added" | "removed";
  /** A sticky conflict is recorded in the entry. */
  conflicted?: boolean;
  /** The working content equals the server's content (meaningful when both exist). */
  sameContent?: boolean;
  /**
   * No BASE and no schedule: the working file holds the start (fewer bytes) of the server's
   * content, and the update finishes an interrupted checkout — a file it was writing when stopped.
   */
  cutShort?: boolean;
}

/** What to do with one file path during update, and the letter to report. */
export type FileAction =
  /** Keep everything as is; the optional report is the state shown (or nothing to say). */
  | { action: "nothing"; report?: "M" | "A" | "R" | "C" | "?" }
  /** Write the server's content as the working file and record it as the new BASE. */
  | { action: "take-remote"; report: "U" }
  /**
   * Three-way text merge of the working file with the server's content over BASE (empty BASE when
   * there is none); the caller reports `C` instead of `G` when the merge conflicts, and records a
   * conflict without merging when the content is binary.
   */
  | { action: "merge"; report: "G" | "C" }
  /** The working file already equals the server's: just record the new BASE and clear `added`. */
  | { action: "adopt"; report: "U" }
  /** Remove the unmodified working file and its entry. */
  | { action: "delete"; report: "D" }
  /** Remove the entry only (the file is already gone locally, or is left unversioned). */
  | { action: "forget"; report: "D" }
  /** Keep the local data untouched and record a tree conflict with this reason. */
  | { action: "tree-conflict"; report: "C"; reason: string };

/** Reasons of the tree conflicts {@link decideFile} reports. */
export const FILE_CONFLICT_REASONS = {
  editedLocallyDeletedRemotely: "edited locally, deleted on the server",
  removedLocallyChangedRemotely: "removed locally, changed on the server",
  obstructedByUnversionedFile: "obstructed: an unversioned file is in the way",
} as const;

/** The update decision for one file path; see the module documentation for the full table. */
export function decideFile(s: FileSituation): FileAction {
  if (s.conflicted) return { action: "nothing", report: "C" };
  return s.base ? decideVersionedFile(s) : decideFileWithoutBase(s);
}

/** Rules 2–9: the path has no BASE (locally added, unversioned, or new on the server). */
function decideFileWithoutBase(s: FileSituation): FileAction {
  const localPresent = s.local !== "absent";
  const remotePresent = s.remote !== "absent";

  if (s.schedule === "added") {
    if (!remotePresent) return { action: "nothing", report: "A" };
    if (!localPresent) return { action: "take-remote", report: "U" };
    if (s.sameContent) return { action: "adopt", report: "U" };
    return { action: "merge", report: "G" };
  }

  if (!remotePresent) return localPresent ? { action: "nothing", report: "?" } : { action: "nothing" };
  if (!localPresent) return { action: "take-remote", report: "U" };
  if (s.sameContent) return { action: "adopt", report: "U" };
  if (s.cutShort) return { action: "take-remote", report: "U" };
  return treeConflict(FILE_CONFLICT_REASONS.obstructedByUnversionedFile);
}

/** Rules 10–21: the path was checked out and has a BASE. */
function decideVersionedFile(s: FileSituation): FileAction {
  if (s.schedule === "removed") {
    if (s.remote === "absent") return { action: "forget", report: "D" };
    if (s.remote === "unchanged") return { action: "nothing", report: "R" };
    return treeConflict(FILE_CONFLICT_REASONS.removedLocallyChangedRemotely);
  }

  switch (s.local) {
    case "absent":
      return s.remote === "absent" ? { action: "forget", report: "D" } : { action: "take-remote", report: "U" };
    case "unchanged":
      if (s.remote === "unchanged") return { action: "nothing" };
      if (s.remote === "changed") return { action: "take-remote", report: "U" };
      return { action: "delete", report: "D" };
    case "modified":
      if (s.remote === "unchanged") return { action: "nothing", report: "M" };
      if (s.remote === "absent") return treeConflict(FILE_CONFLICT_REASONS.editedLocallyDeletedRemotely);
      if (s.sameContent) return { action: "adopt", report: "U" };
      return { action: "merge", report: "G" };
  }
}

function treeConflict(reason: string): FileAction {
  return { action: "tree-conflict", report: "C", reason };
}
