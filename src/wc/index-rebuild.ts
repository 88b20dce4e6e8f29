/**
 * Rebuilding a damaged `.zsync/index` (run by `zsync cleanup`): every record whose own CRC
 * holds is kept, stat caches are dropped (so status reads every file again and reports every
 * edit), and the damaged file is kept beside the new one for inspection. Working files are
 * never touched, so no edit is lost; a path whose record was lost shows as unversioned (`?`).
 */
import { copyFile, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { adminPaths } from "./admin.js";
import { entryProblem, refuseNewerIndex, saveEntries, type Entry } from "./entries.js";
import { decodeIndex, IndexCorruption, IndexFromNewerZsync, salvageIndex } from "./index-file.js";
import { hasPristine } from "./pristine.js";

/** What a rebuild did. */
export interface IndexRebuild {
  /** Entries kept. */
  kept: number;
  /** Damaged or invalid records dropped. */
  dropped: number;
  /** Where the damaged index was kept, relative to the checkout root. */
  damagedCopy: string;
  /** Files whose BASE copy is not in the pristine store (revert and diff need an update first). */
  missingBase: string[];
  /** The checkout revision recorded. */
  revision: number;
}

/** Rebuilds the index of the checkout at `root` when it cannot be read; undefined when it can (or is still in the old format). */
export async function rebuildIndexIfDamaged(root: string): Promise<IndexRebuild | undefined> {
  const paths = adminPaths(root);
  let bytes: Buffer;
  try {
    bytes = await readFile(paths.index);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    // No index: an old checkout is upgraded by loading it; with neither file, start from nothing.
    if (await stat(paths.entries).then(() => true, () => false)) return undefined;
    bytes = Buffer.alloc(0);
  }
  try {
    if (bytes.length > 0 && decodeIndex(bytes).entries.has("")) return undefined;
  } catch (error) {
    if (error instanceof IndexFromNewerZsync) refuseNewerIndex(paths.index, error);
    if (!(error instanceof IndexCorruption)) throw error;
  }
  const salvaged = salvageIndex(bytes);
  const entries = new Map<string, Entry>();
  let dropped = salvaged.damaged;
  for (const [path, entry] of salvaged.entries) {
    const { cache: _stale, metaCache: _staleMeta, ...kept } = entry;
    if (entryProblem(path, kept)) dropped++;
    else entries.set(path, kept);
  }
  const revision = salvaged.revision ?? 0;
  // Folders above a kept path whose own record was lost: the path needs its parent.
  for (const path of [...entries.keys()]) {
    for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
      const parent = path.slice(0, i);
      if (!entries.has(parent)) entries.set(parent, { kind: "folder", revision });
    }
  }
  const root0 = entries.get("");
  if (!root0 || root0.kind !== "folder") entries.set("", { kind: "folder", revision });
  const missingBase: string[] = [];
  for (const [path, entry] of entries) if (entry.hash && !(await hasPristine(root, entry.hash))) missingBase.push(path);

  const damagedCopy = join(".zsync", "index.damaged");
  if (bytes.length > 0) await copyFile(paths.index, join(root, damagedCopy));
  await saveEntries(root, { revision, entries });
  return { kept: entries.size, dropped, damagedCopy, missingBase: missingBase.sort(), revision };
}
