/**
 * The one content merge planner of `update`, `merge` and `resolve`: given the three versions of
 * a file (BASE, mine, theirs) it says whether they are merged as text or kept side by side as
 * binary, what the working file becomes, and which versions go beside it as artifacts. Pure: the
 * callers read the bytes and turn the plan into journal steps.
 */
import { canMergeAsText } from "./binary.js";
import { mergeText, type MergeLabels } from "./text.js";

/** Above this total size the three versions are not text-merged (they are treated as binary). */
export const MAX_TEXT_MERGE_BYTES = 64 * 1024 * 1024;

/** The three versions of a file; `base` is absent for two independent additions (empty base). */
export interface ContentVersions {
  base?: Uint8Array;
  mine: Uint8Array;
  theirs: Uint8Array;
}

/** Which version an artifact beside the file holds. */
export type ArtifactVersion = "mine" | "base" | "theirs";

export type ContentMergePlan =
  /** Never merged: the working file stays; the other versions go beside it. */
  | { outcome: "binary"; beside: ArtifactVersion[] }
  /** A clean merge: the working file becomes `text` (`unchanged` when it already holds it). */
  | { outcome: "merged"; text: string; unchanged: boolean }
  /** Conflict regions: the working file becomes `text` (with markers); the versions go beside it. */
  | { outcome: "conflict"; text: string; regions: number; beside: ArtifactVersion[] };

/** Plans the three-way merge of `mine` and `theirs` over `base`. */
export function planContentMerge(versions: ContentVersions, opts: { labels: MergeLabels; contentType?: string }): ContentMergePlan {
  const base = versions.base ?? new Uint8Array(0);
  const hasBase = versions.base !== undefined;
  const textual =
    versions.mine.length + base.length + versions.theirs.length <= MAX_TEXT_MERGE_BYTES &&
    canMergeAsText(opts.contentType, [base, versions.mine, versions.theirs]);
  if (!textual) return { outcome: "binary", beside: hasBase ? ["base", "theirs"] : ["theirs"] };
  const decode = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  const mineText = decode(versions.mine);
  const merged = mergeText(decode(base), mineText, decode(versions.theirs), opts.labels);
  if (merged.clean) return { outcome: "merged", text: merged.text, unchanged: merged.text === mineText };
  return { outcome: "conflict", text: merged.text, regions: merged.conflicts, beside: hasBase ? ["mine", "base", "theirs"] : ["mine", "theirs"] };
}

/** The reason recorded for a text conflict. */
export function conflictRegionsReason(regions: number): string {
  return `${regions} conflicting region${regions === 1 ? "" : "s"}`;
}
