/**
 * `resolve`: ends a conflict by choosing what the working file (or metadata file, or tree)
 * holds, clears the conflict record and deletes the artifact files the record lists.
 *
 * After an update conflict the entry's BASE already is the server's version (svn semantics), so
 * resolving only decides the working content. The choices are svn's `--accept` values:
 *
 * - text/binary: `base` (BASE before the update), `working` (the file as it is; refused while it
 *   holds conflict markers, unless `force`), `mine-full` (the file before the update),
 *   `theirs-full` (the server's), `mine-conflict`/`theirs-conflict` (a fresh three-way merge in
 *   which every conflicting region takes that side and clean merges stay; for binary files the
 *   same as the `-full` choices). A metadata file of the same object that still holds
 *   `@@conflict` objects is resolved key by key with the same choice.
 * - metadata: always per conflicting key: `base`/`mine-*`/`theirs-*` put that side's value into
 *   each conflicting key, every other key stays as the file holds it; `working` takes the file
 *   as edited and is refused while any `@@conflict` object remains (it could not be committed).
 * - tree: `working`/`mine-*` keep the local state; `theirs-*` take the server's — and since that
 *   drops local bytes, those are first saved as `FILE.orig` (a folder as `DIR.orig/`), through
 *   the pristine store and the journal as `revert` does.
 *
 * No choice loses a user's bytes (as `revert`): before the artifacts go, a local version that
 * would be left nowhere is written beside the file as `FILE.orig` (`FILE.orig.1`, … when taken):
 * - `mine` (the file before the update, else only in `FILE.mine`), unless the result holds every
 *   line mine added to BASE — so `mine-full`, `mine-conflict` and a hand merge that kept mine's
 *   lines save nothing, while `base` and `theirs-*` (and a binary file's other choices) do;
 * - the working file when the user edited it by hand (it is neither the marked-up text the update
 *   wrote, rebuilt from the record, nor mine, BASE or theirs) and the choice replaces it;
 * - after `zsync merge`, SOURCE's version (`FILE.source`: another checkout's uncommitted bytes,
 *   which may have changed there since) when the result does not hold every line it added;
 * - metadata: mine's metadata as `@@meta/NAME.json.orig` when a conflicting key loses mine's
 *   value, and a hand-edited (or unreadable) metadata file that the choice replaces.
 *
 * Everything is planned first (a refusal changes nothing), then carried out by one journal.
 */
import { readCheckoutFile } from "./safe-path.js";
import { createReadStream } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DIR_CONFLICT_REASONS } from "../merge/dir-decision.js";
import { FILE_CONFLICT_REASONS } from "../merge/file-decision.js";
import { isKindClash } from "../merge/tree.js";
import { canonicalJson, mergeMeta } from "../merge/meta.js";
import { mergeRegions, mergeText, splitLinesKeepingTerminators, type MergeRegion, type MergeRegions } from "../merge/text.js";
import { parseObjectMeta } from "../protocol/manifest.js";
import type { ObjectMeta } from "../protocol/types.js";
import { WcError } from "./admin.js";
import { lstatOrNone, sha256 } from "./add.js";
import { SOURCE_LABEL } from "./merge.js";
import { entriesUnder, loadEntries, type ConflictRecord, type Entry } from "./entries.js";
import { runJournal, type JournalReport, type JournalStep } from "./journal.js";
import { CONFLICT_KEY, formatMeta, formatMetaConflict, metaFileOf, objectOfMetaFile, unresolvedMetaKeys } from "./meta-files.js";
import { hashFile, hasPristine, pristinePath, storePristine } from "./pristine.js";
import type { WorkingCopy } from "./session.js";

/** svn's `--accept` choices that resolve (`postpone` is the absence of a choice). */
export const ACCEPT_CHOICES = ["base", "working", "mine-full", "theirs-full", "mine-conflict", "theirs-conflict"] as const;
export type Accept = (typeof ACCEPT_CHOICES)[number];

/** Per-region (text) or per-key (metadata) choice of the interactive resolver. */
export type HunkChoice = "mine" | "theirs" | "both" | "base";

export interface ResolveOptions {
  /** Checkout paths: a conflicted path, or a folder (everything conflicted inside it); "" = all. */
  paths: string[];
  accept: Accept;
  /** Mark a text file resolved with `working` even though it still holds conflict markers. */
  force?: boolean;
  /** Paths name conflicted entries exactly (no folder descent), as `update --accept` uses it. */
  exact?: boolean;
  /**
   * Report paths whose choice is refused in `refused` and resolve the others, instead of
   * refusing the whole command (used after an update, which already happened).
   */
  skipRefused?: boolean;
}

export interface ResolvedPath {
  path: string;
  conflict: ConflictRecord["kind"];
  /** The choice made: an `--accept` value, `hunks` (per region/key), or `merged` (a given result). */
  accept: Accept | "hunks";
  /** Artifact files deleted. */
  removedArtifacts: string[];
  /** Where local content that the choice replaced was saved (mine first; a second copy is named in `note`). */
  savedAs?: string;
  /** Where local metadata that the choice replaced was saved. */
  metaSavedAs?: string;
  /** Metadata keys that were resolved. */
  metaKeys?: string[];
  /** Something the user should know or do next. */
  note?: string;
}

export interface ResolveResult {
  resolved: ResolvedPath[];
  /** Named paths with nothing in conflict at or under them. */
  notInConflict: string[];
  /** With `skipRefused`: the paths that could not be resolved that way, and why. */
  refused: { path: string; message: string }[];
  /** Conflicted paths within the named paths after the command. */
  remaining: string[];
  savedAside: JournalReport["savedAside"];
}

/** One conflicting region of a text, or one conflicting metadata key. */
export interface ConflictHunk {
  type: "text" | "meta";
  /** "1", "2", … for text regions; the key (`extra.title`) for metadata. */
  label: string;
  /** The region's lines (text) or the value as JSON (metadata); undefined = absent. */
  mine?: string;
  base?: string;
  theirs?: string;
  /** Choices that apply (`both` only to text). */
  choices: HunkChoice[];
}

/** Raised when a choice cannot be made; nothing was changed. */
export class ResolveRefusedError extends WcError {
  readonly refusals: { path: string; message: string }[];
  constructor(refusals: { path: string; message: string }[]) {
    super("resolve-refused", `nothing was resolved:\n  ${refusals.map((r) => r.message).join("\n  ")}`);
    this.refusals = refusals;
  }
}

class Refusal extends Error {}

/** The conflicted checkout paths at or under `scopes` ("" = everything), sorted. */
export function conflictedPaths(wc: WorkingCopy, scopes: string[] = [""]): string[] {
  const within = (p: string) => scopes.some((s) => s === "" || p === s || p.startsWith(s + "/"));
  return [...wc.entries.entries].filter(([p, e]) => e.conflict && within(p)).map(([p]) => p).sort();
}

/** Maps a named path to the object it stands for: a metadata file to its object, an artifact to its conflicted file. */
function objectOf(entries: Map<string, Entry>, path: string): string {
  if (entries.has(path)) return path;
  const object = objectOfMetaFile(path);
  if (object !== undefined && entries.has(object)) return object;
  for (const [p, e] of entries) if (e.conflict?.artifacts.includes(path)) return p;
  return path;
}

/** Resolves the conflicts at `opts.paths` with `opts.accept`. */
export async function resolve(wc: WorkingCopy, opts: ResolveOptions): Promise<ResolveResult> {
  wc.entries = await loadEntries(wc.root);
  const entries = wc.entries.entries;
  const named = [...new Set(opts.paths.length === 0 ? [""] : opts.paths.map((p) => objectOf(entries, p)))];
  const targets = new Set<string>();
  const notInConflict: string[] = [];
  for (const path of named) {
    const found = opts.exact ? (entries.get(path)?.conflict ? [path] : []) : conflictedPaths(wc, [path]);
    if (found.length === 0) notInConflict.push(path);
    found.forEach((p) => targets.add(p));
  }
  const plan = new Planner(wc);
  const refused: { path: string; message: string }[] = [];
  // Folders first: a folder taken from the server decides what is inside it.
  for (const path of [...targets].sort()) {
    if (plan.covered(path)) continue;
    try {
      await plan.path(path, { accept: opts.accept, force: opts.force ?? false });
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      refused.push({ path, message: error.message });
    }
  }
  if (refused.length > 0 && !opts.skipRefused) throw new ResolveRefusedError(refused);
  const savedAside = await plan.run();
  const remaining = opts.exact ? named.filter((p) => wc.entries.entries.get(p)?.conflict) : conflictedPaths(wc, named);
  return { resolved: plan.resolved, notInConflict, refused, remaining, savedAside };
}

/** The conflicting regions (text) and keys (metadata) of a conflicted path, for a per-hunk choice. */
export async function conflictHunks(wc: WorkingCopy, path: string): Promise<ConflictHunk[]> {
  wc.entries = await loadEntries(wc.root);
  const entry = wc.entries.entries.get(path);
  const conflict = entry?.conflict;
  if (!conflict) throw new WcError("not-in-conflict", `'${path}' is not in conflict`);
  const hunks: ConflictHunk[] = [];
  if (conflict.kind === "text") {
    const { regions } = await textRegions(wc.root, path, conflict).catch(refusalToError);
    let n = 0;
    for (const region of regions) {
      if (!("conflict" in region)) continue;
      n++;
      hunks.push({ type: "text", label: String(n), mine: region.conflict.a.join(""), base: region.conflict.o.join(""), theirs: region.conflict.b.join(""), choices: ["mine", "theirs", "both", "base"] });
    }
  } else if (conflict.kind !== "meta" && conflict.kind !== "binary") {
    throw new WcError("no-hunks", `'${path}' is in a ${conflict.kind} conflict, which has no conflicting regions; choose a whole side`);
  }
  if (conflict.kind !== "binary") {
    const source = await metaSource(wc.root, path, conflict);
    for (const key of source?.keys ?? []) {
      const json = (v: unknown) => (v === undefined ? undefined : JSON.stringify(v));
      hunks.push({ type: "meta", label: key, mine: json(source!.value(key, "mine")), base: json(source!.value(key, "base")), theirs: json(source!.value(key, "theirs")), choices: ["mine", "theirs", "base"] });
    }
  }
  return hunks;
}

/**
 * Resolves one conflicted path with a choice per hunk, in the order {@link conflictHunks} lists
 * them (text regions, then metadata keys).
 */
export async function resolveHunks(wc: WorkingCopy, path: string, choices: HunkChoice[]): Promise<ResolveResult> {
  wc.entries = await loadEntries(wc.root);
  if (!wc.entries.entries.get(path)?.conflict) throw new WcError("not-in-conflict", `'${path}' is not in conflict`);
  const plan = new Planner(wc);
  try {
    await plan.path(path, { hunks: choices, force: false });
  } catch (error) {
    if (error instanceof Refusal) throw new ResolveRefusedError([{ path, message: error.message }]);
    throw error;
  }
  const savedAside = await plan.run();
  return { resolved: plan.resolved, notInConflict: [], refused: [], remaining: conflictedPaths(wc, [path]).filter((p) => p === path), savedAside };
}

/** The bytes of one version of a conflicted file (`working` = the file now); undefined when there is none. */
export async function conflictVersion(wc: WorkingCopy, path: string, which: "base" | "mine" | "theirs" | "working"): Promise<Buffer | undefined> {
  const conflict = wc.entries.entries.get(path)?.conflict;
  if (which === "working") return readCheckoutFile(wc.root, path).catch(() => undefined);
  const hash = conflict?.versions?.[which];
  if (!hash || !(await hasPristine(wc.root, hash))) return undefined;
  return readFile(pristinePath(wc.root, hash));
}

/**
 * The first conflict marker line of `text` (1-based), or undefined: a line that is `<<<<<<<`,
 * `|||||||`, `=======` or `>>>>>>>`, alone or followed by a space and a label.
 */
export function markerLine(text: string): number | undefined {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (/^(<{7}|\|{7}|>{7})( |$)/.test(line) || line === "=======") return i + 1;
  }
  return undefined;
}

type Choice = { accept: Accept; force: boolean } | { hunks: HunkChoice[]; force: boolean };

type Region = MergeRegion;
type Regions = MergeRegions;

/** Re-runs the three-way merge of the recorded versions and returns its regions. */
async function textRegions(root: string, path: string, conflict: ConflictRecord): Promise<Regions> {
  const read = async (which: "base" | "mine" | "theirs") => {
    const hash = conflict.versions?.[which];
    if (!hash) {
      if (which === "base") return ""; // added on both sides: merged over an empty base
      throw new Refusal(`'${path}': the conflict record does not say what ${which} was; use --accept working (after editing the file) or zsync revert`);
    }
    if (!(await hasPristine(root, hash))) throw new Refusal(`'${path}': the saved ${which} version (${pristinePath(root, hash)}) is missing; use --accept working or zsync revert`);
    return (await readFile(pristinePath(root, hash))).toString("utf8");
  };
  const [base, mine, theirs] = [await read("base"), await read("mine"), await read("theirs")];
  return mergeRegions(base, mine, theirs);
}

/** Joins pieces of text, putting a line ending between a piece without one and what follows (never glue lines). */
function joinPieces(pieces: string[], eol: string): string {
  let text = "";
  for (const piece of pieces) {
    if (piece === "") continue;
    if (text !== "" && !text.endsWith("\n")) text += eol;
    text += piece;
  }
  return text;
}

/** The text of a re-merge where conflict region i takes `pick(i)`. */
function assemble({ regions, eol }: Regions, pick: (i: number) => HunkChoice): string {
  const pieces: string[] = [];
  let n = 0;
  for (const region of regions) {
    if ("ok" in region) {
      pieces.push(region.ok.join(""));
      continue;
    }
    const { a, o, b } = region.conflict;
    switch (pick(n++)) {
      case "mine":
        pieces.push(a.join(""));
        break;
      case "theirs":
        pieces.push(b.join(""));
        break;
      case "base":
        pieces.push(o.join(""));
        break;
      case "both":
        pieces.push(a.join(""), b.join(""));
        break;
    }
  }
  return joinPieces(pieces, eol);
}

/**
 * True when `result` holds every line that `version` added to `base`, each at least as often as
 * `version` has it (line endings aside): then no line written in `version` is lost without it.
 */
export function holdsAddedLines(base: Buffer | string, version: Buffer | string, result: Buffer | string): boolean {
  const counts = (text: Buffer | string) => {
    const n = new Map<string, number>();
    for (const line of splitLinesKeepingTerminators(text.toString())) {
      const key = line.replace(/\r?\n$/, "");
      n.set(key, (n.get(key) ?? 0) + 1);
    }
    return n;
  };
  const [baseLines, versionLines, resultLines] = [counts(base), counts(version), counts(result)];
  for (const [line, n] of versionLines) if (n > (baseLines.get(line) ?? 0) && (resultLines.get(line) ?? 0) < n) return false;
  return true;
}

function refusalToError(error: unknown): never {
  if (error instanceof Refusal) throw new WcError("resolve-refused", error.message);
  throw error;
}

// --- metadata, key by key -------------------------------------------------------------------

type Side = "base" | "mine" | "theirs";

interface MetaSource {
  keys: string[];
  value(key: string, side: Side): unknown;
  /** The metadata the choices are applied to (every non-conflicting key as it should stay). */
  start: Record<string, unknown> | undefined;
  /** The metadata file's bytes now (undefined when absent). */
  bytes?: Buffer;
  /** Why the metadata file cannot be read as metadata (after resolution it must be). */
  error?: string;
}

function getKey(meta: Record<string, unknown> | undefined, key: string): unknown {
  if (!meta) return undefined;
  if (key === "contentType") return meta.contentType;
  const dot = key.indexOf(".");
  const bucket = meta[key.slice(0, dot)] as Record<string, unknown> | undefined;
  return bucket && Object.prototype.hasOwnProperty.call(bucket, key.slice(dot + 1)) ? bucket[key.slice(dot + 1)] : undefined;
}

function setKey(meta: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "contentType") {
    if (value === undefined) delete meta.contentType;
    else meta.contentType = value;
    return;
  }
  const dot = key.indexOf(".");
  const group = key.slice(0, dot);
  const name = key.slice(dot + 1);
  const bucket = (typeof meta[group] === "object" && meta[group] !== null ? meta[group] : {}) as Record<string, unknown>;
  if (value === undefined) delete bucket[name];
  else Object.defineProperty(bucket, name, { value, enumerable: true, writable: true, configurable: true });
  if (Object.keys(bucket).length === 0) delete meta[group];
  else meta[group] = bucket;
}

/**
 * Where the values of a path's conflicting metadata keys come from: the conflict record
 * (metadata conflicts), or the `@@conflict` objects in the metadata file itself (a metadata
 * conflict that came together with a content conflict, whose record is the content's).
 * Undefined when the metadata has nothing to resolve.
 */
async function metaSource(root: string, path: string, conflict: ConflictRecord): Promise<MetaSource | undefined> {
  const bytes = await readCheckoutFile(root, metaFileOf(path)).catch(() => undefined);
  let parsed: Record<string, unknown> | undefined;
  let error: string | undefined;
  if (bytes !== undefined) {
    try {
      const value: unknown = JSON.parse(bytes.toString("utf8"));
      if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
      parsed = value as Record<string, unknown>;
    } catch (e) {
      error = `${metaFileOf(path)} is not valid JSON (${(e as Error).message})`;
    }
  }
  if (conflict.kind === "meta" && conflict.meta) {
    const recorded = conflict.meta;
    // The file as the user left it; when it no longer parses, the clean merge of the three versions.
    const start = parsed ? clone(parsed) : (clone(mergeMeta(recorded.base, recorded.mine, recorded.theirs).meta ?? {}) as Record<string, unknown>);
    return { keys: recorded.keys, value: (key, side) => getKey(recorded[side] as Record<string, unknown> | undefined, key), start, bytes, error };
  }
  if (!parsed) return undefined;
  const keys = unresolvedMetaKeys(parsed);
  if (keys.length === 0) return undefined;
  return {
    keys,
    value: (key, side) => (getKey(parsed, key) as Record<string, Record<string, unknown>>)[CONFLICT_KEY]?.[side],
    start: clone(parsed),
    bytes,
  };
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function metaText(meta: Record<string, unknown> | undefined): string | null {
  if (!meta || Object.keys(meta).length === 0) return null;
  return formatMeta(meta as ObjectMeta);
}

/** Checks that the metadata file's text is committable metadata; returns why not. */
function metaProblem(path: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return `${metaFileOf(path)} is not valid JSON (${(e as Error).message})`;
  }
  const open = unresolvedMetaKeys(value);
  if (open.length > 0) return `${metaFileOf(path)} still holds "${CONFLICT_KEY}" objects in ${open.join(", ")}; a metadata file in that form cannot be committed, so it cannot be marked resolved (even with --force): replace each with the value you want, or choose mine/theirs/base`;
  try {
    parseObjectMeta(value, metaFileOf(path));
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

// --- planning -------------------------------------------------------------------------------

async function* once(bytes: Uint8Array) {
  yield bytes;
}

const sideOf = (accept: Accept): Side | undefined =>
  accept === "base" ? "base" : accept === "mine-full" || accept === "mine-conflict" ? "mine" : accept === "theirs-full" || accept === "theirs-conflict" ? "theirs" : undefined;

/** Collects the journal steps and entry changes of one resolve command. */
class Planner {
  readonly steps: JournalStep[] = [];
  readonly entryChanges: Record<string, Entry | null> = {};
  readonly resolved: ResolvedPath[] = [];
  private readonly taken = new Set<string>();
  private readonly takenFolders: string[] = [];

  constructor(private readonly wc: WorkingCopy) {}

  private get root() {
    return this.wc.root;
  }

  /** True when `path` lies inside a folder this plan already took from the server. */
  covered(path: string): boolean {
    return this.takenFolders.some((f) => path.startsWith(f + "/"));
  }

  async run(): Promise<JournalReport["savedAside"]> {
    if (this.resolved.length === 0) return [];
    const report = await runJournal(this.root, { command: "resolve", steps: this.steps, entries: this.entryChanges });
    this.wc.entries = await loadEntries(this.root);
    return report.savedAside;
  }

  /** A free name for saving `path` aside: `path.orig`, `path.orig.1`, … */
  private async pickOrig(path: string): Promise<string> {
    const entries = this.wc.entries.entries;
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? `${path}.orig` : `${path}.orig.${n}`;
      if (this.taken.has(candidate) || entries.has(candidate) || (await lstatOrNone(join(this.root, candidate)))) continue;
      this.taken.add(candidate);
      return candidate;
    }
  }

  /** Hash of a regular file, or what else is there. */
  private async current(path: string): Promise<{ hash: string } | "absent" | "other"> {
    const s = await lstatOrNone(join(this.root, path));
    if (!s) return "absent";
    if (!s.isFile()) return "other";
    return { hash: (await hashFile(join(this.root, path))).hash };
  }

  /** Steps making the working file hold pristine `hash`. */
  private async writeContent(path: string, hash: string): Promise<boolean> {
    if (!(await hasPristine(this.root, hash))) throw new Refusal(`'${path}': the saved version ${pristinePath(this.root, hash)} is missing; nothing was changed`);
    const now = await this.current(path);
    if (now !== "absent" && now !== "other" && now.hash === hash) return false;
    this.steps.push({ do: "write", path, hash, expect: now === "absent" || now === "other" ? "absent" : now });
    return true;
  }

  /** Steps deleting the record's artifact files (only those, and only regular files). */
  private async removeArtifacts(conflict: ConflictRecord): Promise<string[]> {
    const removed: string[] = [];
    for (const artifact of conflict.artifacts) {
      const now = await this.current(artifact);
      if (now === "absent" || now === "other") continue;
      this.steps.push({ do: "delete", path: artifact, expect: now });
      removed.push(artifact);
    }
    return removed;
  }

  /** Saves a working file as `FILE.orig` and deletes it (or only saves it with `keep`). */
  private async saveAside(path: string, opts: { remove: boolean }): Promise<string | undefined> {
    const now = await this.current(path);
    if (now === "absent" || now === "other") return undefined;
    const stored = await storePristine(this.root, createReadStream(join(this.root, path)));
    if (stored.hash !== now.hash) throw new WcError("changed-during-resolve", `${path} changed while zsync read it; run the command again`);
    const savedAs = await this.pickOrig(path);
    this.steps.push({ do: "write", path: savedAs, hash: stored.hash, expect: "absent" });
    if (opts.remove) this.steps.push({ do: "delete", path, expect: now });
    return savedAs;
  }

  /** Makes the metadata file hold `text` (null: no file), saving a differing local file as `.orig` first. */
  private async replaceMetaFile(path: string, text: string | null, opts: { save: boolean }): Promise<string | undefined> {
    const file = metaFileOf(path);
    const bytes = await readCheckoutFile(this.root, file).catch(() => undefined);
    if (bytes === undefined) {
      if (text !== null) this.steps.push({ do: "write-text", path: file, text, expect: "absent" });
      return undefined;
    }
    if (text !== null && bytes.toString("utf8") === text) return undefined;
    let savedAs: string | undefined;
    if (opts.save) {
      const stored = await storePristine(this.root, once(bytes));
      savedAs = await this.pickOrig(file);
      this.steps.push({ do: "write", path: savedAs, hash: stored.hash, expect: "absent" });
    }
    this.steps.push({ do: "write-text", path: file, text, expect: { hash: sha256(bytes) } });
    return savedAs;
  }

  /** Plans the resolution of one conflicted path; throws a Refusal (and plans nothing) when the choice cannot be made. */
  async path(path: string, choice: Choice): Promise<void> {
    const entry = this.wc.entries.entries.get(path)!;
    const conflict = entry.conflict!;
    const next: Entry = { ...entry };
    delete next.conflict;
    const rec: ResolvedPath = { path, conflict: conflict.kind, accept: "accept" in choice ? choice.accept : "hunks", removedArtifacts: [] };
    const stepsBefore = this.steps.length;
    let changes: Record<string, Entry | null> = { [path]: next };
    try {
      switch (conflict.kind) {
        case "text":
        case "binary": {
          const target = await this.content(path, conflict, choice);
          const saved = await this.keepLocalContent(path, conflict, target);
          // `savedAs` is reported as "your version saved as": only the user's own bytes go there.
          const yours = saved.find((x) => x.what.startsWith("your"));
          if (yours) rec.savedAs = yours.savedAs;
          const others = saved.filter((x) => x !== yours);
          if (others.length > 0) rec.note = others.map((x) => `${x.what} saved as ${x.savedAs}`).join("; ");
          if (target !== undefined && (await this.writeContent(path, target))) delete next.cache;
          // Per-hunk choices list the text regions first, then the metadata keys.
          const textHunks = "hunks" in choice && conflict.kind === "text" ? (await textRegions(this.root, path, conflict)).conflicts : 0;
          await this.meta(path, conflict, choice, rec, "hunks" in choice ? choice.hunks.slice(textHunks) : undefined);
          break;
        }
        case "meta":
          await this.meta(path, conflict, choice, rec, "hunks" in choice ? choice.hunks : undefined);
          break;
        case "tree":
          if ("hunks" in choice) throw new Refusal(`'${path}' is in a tree conflict, which has no conflicting regions`);
          changes = await this.tree(path, entry, conflict, choice.accept, rec, next);
          break;
      }
    } catch (error) {
      this.steps.length = stepsBefore;
      throw error;
    }
    rec.removedArtifacts = await this.removeArtifacts(conflict);
    Object.assign(this.entryChanges, changes);
    if (conflict.kind === "tree" && entry.kind === "folder" && changes[path] === null) this.takenFolders.push(path);
    this.resolved.push(rec);
  }

  /**
   * What the working file is to hold after the choice: a pristine hash (stored by now), or
   * undefined when the file stays as it is (`working`). Plans nothing; a Refusal when impossible.
   */
  private async content(path: string, conflict: ConflictRecord, choice: Choice): Promise<string | undefined> {
    const versions = conflict.versions ?? {};
    if ("hunks" in choice) {
      if (conflict.kind !== "text") throw new Refusal(`'${path}' is binary: choose a whole version`);
      const merge = await textRegions(this.root, path, conflict);
      if (choice.hunks.length < merge.conflicts) throw new Refusal(`'${path}': ${merge.conflicts} conflicting regions need a choice each, ${choice.hunks.length} given`);
      return this.storeText(assemble(merge, (i) => choice.hunks[i]));
    }
    const { accept, force } = choice;
    if (accept === "working") {
      if (conflict.kind === "text" && !force) {
        const bytes = await readCheckoutFile(this.root, path).catch(() => undefined);
        const line = bytes && markerLine(bytes.toString("utf8"));
        if (line !== undefined) {
          throw new Refusal(`'${path}' still contains conflict markers (line ${line}); edit it until they are gone, choose another --accept, or mark it resolved anyway with --force`);
        }
      }
      return undefined;
    }
    if (conflict.kind === "text" && (accept === "mine-conflict" || accept === "theirs-conflict")) {
      const merge = await textRegions(this.root, path, conflict);
      return this.storeText(assemble(merge, () => (accept === "mine-conflict" ? "mine" : "theirs")));
    }
    const side = sideOf(accept)!;
    const hash = versions[side];
    if (hash === undefined) {
      // Added on both sides: there was no BASE, so "base" is the empty file.
      if (side === "base") return this.storeText("");
      throw new Refusal(`'${path}': the conflict record does not say what ${side} was; use --accept working or zsync revert`);
    }
    if (!(await hasPristine(this.root, hash))) throw new Refusal(`'${path}': the saved version ${pristinePath(this.root, hash)} is missing; nothing was changed`);
    return hash;
  }

  private async storeText(text: string): Promise<string> {
    return (await storePristine(this.root, once(Buffer.from(text, "utf8")))).hash;
  }

  /**
   * Keeps the local versions a content choice would leave nowhere (the policy of the module
   * comment): `mine` (the file before the update, otherwise only in the `.mine` artifact that
   * resolving deletes) unless the result holds every line it added, the working file as the user
   * edited it by hand when the choice replaces it, and after a merge between checkouts SOURCE's
   * version (`.source`: another checkout's uncommitted bytes, which may have changed there since)
   * unless the result holds its lines. Each is written as `FILE.orig` (`.orig.1`, … when taken)
   * from the pristine store.
   */
  private async keepLocalContent(path: string, conflict: ConflictRecord, target: string | undefined): Promise<{ what: string; savedAs: string }[]> {
    const versions = conflict.versions ?? {};
    const now = await this.current(path);
    const working = now === "absent" || now === "other" ? undefined : now.hash;
    const result = target ?? working;
    const saved: { what: string; savedAs: string }[] = [];
    const { mine, theirs } = versions;
    // Only text results are compared line by line (binary ones only by hash): read them only then.
    const resultBytes =
      conflict.kind !== "text"
        ? undefined
        : target !== undefined
          ? await readFile(pristinePath(this.root, target))
          : working !== undefined
            ? await readCheckoutFile(this.root, path).catch(() => undefined)
            : undefined;
    const keep = async (what: string, hash: string) => {
      const savedAs = await this.pickOrig(path);
      this.steps.push({ do: "write", path: savedAs, hash, expect: "absent" });
      saved.push({ what, savedAs });
    };
    if (mine !== undefined && mine !== result && (await hasPristine(this.root, mine)) && !(await this.holdsChanges(conflict, mine, resultBytes))) {
      await keep("your version", mine);
    }
    if (working !== undefined && target !== undefined && working !== target && working !== mine && working !== versions.base && working !== theirs) {
      if (working !== (await this.markedHash(conflict))) {
        const savedAs = await this.saveAside(path, { remove: false });
        if (savedAs) saved.push({ what: "your hand edits", savedAs });
      }
    }
    if (conflict.labels?.theirs === SOURCE_LABEL && theirs !== undefined && theirs !== result && theirs !== mine && (await hasPristine(this.root, theirs))) {
      if (!(await this.holdsChanges(conflict, theirs, resultBytes))) await keep("SOURCE's version", theirs);
    }
    return saved;
  }

  /** After a merge between checkouts, a choice that keeps the local side drops SOURCE's version (`FILE.source`): kept as `.orig` unless the file holds it. */
  private async keepSourceVersion(path: string, conflict: ConflictRecord, rec: ResolvedPath): Promise<void> {
    const theirs = conflict.versions?.theirs;
    if (conflict.labels?.theirs !== SOURCE_LABEL || theirs === undefined || !(await hasPristine(this.root, theirs))) return;
    const now = await this.current(path);
    if (now !== "absent" && now !== "other" && now.hash === theirs) return;
    const savedAs = await this.pickOrig(path);
    this.steps.push({ do: "write", path: savedAs, hash: theirs, expect: "absent" });
    rec.note = [rec.note, `SOURCE's version saved as ${savedAs}`].filter(Boolean).join("; ");
  }

  /**
   * True when the content `result` (undefined: no file) holds every line `version` added to
   * BASE (text conflicts only): then nothing `version` wrote is lost with its artifact.
   */
  private async holdsChanges(conflict: ConflictRecord, version: string, result: Buffer | undefined): Promise<boolean> {
    if (result === undefined || conflict.kind !== "text") return false;
    const base = conflict.versions?.base;
    if (base !== undefined && !(await hasPristine(this.root, base))) return false;
    return holdsAddedLines(base === undefined ? "" : await readFile(pristinePath(this.root, base)), await readFile(pristinePath(this.root, version)), result);
  }

  /** Hash of the text with conflict markers the update (or merge) wrote, rebuilt from the record; undefined when it cannot be. */
  private async markedHash(conflict: ConflictRecord): Promise<string | undefined> {
    const { versions, labels } = conflict;
    if (conflict.kind !== "text" || !versions?.mine || !versions.theirs || !labels) return undefined;
    const hashes = [versions.base, versions.mine, versions.theirs];
    for (const hash of hashes) if (hash !== undefined && !(await hasPristine(this.root, hash))) return undefined;
    const [base, mine, theirs] = await Promise.all(hashes.map(async (h) => (h === undefined ? "" : (await readFile(pristinePath(this.root, h))).toString("utf8"))));
    return sha256(mergeText(base, mine, theirs, { mine: ".mine", base: labels.base, theirs: labels.theirs }).text);
  }

  /** Resolves the metadata file's conflicting keys (metadata conflicts, or `@@conflict` objects left beside a content conflict). */
  private async meta(path: string, conflict: ConflictRecord, choice: Choice, rec: ResolvedPath, hunks: HunkChoice[] | undefined): Promise<void> {
    const file = metaFileOf(path);
    if (conflict.kind === "meta" && !conflict.meta) {
      // The metadata file was unreadable at update time; the server's version is the artifact.
      const accept = "accept" in choice ? choice.accept : undefined;
      const side = accept ? sideOf(accept) : undefined;
      if (side === "theirs") {
        const entry = this.wc.entries.entries.get(path)!;
        // The unreadable file is the user's own: kept as .orig when it goes.
        rec.metaSavedAs = await this.replaceMetaFile(path, entry.meta ? metaText(entry.meta as Record<string, unknown>) : null, { save: true });
        return;
      }
      if (side === "base" || hunks) throw new Refusal(`'${path}': only your metadata file (--accept working or mine-full) or the server's (theirs-full) can be chosen here: its metadata file was unreadable when the update ran`);
      const problem = metaProblem(path, await readCheckoutFile(this.root, file, "utf8").catch(() => undefined));
      if (problem) throw new Refusal(`'${path}': ${problem}; fix it or choose theirs-full`);
      return;
    }
    const source = await metaSource(this.root, path, conflict);
    if (!source) return;
    if (source.error && conflict.kind !== "meta") return; // an unreadable metadata file is not this conflict's business
    let pick: (key: string, i: number) => Side | "keep";
    if (hunks) {
      if (hunks.length < source.keys.length) throw new Refusal(`'${path}': ${source.keys.length} conflicting metadata keys need a choice each, ${hunks.length} given`);
      pick = (_key, i) => (hunks[i] === "both" ? "mine" : hunks[i]) as Side;
    } else {
      const side = "accept" in choice ? sideOf(choice.accept) : undefined;
      if (!side) {
        // working: the file as edited must be committable metadata.
        const problem = metaProblem(path, source.bytes?.toString("utf8"));
        if (problem) throw new Refusal(`'${path}': ${problem}`);
        rec.metaKeys = source.keys;
        if (conflict.kind === "meta" && conflict.meta) {
          const text = source.bytes?.toString("utf8");
          rec.metaSavedAs = await this.keepMineMeta(file, conflict.meta, text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>), text ?? null);
        }
        return;
      }
      pick = () => side;
    }
    const result = source.start ?? {};
    source.keys.forEach((key, i) => {
      const side = pick(key, i);
      if (side !== "keep") setKey(result, key, source.value(key, side));
    });
    const text = metaText(result);
    const problem = metaProblem(path, text ?? undefined);
    if (problem) throw new Refusal(`'${path}': ${problem}`);
    const saved: string[] = [];
    const working = source.bytes?.toString("utf8");
    if (conflict.kind === "meta" && conflict.meta) {
      const recorded = conflict.meta;
      const mineSaved = await this.keepMineMeta(file, recorded, result, text);
      if (mineSaved) saved.push(mineSaved);
      // Edited by hand (not the conflict form the update wrote, nor mine) and replaced: kept too.
      const form = formatMetaConflict(mergeMeta(recorded.base, recorded.mine, recorded.theirs).meta, recorded, recorded.keys);
      if (working !== undefined && working !== text && working !== form && (!recorded.mine || working !== formatMeta(recorded.mine))) {
        saved.push(await this.saveTextAside(file, source.bytes!));
      }
    } else if (working !== undefined && working !== text && source.keys.some((key) => canonicalJson(source.value(key, "mine")) !== canonicalJson(getKey(result, key)))) {
      // The @@conflict objects in the file are the only record of mine's values: the file is kept.
      saved.push(await this.saveTextAside(file, source.bytes!));
    }
    if (saved.length > 0) {
      rec.metaSavedAs = saved[0];
      if (saved.length > 1) rec.note = [rec.note, `your hand-edited metadata saved as ${saved[1]}`].filter(Boolean).join("; ");
    }
    await this.replaceMetaFile(path, text, { save: false });
    rec.metaKeys = source.keys;
  }

  /**
   * Saves mine's metadata as `@@meta/NAME.json.orig` when the result (`undefined`: no metadata)
   * drops mine's value of a conflicting key and is not mine's text anyway; returns where.
   */
  private async keepMineMeta(file: string, recorded: NonNullable<ConflictRecord["meta"]>, result: Record<string, unknown> | undefined, resultText: string | null): Promise<string | undefined> {
    const mine = recorded.mine;
    if (!mine || Object.keys(mine).length === 0) return undefined;
    const dropped = recorded.keys.some((key) => canonicalJson(getKey(mine as Record<string, unknown>, key)) !== canonicalJson(getKey(result, key)));
    const mineText = formatMeta(mine);
    if (!dropped || mineText === resultText) return undefined;
    return this.saveTextAside(file, Buffer.from(mineText, "utf8"));
  }

  /** Plans writing `bytes` (through the pristine store) to the next free `.orig` name of `file`. */
  private async saveTextAside(file: string, bytes: Buffer): Promise<string> {
    const stored = await storePristine(this.root, once(bytes));
    const savedAs = await this.pickOrig(file);
    this.steps.push({ do: "write", path: savedAs, hash: stored.hash, expect: "absent" });
    return savedAs;
  }

  /** Plans a tree conflict's choice; returns the entry changes it leads to. */
  private async tree(path: string, entry: Entry, conflict: ConflictRecord, accept: Accept, rec: ResolvedPath, next: Entry): Promise<Record<string, Entry | null>> {
    const reason = conflict.reason ?? "";
    const replaced = isKindClash(reason);
    if (accept === "base") {
      throw new Refusal(`'${path}' is in a tree conflict (${reason}): --accept base does not apply; keep your side (working) or take the server's (theirs-full)`);
    }
    if (accept !== "theirs-full" && accept !== "theirs-conflict") {
      // Keep the local state as it is: only the record goes (and a merge's SOURCE version is kept).
      if (replaced) rec.note = "the next commit replaces the server's object with yours";
      if (entry.kind === "file") await this.keepSourceVersion(path, conflict, rec);
      return { [path]: next };
    }
    const changes: Record<string, Entry | null> = { [path]: next };
    if (replaced || (entry.kind === "folder" && reason === DIR_CONFLICT_REASONS.deletedRemotelyWithLocalChanges)) {
      // The local object goes — deleted on the server, or replaced there by another kind. Everything
      // is saved first (a folder's whole tree as DIR.orig/), and the entries are dropped, so that
      // for a replacement the next update simply brings the server's object.
      const notes: string[] = [];
      if (entry.kind === "folder") {
        const moved = await this.moveFolderAside(path);
        rec.savedAs = moved.savedAs;
        if (moved.left.length > 0) notes.push(`left in place (not regular files): ${moved.left.join(", ")}`);
        for (const inner of entriesUnder(this.wc.entries.entries, path)) changes[inner] = null;
      } else {
        rec.savedAs = await this.saveAside(path, { remove: true });
      }
      rec.metaSavedAs = await this.replaceMetaFile(path, null, { save: true });
      changes[path] = null;
      if (replaced) notes.push("run `zsync update` to bring the server's version");
      if (notes.length > 0) rec.note = notes.join("; ");
      return changes;
    }
    switch (reason) {
      case FILE_CONFLICT_REASONS.editedLocallyDeletedRemotely:
        // Accept the deletion: the file and its metadata file go, saved as .orig.
        rec.savedAs = await this.saveAside(path, { remove: true });
        rec.metaSavedAs = await this.replaceMetaFile(path, null, { save: true });
        return { [path]: null };
      case FILE_CONFLICT_REASONS.removedLocallyChangedRemotely:
      case FILE_CONFLICT_REASONS.obstructedByUnversionedFile: {
        // Take the server's file (the BASE now); a local file that differs is saved first.
        delete next.schedule;
        delete next.cache;
        const now = await this.current(path);
        if (now !== "absent" && now !== "other" && now.hash !== entry.hash) rec.savedAs = await this.saveAside(path, { remove: false });
        await this.writeContent(path, entry.hash!);
        const wanted = entry.meta ? metaText(entry.meta as Record<string, unknown>) : null;
        const bytes = await readCheckoutFile(this.root, metaFileOf(path)).catch(() => undefined);
        if (bytes === undefined ? wanted !== null : !sameJson(bytes.toString("utf8"), entry.meta)) {
          rec.metaSavedAs = await this.replaceMetaFile(path, wanted, { save: true });
        }
        return changes;
      }
      default:
        throw new Refusal(`'${path}' is in a tree conflict zsync cannot take the server's side of (${reason || "unknown reason"}); resolve it by hand, then --accept working`);
    }
  }

  /** Moves every regular file under folder `path` (its @@meta files included) into `path.orig/`, then removes the emptied folders. */
  private async moveFolderAside(path: string): Promise<{ savedAs?: string; left: string[] }> {
    const s = await lstatOrNone(join(this.root, path));
    if (!s?.isDirectory()) return { left: [] };
    const dest = await this.pickOrig(path);
    const dirs: string[] = [];
    const left: string[] = [];
    const walk = async (rel: string) => {
      dirs.push(rel);
      this.steps.push({ do: "mkdir", path: rel === "" ? dest : `${dest}/${rel}` });
      for (const name of (await readdir(join(this.root, path, rel))).sort()) {
        const inner = rel === "" ? name : `${rel}/${name}`;
        const st = await lstat(join(this.root, path, inner));
        if (st.isDirectory()) await walk(inner);
        else if (st.isFile()) {
          const from = `${path}/${inner}`;
          const stored = await storePristine(this.root, createReadStream(join(this.root, from)));
          this.steps.push({ do: "write", path: `${dest}/${inner}`, hash: stored.hash, expect: "absent" });
          this.steps.push({ do: "delete", path: from, expect: { hash: stored.hash } });
        } else left.push(`${path}/${inner}`);
      }
    };
    await walk("");
    for (const rel of dirs.sort((a, b) => b.length - a.length)) this.steps.push({ do: "rmdir", path: rel === "" ? path : `${path}/${rel}` });
    return { savedAs: dest, left };
  }
}

function sameJson(text: string, meta: ObjectMeta | undefined): boolean {
  try {
    return formatMeta(JSON.parse(text) as ObjectMeta) === formatMeta(meta ?? {});
  } catch {
    return false;
  }
}

