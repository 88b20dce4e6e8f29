/**
 * Which tracked paths are missing from disk — what `update` restores — without an lstat per
 * entry: a folder whose listing cache still holds (entries.ts `ListingCache`: same stat, same
 * number of tracked children, all of them on disk when it was recorded) has no missing child,
 * so one lstat of the folder answers for all of its children.
 */
import { lstatSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { childrenByParent, listingHolds, type Entry } from "./entries.js";

/** Tracked paths (never the root) that do not exist on disk (a symlink counts as existing). */
export function missingPaths(root: string, entries: Map<string, Entry>): string[] {
  const children = childrenByParent(entries.keys());
  const missing: string[] = [];
  const goneUnder = (folder: string) => {
    for (const child of children.get(folder) ?? []) {
      missing.push(child);
      goneUnder(child);
    }
  };
  const check = (folder: string, stats: BigIntStats) => {
    const listing = entries.get(folder)?.listing;
    const kids = children.get(folder) ?? [];
    const intact = listingHolds(listing, kids.length, stats);
    for (const child of kids) {
      // Under a listing that holds, every child is there: only those with tracked children of
      // their own (folders) need looking into. Entries are read only where needed (lazy-entries.ts).
      if (intact && !children.has(child)) continue;
      let s: BigIntStats | undefined;
      try {
        s = lstatSync(join(root, child), { bigint: true, throwIfNoEntry: false });
      } catch {
        s = undefined; // ENOTDIR: a file where a parent folder should be
      }
      if (!s) {
        missing.push(child);
        goneUnder(child);
      } else if (s.isDirectory() && entries.get(child)!.kind === "folder") {
        check(child, s);
      }
    }
  };
  check("", lstatSync(root, { bigint: true }));
  return missing;
}
