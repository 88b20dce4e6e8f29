/**
 * `diff`: what the working files changed against BASE, as unified diffs in svn's layout. Purely
 * local (BASE copies come from the pristine store), never writes to the checkout.
 *
 * The line diff itself is jsdiff's (`structuredPatch`); this module decides what to compare
 * (content, and metadata as the text of `@@meta/<name>.json`), detects binary content, and
 * formats the result the way `svn diff` does.
 */
import { readCheckoutFile } from "./safe-path.js";
import { hunksOf, type DiffHunk, type FileDiff } from "../merge/line-diff.js";
import { decodeUtf8Exactly, isTextContentType, looksBinary } from "../merge/binary.js";
import { WcError } from "./admin.js";
import type { Entry } from "./entries.js";
import { formatMeta, metaFileOf, objectOfMetaFile } from "./meta-files.js";
import { readPristine } from "./pristine.js";
import { scanWorkingCopy, type PathStatus } from "./scan.js";
import type { WorkingCopy } from "./session.js";

/** Lines of context around each change (svn's and GNU diff's default). */
export const DEFAULT_CONTEXT = 3;

export type { DiffHunk, FileDiff };

export interface DiffOptions {
  /** Checkout paths to compare (folders recursively; a `@@meta/…json` path means that metadata only). Default: everything. */
  paths?: string[];
  /** Lines of context (default {@link DEFAULT_CONTEXT}). */
  context?: number;
}

export interface DiffReport {
  files: FileDiff[];
}

interface Selection {
  /** Scan scope (object path). */
  scope: string;
  /** Only the metadata of exactly this object. */
  metaOnly: boolean;
}

/** Compares the working files of a checkout with BASE. Read-only; no network. */
export async function diff(wc: WorkingCopy, opts: DiffOptions = {}): Promise<DiffReport> {
  const { root } = wc;
  const entries = wc.entries.entries;
  const context = opts.context ?? DEFAULT_CONTEXT;
  if (!Number.isSafeInteger(context) || context < 0) throw new WcError("bad-context", `context must be a whole number of lines, not ${context}`, 2);

  const selections: Selection[] | undefined = opts.paths?.map((path) => {
    const object = objectOfMetaFile(path);
    if (object !== undefined && entries.has(object)) return { scope: object, metaOnly: true };
    if (!entries.has(path)) throw new WcError("not-versioned", `${path === "" ? "." : path} is not under version control; nothing to compare`);
    return { scope: path, metaOnly: false };
  });
  const scan = await scanWorkingCopy(root, entries, { within: selections?.map((s) => s.scope) });
  const selected = (path: string, kind: "content" | "meta") =>
    !selections ||
    selections.some((s) => (s.metaOnly ? kind === "meta" && path === s.scope : s.scope === "" || path === s.scope || path.startsWith(s.scope + "/")));

  const removedFolders = [...entries].filter(([, e]) => e.schedule === "removed" && e.kind === "folder").map(([p]) => p);
  const isRemoved = (path: string, entry: Entry) =>
    entry.schedule === "removed" || removedFolders.some((folder) => path.startsWith(folder === "" ? "" : folder + "/"));

  const files: FileDiff[] = [];
  for (const item of scan.items) {
    const entry = item.entry;
    if (!entry) continue; // unversioned
    const removed = isRemoved(item.path, entry);
    const added = !removed && entry.schedule === "added";
    if (selected(item.path, "content")) {
      const content = await contentDiff(wc, item, entry, { removed, added, context });
      if (content) files.push(content);
    }
    if (selected(item.path, "meta")) {
      const meta = await metaDiff(wc, item, entry, { removed, added, context });
      if (meta) files.push(meta);
    }
  }
  return { files };
}

async function contentDiff(
  wc: WorkingCopy,
  item: PathStatus,
  entry: Entry,
  how: { removed: boolean; added: boolean; context: number },
): Promise<FileDiff | undefined> {
  if (entry.kind !== "file") return undefined;
  let change: FileDiff["change"];
  let before: Buffer;
  let after: Buffer;
  if (how.removed) {
    if (entry.hash === undefined) return undefined;
    change = "removed";
    before = await readPristine(wc.root, entry.hash);
    after = Buffer.alloc(0);
  } else if (how.added || entry.hash === undefined) {
    if (item.kind !== "file" || item.workingHash === undefined) return undefined; // missing or obstructed
    change = "added";
    before = Buffer.alloc(0);
    after = await readCheckoutFile(wc.root, item.path);
  } else {
    // Modified (or in conflict): only a file that is there and differs has a diff to show.
    if (item.kind !== "file" || item.workingHash === undefined || item.workingHash === entry.hash) return undefined;
    change = "modified";
    before = await readPristine(wc.root, entry.hash);
    after = await readCheckoutFile(wc.root, item.path);
  }
  const contentType = (item.workingMeta ?? entry.meta)?.contentType;
  const declared = isTextContentType(contentType);
  const oldText = decodeUtf8Exactly(before);
  const newText = decodeUtf8Exactly(after);
  const binary =
    declared === false ||
    (declared === undefined && (looksBinary(before) || looksBinary(after))) ||
    oldText === undefined ||
    newText === undefined;
  const result: FileDiff = {
    path: item.path,
    object: item.path,
    objectKind: "file",
    kind: "content",
    change,
    binary,
    ...(change === "added" || entry.revision === undefined ? {} : { revision: entry.revision }),
    ...(binary && declared === false && contentType ? { contentType } : {}),
    hunks: binary ? [] : hunksOf(oldText!, newText!, how.context),
  };
  return result;
}

async function metaDiff(
  wc: WorkingCopy,
  item: PathStatus,
  entry: Entry,
  how: { removed: boolean; added: boolean; context: number },
): Promise<FileDiff | undefined> {
  const file = metaFileOf(item.path);
  const baseMeta = entry.schedule === "added" ? undefined : entry.meta;
  const baseText = baseMeta && Object.keys(baseMeta).length > 0 ? formatMeta(baseMeta) : "";
  let change: FileDiff["change"];
  let before: string;
  let after: string;
  if (how.removed) {
    if (baseText === "") return undefined;
    change = "removed";
    before = baseText;
    after = "";
  } else {
    const working = await readCheckoutFile(wc.root, file).catch(() => undefined);
    if (how.added) {
      if (working === undefined) return undefined;
      change = "added";
      before = "";
    } else {
      // Shown exactly when status reports a metadata change (semantic comparison, so a
      // reformatted but equal file is no change).
      if (item.meta !== "M") return undefined;
      change = baseText === "" ? "added" : working === undefined ? "removed" : "modified";
      before = baseText;
    }
    if (working !== undefined && decodeUtf8Exactly(working) === undefined) {
      return { path: file, object: item.path, objectKind: entry.kind, kind: "meta", change, binary: true, ...revisionOf(entry, change), hunks: [] };
    }
    after = working === undefined ? "" : decodeUtf8Exactly(working)!;
  }
  return { path: file, object: item.path, objectKind: entry.kind, kind: "meta", change, binary: false, ...revisionOf(entry, change), hunks: hunksOf(before, after, how.context) };
}

function revisionOf(entry: Entry, change: FileDiff["change"]): { revision?: number } {
  return change === "added" || entry.revision === undefined || entry.schedule === "added" ? {} : { revision: entry.revision };
}

/** Writes a range of a hunk header as GNU diff and svn do: `3` for one line, `3,4` otherwise, `2,0` for none. */
function range(start: number, lines: number): string {
  return lines === 1 ? String(start) : `${start},${lines}`;
}

/**
 * Formats one file's difference as `svn diff` prints it, `label` being the path shown:
 *
 * ```
 * Index: docs/guide.md
 * ===================================================================
 * --- docs/guide.md	(revision 3)
 * +++ docs/guide.md	(working copy)
 * @@ -1,3 +1,4 @@
 * ```
 *
 * Added files show `(nonexistent)` on the `---` side, removed ones on the `+++` side; binary
 * files show `Cannot display: file marked as a binary type.` instead of hunks.
 */
export function formatFileDiff(file: FileDiff, label: string = file.path): string {
  const out = [`Index: ${label}`, "==================================================================="];
  if (file.binary) {
    out.push("Cannot display: file marked as a binary type.");
    if (file.contentType) out.push(`content type: ${file.contentType}`);
  } else if (file.hunks.length > 0) {
    const oldSide = file.change === "added" ? "(nonexistent)" : `(revision ${file.revision ?? 0})`;
    const newSide = file.change === "removed" ? "(nonexistent)" : file.newRevision === undefined ? "(working copy)" : `(revision ${file.newRevision})`;
    out.push(`--- ${label}\t${oldSide}`, `+++ ${label}\t${newSide}`);
    for (const hunk of file.hunks) {
      out.push(`@@ -${range(hunk.oldStart, hunk.oldLines)} +${range(hunk.newStart, hunk.newLines)} @@`, ...hunk.lines);
    }
  }
  return out.join("\n") + "\n";
}
