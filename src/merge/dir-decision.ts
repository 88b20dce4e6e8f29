/**
 * What `zsync update` does with one directory, as a pure function of its situation.
 *
 * zsync's directory merge (reference `zsync.md` §5.6) with its data-loss bug fixed. The rules,
 * first match wins:
 *
 * | # | situation | action | report |
 * |---|---|---|---|
 * | 1 | no BASE, scheduled `added`, not on the server | nothing | A |
 * | 2 | no BASE, scheduled `added`, on the server | create (adopts the local directory) | U |
 * | 3 | no BASE, no local directory, new on the server | create | N |
 * | 4 | no BASE, unversioned local directory, new on the server | create (adopts it) | U |
 * | 5 | no BASE, not on the server | nothing | – |
 * | 6 | scheduled `removed`, still on the server | nothing | R |
 * | 7 | scheduled `removed`, deleted on the server | forget | D |
 * | 8 | directory lost locally, on the server | create | N |
 * | 9 | directory lost locally, deleted on the server | forget | D |
 * | 10 | present, on the server | nothing (descend) | – |
 * | 11 | present, deleted on the server, holds local changes | tree-conflict | C |
 * | 12 | present, deleted on the server, no local changes | delete | D |
 *
 * `create` means: make sure the directory exists and record the server's entry as its BASE
 * (clearing `added`); files inside are decided one by one afterwards. `delete` removes the
 * directory, its entries and its (unmodified) files; `forget` removes only the entries.
 *
 * Where this differs from zsync:
 * - 11: zsync deletes every registered child of a directory removed on the server, edited files
 *   included (bug §8-3); here a directory that holds modified, added or unversioned files anywhere
 *   inside is kept whole and a tree conflict is recorded.
 * - 4: zsync adopts an unversioned directory silently; here it is reported `U`.
 * - 5: zsync reports an unversioned directory as `?`; the update report says nothing (status
 *   shows it).
 * - 7 with the directory still on disk: only the entries are forgotten; anything left stays
 *   unversioned.
 *
 * A `schedule` of `added` on a directory that has a BASE is treated like no schedule; `removed`
 * without a BASE is ignored.
 */

/** Everything the update decision needs to know about one directory path. */
export interface DirSituation {
  /** The directory exists in the working copy. */
  local: "absent" | "present";
  /** The directory was checked out (it has an entry with a BASE). */
  base: boolean;
  /** The directory exists on the server. */
  remote: "absent" | "present";
  /** Local schedule flag. */
  schedule?: "added" | "removed";
  /** Modified, added or unversioned files anywhere inside the local directory. */
  holdsLocalChanges: boolean;
}

/** What to do with one directory path during update, and the letter to report. */
export interface DirAction {
  action: "nothing" | "create" | "delete" | "forget" | "tree-conflict";
  report?: "N" | "D" | "C" | "A" | "R" | "U";
  /** Why, for tree conflicts. */
  reason?: string;
}

/** Reasons of the tree conflicts {@link decideDir} reports. */
export const DIR_CONFLICT_REASONS = {
  deletedRemotelyWithLocalChanges: "deleted on the server, but holds local changes",
} as const;

/** The update decision for one directory path; see the module documentation for the full table. */
export function decideDir(s: DirSituation): DirAction {
  const localPresent = s.local === "present";
  const remotePresent = s.remote === "present";

  if (!s.base) {
    if (s.schedule === "added") {
      return remotePresent ? { action: "create", report: "U" } : { action: "nothing", report: "A" };
    }
    if (!remotePresent) return { action: "nothing" };
    return { action: "create", report: localPresent ? "U" : "N" };
  }

  if (s.schedule === "removed") {
    return remotePresent ? { action: "nothing", report: "R" } : { action: "forget", report: "D" };
  }
  if (!localPresent) {
    return remotePresent ? { action: "create", report: "N" } : { action: "forget", report: "D" };
  }
  if (remotePresent) return { action: "nothing" };
  if (s.holdsLocalChanges) {
    return { action: "tree-conflict", report: "C", reason: DIR_CONFLICT_REASONS.deletedRemotelyWithLocalChanges };
  }
  return { action: "delete", report: "D" };
}
