/**
 * The content and metadata part of bringing one server object into the checkout (update): the
 * plans come from the pure planners in src/merge (content-plan, meta); this module reads the
 * bytes and turns the plans into journal steps and conflict records.
 */
import { Readable } from "node:stream";
import { conflictReasonOf, planContentMerge, type ArtifactVersion } from "../merge/content-plan.js";
import { mergeMeta } from "../merge/meta.js";
import { announcedTypeOf, type AnnouncedType, type ConflictPolicy } from "../merge/content-kinds.js";
import type { EntryInfo, ObjectMeta } from "../protocol/types.js";
import { WcError } from "./admin.js";
import type { ConflictRecord, Entry } from "./entries.js";
import type { Expectation, JournalStep } from "./journal.js";
import { formatMeta, formatMetaConflict, metaFileOf, sameMeta } from "./meta-files.js";
import { hasPristine, pristinePath, readPristine, storePristine } from "./pristine.js";
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

/** One line of an update report: `U  path`, ` U path` (metadata), `C  path`… */
export interface UpdateLine {
  path: string;
  kind: "file" | "folder";
  /** Content letter: U updated, G merged, C conflict, D deleted, N new folder, A/R kept schedules, E existed. */
  content: " " | "U" | "G" | "C" | "D" | "N" | "A" | "R" | "E";
  /** Metadata letter: U updated, G merged, C conflict. */
  meta: " " | "U" | "G" | "C";
  reason?: string;
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
  const baseBytes = entry?.hash ? await readPristine(root, entry.hash) : Buffer.alloc(0);
  const theirsBytes = await readPristine(root, remote.hash!);
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

/** The working metadata file of an object, as a metadata merge sees it ("mine"). */
export interface WorkingMetaFile {
  /** Its metadata (undefined: no file). */
  meta?: ObjectMeta;
  /** Why it is not valid metadata (it is then the user's to keep). */
  error?: string;
  /** What a step replacing it must expect to find. */
  expect: Expectation;
}

/** How one command names the other side of a metadata merge. */
export interface MetaMergeSide {
  /** The artifact written beside an unreadable metadata file (the other side's version). */
  artifact: string;
  artifactExpect: Expectation;
  /** Where the other side's changes were made, for the conflict reason ("on both sides", "in both checkouts"). */
  where: string;
}

/**
 * The one metadata-file planner of `update` and `merge`: per-key three-way merge of `base`,
 * the working metadata file (`mine`) and `theirs` (mergeMeta), turned into a journal step. Sets
 * `next.conflict` on a conflict: the file then takes the editable conflict form (every version of
 * each conflicting key in place), or, when the working file is unreadable, it stays and the other
 * side's version goes beside it. Returns the metadata letter — ` ` nothing, `U` theirs taken,
 * `G` merged with local edits, `C` conflict — or `held` when the working file already holds the
 * merged metadata (the same edit was made locally): `update` reports that `G`, `merge` nothing.
 */
export function planMetaFile(
  steps: JournalStep[],
  path: string,
  versions: { base?: ObjectMeta; mine: WorkingMetaFile; theirs?: ObjectMeta },
  side: MetaMergeSide,
  next: Entry,
): MetaLetter | "held" {
  const { base, mine, theirs } = versions;
  // The other side did not change the metadata: whatever the working file holds stays.
  if (sameMeta(base, theirs)) return " ";
  const file = metaFileOf(path);
  if (mine.error) {
    steps.push({ do: "write-text", path: side.artifact, text: theirs ? formatMeta(theirs) : "{}\n", expect: side.artifactExpect });
    next.conflict ??= { kind: "meta", artifacts: [side.artifact], reason: mine.error };
    return "C";
  }
  const merged = mergeMeta(base, mine.meta, theirs);
  if (!merged.clean) {
    const form = formatMetaConflict(merged.meta, { base, mine: mine.meta, theirs }, merged.conflicts);
    steps.push({ do: "write-text", path: file, text: form, expect: mine.expect });
    next.conflict ??= {
      kind: "meta",
      artifacts: [],
      reason: `metadata keys changed ${side.where}: ${merged.conflicts.join(", ")}`,
      meta: { base, mine: mine.meta, theirs, keys: merged.conflicts },
    };
    return "C";
  }
  const newText = merged.meta ? formatMeta(merged.meta) : null;
  const oldText = mine.meta ? formatMeta(mine.meta) : null;
  if (newText === oldText) return "held";
  steps.push({ do: "write-text", path: file, text: newText, expect: mine.expect });
  return sameMeta(mine.meta, base) ? "U" : "G";
}

/**
 * `update`'s metadata file of an object: {@link planMetaFile} with BASE, the working file as
 * scanned, and the server's metadata. Sets `next.meta` (the new BASE) and, on conflict,
 * `next.conflict`. A new object's metadata comes with it (no letter but `C`).
 */
export function planMeta(
  { steps }: PlanContext,
  path: string,
  entry: Entry | undefined,
  remote: EntryInfo,
  status: PathStatus | undefined,
  next: Entry,
): MetaLetter {
  const letter = planMetaFile(
    steps,
    path,
    { base: entry?.meta, mine: { meta: status?.workingMeta, error: status?.metaError, expect: "any" }, theirs: remote.meta },
    { artifact: `${metaFileOf(path)}.r${remote.revision}`, artifactExpect: "any", where: "on both sides" },
    next,
  );
  if (!entry && letter !== "C") return " ";
  return letter === "held" ? "G" : letter;
}
