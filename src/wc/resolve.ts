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
import { WcError } from "./admin.js";
import { loadEntries, type Entry } from "./entries.js";
import type { JournalReport } from "./journal.js";
import { objectOfMetaFile } from "./meta-files.js";
import { hasPristine, readPristine } from "./pristine.js";
import { metaSource } from "./resolve-meta.js";
import { Planner } from "./resolve-plan.js";
import { Refusal, type Accept, type HunkChoice, type ResolvedPath } from "./resolve-steps.js";
import { textRegions } from "./resolve-text.js";
import { readCheckoutFile } from "./safe-path.js";
import type { WorkingCopy } from "./session.js";

export { ACCEPT_CHOICES, type Accept, type HunkChoice, type ResolvedPath } from "./resolve-steps.js";
export { holdsAddedLines, markerLine } from "./resolve-text.js";

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
  return readPristine(wc.root, hash);
}

function refusalToError(error: unknown): never {
  if (error instanceof Refusal) throw new WcError("resolve-refused", error.message);
  throw error;
}

