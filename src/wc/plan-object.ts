/**
 * The content and metadata part of bringing one server object into the checkout (update): the
 * plans come from the pure planners in src/merge (content-plan, meta); this module reads the
 * bytes and turns the plans into journal steps and conflict records.
 */
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { conflictReasonOf, planContentMerge, type ArtifactVersion } from "../merge/content-plan.js";
import { mergeMeta } from "../merge/meta.js";
import { announcedTypeOf, type AnnouncedType, type ConflictPolicy } from "../merge/content-kinds.js";
import type { EntryInfo, ObjectMeta } from "../protocol/types.js";
import { WcError } from "./admin.js";
import type { ConflictRecord, Entry } from "./entries.js";
import type { JournalStep } from "./journal.js";
import { formatMeta, formatMetaConflict, metaFileOf, sameMeta } from "./meta-files.js";
import { hasPristine, pristinePath, storePristine } from "./pristine.js";
import { readCheckoutFile } from "./safe-path.js";
import type { PathStatus } from "./scan.js";

/** Where a plan goes: the checkout, and the journal steps being collected. */
export interface PlanContext {
  root: string;
  steps: JournalStep[];
  /** The conflict policy of each path (--policy, `zsync config policy`, else the type's default `typeDefault`, else merge). */
  policyOf?: (path: string, typeDefault?: ConflictPolicy) => ConflictPolicy;
  /** The types the server announced (merge kind and default policy of plug-in types). */
  types?: readonly AnnouncedType[];
}

/** Metadata letter of an update line: U updated, G merged, C conflict. */
export type MetaLetter = " " | "U" | "G" | "C";

/** Merges working content with the server's over BASE; returns the conflict, if any. */
export async function planFileMerge(
  { root, steps, policyOf, types }: PlanContext,
  path: string,
  entry: Entry | undefined,
  status: PathStatus,
  remote: EntryInfo,
): Promise<ConflictRecord | undefined> {
  const mineBytes = await readCheckoutFile(root, path);
  const mine = await storePristine(root, Readable.from([mineBytes]));
  if (entry?.hash && !(await hasPristine(root, entry.hash))) {
    throw new WcError(
      "missing-pristine",
      `cannot merge ${path}: its BASE copy ${pristinePath(root, entry.hash)} is missing, so nothing was changed. ` +
        `To recover, move your ${path} aside, run \`zsync update\` (it fetches the server's version), then carry your edits over.`,
    );
  }
  const baseBytes = entry?.hash ? await readFile(pristinePath(root, entry.hash)) : Buffer.alloc(0);
  const theirsBytes = await readFile(pristinePath(root, remote.hash!));
  const baseLabel = entry?.revision !== undefined ? `.r${entry.revision}` : ".base";
  const theirsLabel = `.r${remote.revision}`;
  const contentType = remote.meta?.contentType ?? entry?.meta?.contentType;
  const plan = planContentMerge(
    { base: entry?.hash ? baseBytes : undefined, mine: mineBytes, theirs: theirsBytes },
    {
      labels: { mine: ".mine", base: baseLabel, theirs: theirsLabel },
      contentType,
      types,
      policy: policyOf?.(path, announcedTypeOf(contentType, types)?.defaultPolicy),
    },
  );
  const versions = { base: entry?.hash, mine: mine.hash, theirs: remote.hash! };
  const suffixes = { mine: ".mine", base: baseLabel, theirs: theirsLabel };
  const beside = (which: ArtifactVersion[]) =>
    which.map((v) => {
      steps.push({ do: "write", path: path + suffixes[v], hash: versions[v]!, expect: "absent" });
      return path + suffixes[v];
    });
  const labels = { base: baseLabel, theirs: theirsLabel };
  if (plan.outcome === "binary") {
    // Binary: never merged. The working file stays as it is; both other versions go beside it.
    return { kind: "binary", artifacts: beside(plan.beside), reason: plan.reason ?? "binary file changed on both sides", versions, labels };
  }
  if (plan.outcome === "kept") {
    // A policy chose one version whole: the server's replaces the working file, or the working file stays.
    if (plan.version === "theirs") steps.push({ do: "write", path, hash: remote.hash!, expect: { hash: status.workingHash! } });
    return undefined;
  }
  const result = await storePristine(root, Readable.from([Buffer.from(plan.text, "utf8")]));
  steps.push({ do: "write", path, hash: result.hash, expect: { hash: status.workingHash! } });
  if (plan.outcome === "merged") return undefined;
  return { kind: "text", artifacts: beside(plan.beside), reason: conflictReasonOf(plan), versions, labels };
}

/**
 * Plans the metadata file of an object: per-key three-way merge of BASE, working and server
 * metadata. Sets `next.meta` (the new BASE) and, on conflict, `next.conflict`.
 */
export function planMeta(
  { steps }: PlanContext,
  path: string,
  entry: Entry | undefined,
  remote: EntryInfo,
  status: PathStatus | undefined,
  next: Entry,
): MetaLetter {
  const base: ObjectMeta | undefined = entry?.meta;
  const theirs = remote.meta;
  const file = metaFileOf(path);
  const workingExists = status?.workingMeta !== undefined || status?.metaError !== undefined;
  if (status?.metaError) {
    // An unreadable metadata file is the user's: keep it, put the server's version beside it.
    if (!sameMeta(base, theirs)) {
      const artifact = `${file}.r${remote.revision}`;
      steps.push({ do: "write-text", path: artifact, text: theirs ? formatMeta(theirs) : "{}\n", expect: "any" });
      next.conflict ??= { kind: "meta", artifacts: [artifact], reason: status.metaError };
      return "C";
    }
    return " ";
  }
  const mine = status?.workingMeta;
  if (sameMeta(base, theirs) && entry) return " ";
  const merged = mergeMeta(base, mine, theirs);
  const newText = merged.meta ? formatMeta(merged.meta) : null;
  const oldText = mine ? formatMeta(mine) : null;
  if (merged.clean && (newText !== oldText || (!workingExists && newText !== null))) {
    steps.push({ do: "write-text", path: file, text: newText, expect: "any" });
  }
  if (!merged.clean) {
    // The metadata file takes the conflict form: every version of each conflicting key in place.
    const form = formatMetaConflict(merged.meta, { base, mine, theirs }, merged.conflicts);
    steps.push({ do: "write-text", path: file, text: form, expect: "any" });
    next.conflict ??= {
      kind: "meta",
      artifacts: [],
      reason: `metadata keys changed on both sides: ${merged.conflicts.join(", ")}`,
      meta: { base, mine, theirs, keys: merged.conflicts },
    };
    return "C";
  }
  if (!entry) return " "; // new objects: their metadata comes with them
  return sameMeta(mine, base) ? "U" : "G";
}
