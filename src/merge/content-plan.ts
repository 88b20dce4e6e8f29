/**
 * The one content merge planner of `update`, `merge` and `resolve`: given the three versions of
 * a file (BASE, mine, theirs) it says whether they are merged as text or kept side by side as
 * binary, what the working file becomes, and which versions go beside it as artifacts. Pure: the
 * callers read the bytes and turn the plan into journal steps.
 */
import { canMergeAsText } from "./binary.js";
import { announcedTypeOf, type AnnouncedType, type ConflictPolicy, type MergeKind } from "./content-kinds.js";
import { mergeJson } from "./json.js";
import { mergeRecords, recordStamp } from "./records.js";
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
  | { outcome: "binary"; beside: ArtifactVersion[]; reason?: string }
  /** A conflict policy picked one version whole: the working file becomes (or stays) it. */
  | { outcome: "kept"; version: "mine" | "theirs"; reason: string }
  /** A clean merge: the working file becomes `text` (`unchanged` when it already holds it). */
  | { outcome: "merged"; text: string; unchanged: boolean }
  /** Conflict regions: the working file becomes `text` (with markers); the versions go beside it. */
  | { outcome: "conflict"; text: string; regions: number; beside: ArtifactVersion[]; reason?: string };

/** What else than the bytes the planner may weigh. */
export interface ContentPlanOptions {
  labels: MergeLabels;
  contentType?: string;
  /** The server's announced types (plug-ins among them): `contentType` picks the merge kind from them, else from the built-ins. */
  types?: readonly AnnouncedType[];
  /** How concurrent changes are settled (default `merge`); see docs/CONTENT-TYPES.md. */
  policy?: ConflictPolicy;
  /** Modification times (ms) for the `newest` policy, when the caller knows them; records use their REV/LAST-MODIFIED/DTSTAMP first. */
  times?: { mine?: number; theirs?: number };
}

/** Plans the three-way merge of `mine` and `theirs` over `base`. */
export function planContentMerge(versions: ContentVersions, opts: ContentPlanOptions): ContentMergePlan {
  const base = versions.base ?? new Uint8Array(0);
  const hasBase = versions.base !== undefined;
  const policy = opts.policy ?? "merge";
  const decode = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (policy === "mine" || policy === "theirs") return { outcome: "kept", version: policy, reason: `policy ${policy}` };
  const kind: MergeKind = announcedTypeOf(opts.contentType, opts.types)?.merge ?? "lines";
  if (policy === "newest") {
    const newer = newerSide(kind === "records" ? { mine: recordStamp(decode(versions.mine)), theirs: recordStamp(decode(versions.theirs)) } : {}, opts.times);
    if (newer) return { outcome: "kept", version: newer, reason: `policy newest: ${newer === "mine" ? "the working file" : "the server's version"} is newer` };
    return { outcome: "binary", beside: hasBase ? ["base", "theirs"] : ["theirs"], reason: "policy newest: neither version says when it changed, so both are kept" };
  }
  if (policy === "error") return { outcome: "binary", beside: hasBase ? ["base", "theirs"] : ["theirs"], reason: "policy error: changed on both sides, not merged" };
  const textual =
    kind !== "binary" &&
    versions.mine.length + base.length + versions.theirs.length <= MAX_TEXT_MERGE_BYTES &&
    canMergeAsText(opts.contentType, [base, versions.mine, versions.theirs]);
  if (!textual) return { outcome: "binary", beside: hasBase ? ["base", "theirs"] : ["theirs"] };
  const mineText = decode(versions.mine);
  if (kind === "json") {
    // Per key; a version that is not JSON falls back to the line merge below.
    const json = mergeJson(hasBase ? decode(base) : undefined, mineText, decode(versions.theirs));
    if (json?.clean) return { outcome: "merged", text: json.text, unchanged: json.text === mineText };
    if (json) {
      const beside: ArtifactVersion[] = hasBase ? ["mine", "base", "theirs"] : ["mine", "theirs"];
      return { outcome: "conflict", text: json.text, regions: json.conflicts.length, beside, reason: `conflicting keys: ${json.conflicts.join(", ")}` };
    }
  }
  if (kind === "records") {
    // Per property; a version that does not parse falls back to the line merge below.
    const records = mergeRecords(hasBase ? decode(base) : undefined, mineText, decode(versions.theirs));
    if (records?.clean) return { outcome: "merged", text: records.text, unchanged: records.text === mineText };
    if (records) {
      const beside: ArtifactVersion[] = hasBase ? ["mine", "base", "theirs"] : ["mine", "theirs"];
      return { outcome: "conflict", text: records.text, regions: records.conflicts.length, beside, reason: `conflicting properties: ${records.conflicts.join(", ")}` };
    }
  }
  const merged = mergeText(decode(base), mineText, decode(versions.theirs), opts.labels);
  if (merged.clean) return { outcome: "merged", text: merged.text, unchanged: merged.text === mineText };
  return { outcome: "conflict", text: merged.text, regions: merged.conflicts, beside: hasBase ? ["mine", "base", "theirs"] : ["mine", "theirs"] };
}

/** Which side a `newest` decision picks: record stamps first, then modification times; undefined when they cannot tell. */
function newerSide(stamps: { mine?: string; theirs?: string }, times: ContentPlanOptions["times"]): "mine" | "theirs" | undefined {
  if (stamps.mine !== undefined && stamps.theirs !== undefined && stamps.mine !== stamps.theirs) return stamps.mine > stamps.theirs ? "mine" : "theirs";
  if (times?.mine !== undefined && times.theirs !== undefined && times.mine !== times.theirs) return times.mine > times.theirs ? "mine" : "theirs";
  return undefined;
}

/** The reason recorded for a conflict the plan describes. */
export function conflictReasonOf(plan: Extract<ContentMergePlan, { outcome: "conflict" }>): string {
  return plan.reason ?? conflictRegionsReason(plan.regions);
}

/** The reason recorded for a text conflict. */
export function conflictRegionsReason(regions: number): string {
  return `${regions} conflicting region${regions === 1 ? "" : "s"}`;
}
