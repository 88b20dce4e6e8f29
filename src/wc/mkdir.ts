/**
 * `mkdir`: creates folders and schedules them for addition. The parent must be a versioned
 * folder (or one created by the same command); on any error nothing is changed.
 */
import { join } from "node:path";
import { parentPath } from "../protocol/paths.js";
import { WcError } from "./admin.js";
import { checkObjectPath, lstatOrNone, requireVersionedFolder } from "./add.js";
import type { Entry } from "./entries.js";
import { runJournalOn, type JournalReport, type JournalStep } from "./journal.js";
import type { WorkingCopy } from "./session.js";

export interface MkdirOptions {
  /** Checkout paths of the folders to create. */
  paths: string[];
}

export interface MkdirResult {
  created: { path: string; kind: "folder" }[];
  savedAside: JournalReport["savedAside"];
}

/** Creates and schedules the folders `opts.paths`, in order (so `a a/b` works). */
export async function mkdir(wc: WorkingCopy, opts: MkdirOptions): Promise<MkdirResult> {
  const created: string[] = [];
  for (const path of opts.paths) {
    if (path === "") throw new WcError("exists", "can't create the checkout root: it exists");
    if (created.includes(path)) throw new WcError("exists", `can't create '${path}': named twice`);
    checkObjectPath(path, "create");
    const entry = wc.entries.entries.get(path);
    if (entry) {
      const why = entry.schedule === "removed" ? "it is scheduled for removal (commit that first, or zsync revert it)" : "it is already under version control";
      throw new WcError("exists", `can't create '${path}': ${why}`);
    }
    if (await lstatOrNone(join(wc.root, path))) throw new WcError("exists", `can't create '${path}': it already exists (zsync add it instead)`);
    const parent = parentPath(path);
    if (!created.includes(parent)) await requireVersionedFolder(wc, parent, `can't create '${path}'`);
    created.push(path);
  }
  const steps: JournalStep[] = created.map((path) => ({ do: "mkdir", path }));
  const entries: Record<string, Entry> = {};
  for (const path of created) entries[path] = { kind: "folder", schedule: "added" };
  let savedAside: JournalReport["savedAside"] = [];
  if (created.length > 0) {
    ({ savedAside } = await runJournalOn(wc, { command: "mkdir", steps, entries }));
  }
  return { created: created.map((path) => ({ path, kind: "folder" as const })), savedAside };
}
