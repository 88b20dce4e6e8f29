/**
 * `move`: svn's move — a copy of SRC to DST (working content with its local edits, and its
 * `@@meta` files; see copy.ts) scheduled for addition, then SRC scheduled for removal and
 * deleted (see remove.ts). Refused before anything changes when SRC, or anything inside it, is in
 * conflict, missing or obstructed, or when a folder holds files zsync does not track (unversioned,
 * ignored, stray metadata), which a move would leave behind or lose. Local edits are not a reason
 * to refuse: they travel with the copy.
 */
import { readdir } from "node:fs/promises";
import { join, sep } from "node:path";
import { WcError } from "./admin.js";
import { lstatOrNone } from "./add.js";
import { copy, type CopyResult } from "./copy.js";
import { entriesUnder } from "./entries.js";
import { META_DIR, objectOfMetaFile } from "./meta-files.js";
import { remove, type RemoveResult } from "./remove.js";
import type { WorkingCopy } from "./session.js";

export interface MoveOptions {
  /** Checkout path of the versioned source. */
  src: string;
  /** Checkout path of the destination (or of an existing versioned folder to move into). */
  dst: string;
}

export interface MoveResult {
  copied: CopyResult;
  removed: RemoveResult;
}

/** Moves `opts.src` to `opts.dst`: copy + scheduled removal, or nothing at all. */
export async function move(wc: WorkingCopy, opts: MoveOptions): Promise<MoveResult> {
  const { src } = opts;
  if (src === "") throw new WcError("move-root", "can't move the checkout root");
  const entries = wc.entries.entries;
  const source = entries.get(src);
  if (!source) throw new WcError("unversioned", `can't move '${src}': it is not under version control (a plain \`mv\` will do)`);
  if (source.schedule === "removed") throw new WcError("removed", `can't move '${src}': it is scheduled for removal`);
  const blockers: string[] = [];
  for (const path of [src, ...entriesUnder(entries, src)]) {
    const entry = entries.get(path)!;
    if (entry.schedule === "removed") continue;
    if (entry.conflict) blockers.push(`  C  ${path}  (in conflict: resolve it first)`);
    const s = await lstatOrNone(join(wc.root, path));
    const ok = entry.kind === "folder" ? s?.isDirectory() : s?.isFile();
    if (!ok) blockers.push(`  ${s ? "~" : "!"}  ${path}  (${s ? "obstructed" : "missing"} on disk)`);
  }
  if (source.kind === "folder") {
    for (const path of await untrackedUnder(wc, src)) blockers.push(`  ?  ${path}  (not under version control: move or delete it first)`);
  }
  if (blockers.length > 0) throw new WcError("move-refused", `nothing moved: '${src}' holds paths a move would lose or leave behind:\n${blockers.join("\n")}`);
  const copied = await copy(wc, opts);
  // Everything under SRC is versioned and now copied (edits included), so forcing loses nothing.
  const removed = await remove(wc, { paths: [src], force: true });
  return { copied, removed };
}

/** Files and folders under the folder `src` that are neither versioned nor a versioned object's metadata file. */
async function untrackedUnder(wc: WorkingCopy, src: string): Promise<string[]> {
  const entries = wc.entries.entries;
  const tracked = (path: string) => {
    const entry = entries.get(path);
    return entry !== undefined && entry.schedule !== "removed";
  };
  const found: string[] = [];
  const names = (await readdir(join(wc.root, src), { recursive: true })) as string[];
  for (const name of names.sort()) {
    const path = `${src}/${name.split(sep).join("/")}`;
    if (tracked(path)) continue;
    if (path.split("/").pop() === META_DIR) continue;
    const object = objectOfMetaFile(path);
    if (object !== undefined && tracked(object)) continue;
    if (found.some((f) => path.startsWith(f + "/"))) continue;
    found.push(path);
  }
  return found;
}
