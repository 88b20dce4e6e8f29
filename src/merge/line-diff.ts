/**
 * Line diffs of two versions of a file, the way `svn diff` shows them: jsdiff's hunks with svn's
 * numbering, and the decision whether the bytes can be shown as text at all. Pure: used by the
 * working copy's `diff`, the server's revision diffs and the /manage page.
 */
import { createRequire } from "node:module";
import type { ObjectKind } from "../protocol/types.js";
import { decodeUtf8Exactly, isTextContentType, looksBinary } from "./binary.js";

/** One hunk; the numbers are exactly those of its `@@ -oldStart,oldLines +newStart,newLines @@` line. */
export interface DiffHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** Lines with their ` `/`-`/`+` prefix, no line ends; `\ No newline at end of file` markers included. */
  lines: string[];
}

/** The difference of one file (svn diff's unit; also the wire form of `@@diff`): an object's content, or its metadata file. */
export interface FileDiff {
  /** Checkout path of the file compared: the object itself, or its `@@meta/<name>.json`. */
  path: string;
  /** Checkout path of the object (for `meta`, the object the metadata belongs to). */
  object: string;
  objectKind: ObjectKind;
  kind: "content" | "meta";
  /** `added`: no BASE (compared with nothing); `removed`: scheduled for removal (compared with nothing). */
  change: "modified" | "added" | "removed";
  /** True when the content is not shown (binary by content type or by content); `hunks` is then empty. */
  binary: boolean;
  /** The BASE revision of the object (absent for `added`); for a diff between revisions, the old revision. */
  revision?: number;
  /** For a diff between revisions: the new side's revision (absent: the working copy). */
  newRevision?: number;
  /** The content type that made the file binary, if one did. */
  contentType?: string;
  hunks: DiffHunk[];
}

/** jsdiff's hunks, with the start numbers as a unified diff header shows them. */
export function hunksOf(before: string, after: string, context: number): DiffHunk[] {
  if (before === after) return [];
  // jsdiff is loaded on first use, so commands that never diff do not pay for it.
  const { structuredPatch } = createRequire(import.meta.url)("diff") as typeof import("diff");
  const patch = structuredPatch("a", "b", before, after, undefined, undefined, { context });
  return patch.hunks.map((h) => ({
    // An empty range is shown starting at the line before it (0 for "nothing").
    oldStart: h.oldLines === 0 ? h.oldStart - 1 : h.oldStart,
    oldLines: h.oldLines,
    newStart: h.newLines === 0 ? h.newStart - 1 : h.newStart,
    newLines: h.newLines,
    lines: [...h.lines],
  }));
}

/**
 * Both versions as text, or `binary` when either cannot be shown: a content type that is not
 * text, NUL bytes or invalid UTF-8 (when the content type does not decide).
 */
export function textPair(before: Uint8Array, after: Uint8Array, contentType: string | undefined): { binary: true; declared: boolean } | { binary: false; before: string; after: string } {
  const declared = isTextContentType(contentType);
  const oldText = decodeUtf8Exactly(before);
  const newText = decodeUtf8Exactly(after);
  if (declared === false) return { binary: true, declared: true };
  if ((declared === undefined && (looksBinary(before) || looksBinary(after))) || oldText === undefined || newText === undefined) return { binary: true, declared: false };
  return { binary: false, before: oldText, after: newText };
}
