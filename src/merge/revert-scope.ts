/**
 * Whether `revert` may put one path back on its own, or only together with a folder above it.
 * Pure: the caller says what the entries and the disk hold.
 *
 * svn refuses to revert a path inside a deleted folder without that folder ("Can't revert 'd/z'
 * without reverting parent", E155038): the path's removal is part of the folder's. zsync does the
 * same, and also refuses when a folder above the path is something else than a folder on disk (the
 * user put a file in its place): writing the path there is impossible, and moving the user's file
 * away is for a revert of that folder to do (it keeps the file as `NAME.zsync-saved`).
 *
 * Reverting a scheduled addition writes nothing (the path only becomes unversioned), so it is
 * never refused.
 */
import type { KindOrNone } from "./tree.js";

/** A versioned folder above the path being reverted. */
export interface RevertAncestor {
  path: string;
  /** The folder's schedule, if any. */
  schedule?: "added" | "removed";
  /** What is on disk at the folder's path. */
  disk: KindOrNone;
  /** The same revert puts this folder back too. */
  reverted: boolean;
}

/** What reverting the path itself does. */
export interface RevertTarget {
  path: string;
  /** The path's schedule, if any. */
  schedule?: "added" | "removed";
}

/**
 * Why `target` cannot be reverted without a folder above it (undefined when it can).
 * `ancestors` are the versioned folders above it, any order.
 */
export function revertBlocker(target: RevertTarget, ancestors: RevertAncestor[]): string | undefined {
  if (target.schedule === "added") return undefined;
  // The outermost folder the user has to revert is the one to name.
  const outermostFirst = [...ancestors].sort((a, b) => a.path.length - b.path.length);
  for (const a of outermostFirst) {
    if (a.reverted) continue; // the same revert puts it back first (a folder again, its removal undone)
    if (a.schedule === "removed") {
      const instead = a.disk === "file" ? ` (the file now at '${a.path}' is kept as ${a.path}.zsync-saved)` : "";
      return `can't revert '${target.path}' without reverting its folder '${a.path}', which is scheduled for removal: run \`zsync revert ${a.path}\`${instead}`;
    }
    if (a.disk === "file") {
      return `can't revert '${target.path}': a file is where its folder '${a.path}' belongs; move that file away, or run \`zsync revert ${a.path}\` (which keeps it as ${a.path}.zsync-saved)`;
    }
  }
  return undefined;
}
