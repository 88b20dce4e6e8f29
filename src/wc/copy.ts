/**
 * `copy`: copies a versioned file or folder inside the checkout — working content (local edits
 * included, like svn) and `@@meta` files — and schedules the copy for addition. Only versioned
 * paths are copied: unversioned files inside a folder stay behind. When DST is an existing
 * versioned folder the copy goes inside it under SRC's name (svn); otherwise DST must not exist.
 */
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { baseName, parentPath } from "../protocol/paths.js";
import type { ObjectKind } from "../protocol/types.js";
import { WcError } from "./admin.js";
import { checkObjectPath, lstatOrNone, requireVersionedFolder } from "./add.js";
import { entriesUnder, type Entry } from "./entries.js";
import { runJournalOn, type JournalReport, type JournalStep } from "./journal.js";
import { builtinTypeOf, noteTitleOf } from "../merge/content-kinds.js";
import { formatMeta, metaFileOf, readWorkingMeta } from "./meta-files.js";
import { storePristine } from "./pristine.js";
import type { WorkingCopy } from "./session.js";

export interface CopyOptions {
  /** Checkout path of the versioned source. */
  src: string;
  /** Checkout path of the destination (or of an existing versioned folder to copy into). */
  dst: string;
}

export interface CopiedPath {
  path: string;
  kind: ObjectKind;
  /** The source path it was copied from. */
  from: string;
  /** The metadata file copied with it, relative to the root. */
  metaFile?: string;
}

export interface CopyResult {
  /** The destination actually used (inside DST when DST is a folder). */
  destination: string;
  copied: CopiedPath[];
  /** Versioned paths inside SRC that could not be copied (missing or obstructed on disk). */
  skipped: { path: string; message: string }[];
  savedAside: JournalReport["savedAside"];
}

/** Copies `opts.src` to `opts.dst` and schedules the copy for addition. */
export async function copy(wc: WorkingCopy, opts: CopyOptions): Promise<CopyResult> {
  const entries = wc.entries.entries;
  const { src } = opts;
  if (src === "") throw new WcError("copy-root", "can't copy the checkout root");
  const source = entries.get(src);
  if (!source) throw new WcError("unversioned", `can't copy '${src}': it is not under version control`);
  if (source.schedule === "removed") throw new WcError("removed", `can't copy '${src}': it is scheduled for removal`);
  const srcStat = await lstatOrNone(join(wc.root, src));
  const srcOk = source.kind === "folder" ? srcStat?.isDirectory() : srcStat?.isFile();
  if (!srcOk) throw new WcError("missing", `can't copy '${src}': it is ${srcStat ? "obstructed (not a " + source.kind + ")" : "missing"} on disk`);

  let dst = opts.dst;
  const into = entries.get(dst);
  if (into?.kind === "folder" && into.schedule !== "removed" && (await lstatOrNone(join(wc.root, dst)))?.isDirectory()) {
    dst = dst === "" ? baseName(src) : `${dst}/${baseName(src)}`;
  }
  checkObjectPath(dst, "copy to");
  if (dst === src || dst.startsWith(src + "/")) throw new WcError("copy-into-itself", `can't copy '${src}' into itself ('${dst}')`);
  if (entries.has(dst)) throw new WcError("exists", `can't copy to '${dst}': it is already under version control`);
  if (await lstatOrNone(join(wc.root, dst))) throw new WcError("exists", `can't copy to '${dst}': it already exists`);
  await requireVersionedFolder(wc, parentPath(dst), `can't copy to '${dst}'`);

  const result: CopyResult = { destination: dst, copied: [], skipped: [], savedAside: [] };
  const steps: JournalStep[] = [];
  const journalEntries: Record<string, Entry> = {};
  const skippedFolders: string[] = [];
  for (const path of [src, ...entriesUnder(entries, src)]) {
    const entry = entries.get(path)!;
    if (entry.schedule === "removed") continue;
    if (skippedFolders.some((f) => path.startsWith(f + "/"))) continue;
    const absolute = join(wc.root, path);
    const s = await lstatOrNone(absolute);
    const ok = entry.kind === "folder" ? s?.isDirectory() : s?.isFile();
    if (!ok) {
      result.skipped.push({ path, message: `'${path}' is ${s ? "obstructed" : "missing"} on disk; not copied` });
      if (entry.kind === "folder") skippedFolders.push(path);
      continue;
    }
    const target = dst + path.slice(src.length);
    if (entry.kind === "folder") {
      steps.push({ do: "mkdir", path: target });
    } else {
      const { hash } = await storePristine(wc.root, createReadStream(absolute));
      steps.push({ do: "write", path: target, hash, expect: "absent" });
    }
    const copied: CopiedPath = { path: target, kind: entry.kind, from: path };
    const metaSource = join(wc.root, metaFileOf(path));
    if ((await lstatOrNone(metaSource))?.isFile()) {
      copied.metaFile = metaFileOf(target);
      const { meta } = await readWorkingMeta(wc.root, path);
      if (meta && builtinTypeOf(meta.contentType) === "note" && meta.extra?.title === noteTitleOf(path)) {
        // A note named by its file: the copy's title is its new name (copy + remove renames the note).
        steps.push({ do: "write-text", path: copied.metaFile, text: formatMeta({ ...meta, extra: { ...meta.extra, title: noteTitleOf(target) } }), expect: "absent" });
      } else {
        const { hash } = await storePristine(wc.root, createReadStream(metaSource));
        steps.push({ do: "write", path: copied.metaFile, hash, expect: "absent" });
      }
    }
    journalEntries[target] = { kind: entry.kind, schedule: "added" };
    result.copied.push(copied);
  }
  result.savedAside = (await runJournalOn(wc, { command: "copy", steps, entries: journalEntries })).savedAside;
  return result;
}
