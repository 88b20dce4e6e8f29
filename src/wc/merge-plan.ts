/**
 * The plan of one `merge` (see merge.ts): the journal steps, entry changes and report lines it
 * collects, and the I/O the per-change planners share — reading both checkouts' files into
 * TARGET's pristine store, the three-way content merge, the metadata merge, and SOURCE's BASE
 * copies (fetched from the server only when SOURCE's pristine copy is missing).
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { conflictReasonOf, planContentMerge, type ArtifactVersion } from "../merge/content-plan.js";
import { announcedTypeOf, choosePolicy, type AnnouncedType, type ConflictPolicy } from "../merge/content-kinds.js";
import { joinArchivePath, parentPath } from "../protocol/paths.js";
import type { ObjectMeta } from "../protocol/types.js";
import type { ZsyncClient } from "../transport/http/client.js";
import { WcError } from "./admin.js";
import { lstatOrNone } from "./add.js";
import type { ConflictRecord, Entry } from "./entries.js";
import type { Expectation, JournalStep } from "./journal.js";
import { SOURCE_LABEL, type SourceCheckout } from "./merge-source.js";
import { metaFileOf, readWorkingMeta } from "./meta-files.js";
import { planMetaFile, type UpdateLine } from "./plan-object.js";
import { hashFile, pristinePath, readPristine, storePristine } from "./pristine.js";
import { readCheckoutFile } from "./safe-path.js";
import type { PathStatus } from "./scan.js";
import type { WorkingCopy } from "./session.js";

/** A change of SOURCE that was not brought over, and why. */
export interface NotMerged {
  path: string;
  reason: string;
}

/** What the plan of a merge needs to know. */
export interface MergePlanContext {
  target: WorkingCopy;
  source: SourceCheckout;
  /** TARGET's state where SOURCE changed something. */
  local: Map<string, PathStatus>;
  dryRun: boolean;
  /** Connects to the server; called only when a BASE copy is missing from SOURCE's pristine store. */
  connect?: () => Promise<ZsyncClient>;
  policy?: ConflictPolicy;
  /** The types TARGET's server announced at its last checkout or update (plug-ins' merge kinds and policies). */
  serverTypes?: readonly AnnouncedType[];
}

const sha256 = (data: string | Uint8Array) => nodeCrypto().createHash("sha256").update(data).digest("hex");

/** The plan of one merge: its collections and shared planners. */
export type MergePlan = ReturnType<typeof createMergePlan>;

/** Starts the plan of a merge. */
export function createMergePlan({ target, source, dryRun, connect, policy, serverTypes }: MergePlanContext) {
  const opts = { connect, policy };
  const steps: JournalStep[] = [];
  const entryChanges: Record<string, Entry | null> = {};
  const lines: UpdateLine[] = [];
  const notMerged: NotMerged[] = [];
  const fetched: string[] = [];
  const differentBase: string[] = [];
  let conflicts = 0;
  /** TARGET paths whose insides are left alone (a folder that could not be merged). */
  const blocked: string[] = [];
  /** Folders this merge schedules for addition in TARGET (children may go into them). */
  const addedFolders = new Set<string>();
  let client: Promise<ZsyncClient> | undefined;

  const note = (line: UpdateLine) => {
    if (line.content === "C" || line.meta === "C") conflicts++;
    if (line.content !== " " || line.meta !== " ") lines.push(line);
  };
  const skip = (path: string, reason: string, isFolder = false): void => {
    notMerged.push({ path, reason });
    if (isFolder) blocked.push(path);
  };
  /** Puts bytes into TARGET's pristine store (only hashes them in a dry run). */
  const keepBytes = async (bytes: Buffer): Promise<string> =>
    dryRun ? sha256(bytes) : (await storePristine(target.root, Readable.from([bytes]), undefined, bytes.length)).hash;
  /** Copies a file (of either checkout) into TARGET's pristine store; returns its hash. */
  const keepFile = async (absolute: string): Promise<string> =>
    dryRun ? (await hashFile(absolute)).hash : (await storePristine(target.root, createReadStream(absolute, { highWaterMark: 1 << 20 }))).hash;
  /** An object this merge schedules for addition: its metadata comes with it (no `U`), as in update. */
  const asNew = (meta: UpdateLine["meta"]): UpdateLine["meta"] => (meta === "U" ? " " : meta);
  const noteBase = (path: string, a: Entry, b: Entry) => {
    if (b.schedule !== "added" && b.revision !== undefined && a.revision !== b.revision) differentBase.push(path);
  };

  return {
    steps,
    entryChanges,
    lines,
    notMerged,
    fetched,
    differentBase,
    /** TARGET paths whose insides are left alone (a folder that could not be merged). */
    blocked,
    /** Folders this merge schedules for addition in TARGET (children may go into them). */
    addedFolders,
    conflicts: () => conflicts,
    note,
    skip,
    keepBytes,
    keepFile,
    asNew,
    noteBase,
    planFileMerge,
    planMetaMerge,
    parentReady,
    targetMeta,
    sourceBase,
  };

  /**
   * Three-way merge of TARGET's working file (mine) with SOURCE's (theirs) over SOURCE's BASE
   * (`base`; an empty base for two independently added files). Plans the writes and artifacts;
   * returns the conflict, if any, or "unchanged" when the clean result is TARGET's file as it is.
   */
  async function planFileMerge(
    path: string,
    base: Entry | undefined,
    contentType: string | undefined,
    theirsType: string | undefined,
  ): Promise<ConflictRecord | undefined | "unchanged"> {
    const mineBytes = await readCheckoutFile(target.root, path);
    const theirsBytes = await readCheckoutFile(source.root, path);
    const baseBytes = base?.hash ? await sourceBase(path, base) : Buffer.alloc(0);
    const mine = await keepBytes(mineBytes);
    const theirs = await keepBytes(theirsBytes);
    const baseHash = base?.hash ? await keepBytes(baseBytes) : undefined;
    const baseLabel = base?.revision !== undefined ? `.r${base.revision}` : ".base";
    const labels = { base: baseLabel, theirs: SOURCE_LABEL };
    const versions = { base: baseHash, mine, theirs };
    const plan = planContentMerge(
      { base: base?.hash ? baseBytes : undefined, mine: mineBytes, theirs: theirsBytes },
      {
        labels: { mine: ".mine", ...labels },
        contentType: theirsType ?? contentType,
        types: serverTypes,
        policy: choosePolicy(path, { override: opts.policy, byPath: target.config.policies, typeDefault: announcedTypeOf(theirsType ?? contentType, serverTypes)?.defaultPolicy }),
        times: await modificationTimes(join(target.root, path), join(source.root, path)),
      },
    );
    const suffixes = { mine: ".mine", base: baseLabel, theirs: SOURCE_LABEL };
    const beside = (which: ArtifactVersion[]) =>
      which.map((v) => {
        steps.push({ do: "write", path: path + suffixes[v], hash: versions[v]!, expect: "absent" });
        return path + suffixes[v];
      });
    if (plan.outcome === "binary") {
      // Binary: never merged. TARGET's file stays; SOURCE's BASE and working versions go beside it.
      return { kind: "binary", artifacts: beside(plan.beside), reason: plan.reason ?? "binary file changed in both checkouts", versions, labels };
    }
    if (plan.outcome === "kept") {
      // A policy chose one version whole: SOURCE's replaces TARGET's file, or TARGET's stays.
      if (plan.version === "mine") return "unchanged";
      steps.push({ do: "write", path, hash: theirs, expect: { hash: mine } });
      return undefined;
    }
    if (plan.outcome === "merged" && plan.unchanged) return "unchanged"; // TARGET holds SOURCE's change already
    const result = await keepBytes(Buffer.from(plan.text, "utf8"));
    steps.push({ do: "write", path, hash: result, expect: { hash: mine } });
    if (plan.outcome === "merged") return undefined;
    return { kind: "text", artifacts: beside(plan.beside), reason: conflictReasonOf(plan), versions, labels };
  }

  /**
   * Per-key three-way merge of an object's metadata into TARGET's metadata file: base = SOURCE's
   * BASE metadata (undefined for additions), mine = TARGET's working metadata, theirs = SOURCE's.
   * On conflict the file takes update's editable conflict form and `next.conflict` is set.
   */
  async function planMetaMerge(path: string, base: ObjectMeta | undefined, theirs: ObjectMeta | undefined, next: Entry): Promise<UpdateLine["meta"]> {
    const letter = planMetaFile(
      steps,
      path,
      { base, mine: await targetMeta(path), theirs },
      { artifact: metaFileOf(path) + SOURCE_LABEL, artifactExpect: "absent", where: "in both checkouts" },
      next,
    );
    return letter === "held" ? " " : letter;
  }

  /** True when TARGET's folder holding `path` is a folder on disk, or this merge makes it one. */
  async function parentReady(path: string): Promise<boolean> {
    const parent = parentPath(path);
    if (parent === "" || addedFolders.has(parent)) return true;
    return (await lstatOrNone(join(target.root, parent)))?.isDirectory() === true;
  }

  /** TARGET's metadata file of `path`: parsed, and what a step replacing it must expect. */
  async function targetMeta(path: string): Promise<{ meta?: ObjectMeta; error?: string; expect: Expectation }> {
    const raw = await readCheckoutFile(target.root, metaFileOf(path)).catch(() => undefined);
    if (!raw) return { expect: "absent" };
    return { ...(await readWorkingMeta(target.root, path)), expect: { hash: sha256(raw) } };
  }

  /**
   * SOURCE's BASE content of a file: from SOURCE's pristine store, or — only when that copy is
   * missing or damaged — from the server at the BASE's revision (checked against its hash).
   */
  async function sourceBase(path: string, entry: Entry): Promise<Buffer> {
    const hash = entry.hash!;
    const file = pristinePath(source.root, hash);
    const stored = await readPristine(source.root, hash).catch(() => undefined);
    if (stored && sha256(stored) === hash) return stored;
    const what = `SOURCE's BASE copy of ${path} (revision ${entry.revision}) is missing from ${file}`;
    if (!opts.connect) throw new WcError("missing-pristine", `${what}; nothing was changed`);
    let bytes: Buffer;
    try {
      client ??= opts.connect();
      const stream = await (await client).cat(joinArchivePath(source.config.path, path), { rev: entry.revision });
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
      bytes = Buffer.concat(chunks);
    } catch (error) {
      throw new WcError("missing-pristine", `${what} and could not be fetched from the server (${(error as Error).message}); nothing was changed`);
    }
    if (sha256(bytes) !== hash) throw new WcError("bad-content", `${what}, and the server's copy at revision ${entry.revision} does not match it; nothing was changed`);
    fetched.push(path);
    return bytes;
  }
}


/** Modification times (ms) of TARGET's and SOURCE's working files, for the `newest` policy. */
async function modificationTimes(mine: string, theirs: string): Promise<{ mine?: number; theirs?: number }> {
  const time = (file: string) => stat(file).then((s) => s.mtimeMs, () => undefined);
  return { mine: await time(mine), theirs: await time(theirs) };
}
