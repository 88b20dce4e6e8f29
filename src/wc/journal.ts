/**
 * The journal: a multi-file change is first written down as idempotent steps plus the entries
 * it leads to (`.zsync/journal.json`, atomically), then carried out, then deleted. A command
 * killed at any point is completed by the next command (or `zsync cleanup`) replaying the
 * journal. Steps never destroy bytes they did not expect: a file that changed under us is
 * moved aside, not overwritten.
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { lstat, mkdir, readFile, rename, rm, rmdir, stat } from "node:fs/promises";
import { constants, copyFileSync, lstatSync, mkdirSync, writeFileSync, type BigIntStats } from "node:fs";
import { dirname, join } from "node:path";
import { adminPaths, WcError } from "./admin.js";
import { copyFileAtomic, namePathOnDiskFull, writeFileAtomic } from "./atomic.js";
import { entriesOnDisk, loadEntries, saveEntries, setOrDelete, type Entries, type Entry } from "./entries.js";
import { parseMetaText } from "./meta-files.js";
import { objectOfMetaFile } from "../protocol/meta-text.js";
import { hashFile, hasPristine, missingPristineError, pristinePath } from "./pristine.js";
import { readPacked } from "./pristine-pack.js";
import { isPrefixOf } from "./cut-short.js";
import { checkoutPathChecker } from "./safe-path.js";
import type { EarlyFile } from "./early-writes.js";
import { cacheFromStats, metaCacheFromStats, type TakenStat } from "./stat-cache.js";

/** What a file is expected to hold before a step touches it. */
export type Expectation = { hash: string } | "absent" | "any";

export type JournalStep =
  /** Make the working file hold pristine content `hash`. */
  | { do: "write"; path: string; hash: string; expect: Expectation }
  /** Make a small file (metadata) hold `text`, or remove it when `text` is null. */
  | { do: "write-text"; path: string; text: string | null; expect: Expectation }
  | { do: "mkdir"; path: string }
  /** Remove a working file that still holds `expect`; anything else stays. */
  | { do: "delete"; path: string; expect: Expectation }
  /** Remove a directory if it is empty (its contents were handled by earlier steps). */
  | { do: "rmdir"; path: string };

export interface Journal {
  command: string;
  steps: JournalStep[];
  /** Entries to set (null removes the entry) once the steps are done. */
  entries: Record<string, Entry | null>;
  /** New checkout revision, when the command moves it. */
  revision?: number;
}

/** What replaying did that a user must hear about. */
export interface JournalReport {
  /** Files that changed under the command and were moved aside instead of being overwritten. */
  savedAside: { path: string; savedAs: string; /** What was in the way, when not a changed file. */ was?: "folder" | "other" }[];
  /** The entries as saved (undefined when there was no journal to replay). */
  entries?: Entries;
}

/** Options of {@link runJournal} and {@link replayJournal}. */
export interface ReplayOptions {
  /** The entries the command read under its lock: used instead of reading the index again while they are still current. */
  entries?: Entries;
  /** The journal just written by {@link runJournal} (not read back and validated again). */
  journal?: Journal;
  /**
   * Working files a new checkout created while receiving (src/wc/early-writes.ts), by path: a
   * `write` step of a new file with the same content is done, and its file is taken out of the map.
   */
  prewritten?: Map<string, EarlyFile>;
}

/** Writes the journal, carries it out, and removes it. */
export async function runJournal(root: string, journal: Journal, opts: ReplayOptions = {}): Promise<JournalReport> {
  // Refuse before the journal exists, so a refused command leaves the checkout as it was.
  const unsafe = checkoutPathChecker(root);
  for (const step of journal.steps) refuseUnsafe(unsafe, step);
  // Likewise every BASE copy a write needs (a missing one, or a damaged pack index, is an error
  // now rather than a journal that fails halfway and again at each replay).
  const bases = new Set<string>();
  for (const step of journal.steps) if (step.do === "write" && opts.prewritten?.get(step.path)?.hash !== step.hash) bases.add(step.hash);
  for (const hash of bases) {
    if (!(await hasPristine(root, hash))) throw missingPristineError(root, hash);
  }
  await writeFileAtomic(adminPaths(root).journal, JSON.stringify(journal));
  // Carried out from memory: the file just written holds the same journal, checked above.
  return replayJournal(root, { ...opts, journal });
}

/**
 * {@link runJournal} for a command holding the checkout open: it reuses `holder.entries` instead
 * of reading the index again, and leaves the entries as saved in `holder.entries`.
 */
export async function runJournalOn(holder: { root: string; entries: Entries }, journal: Journal, opts: Pick<ReplayOptions, "prewritten"> = {}): Promise<JournalReport> {
  const report = await runJournal(holder.root, journal, { ...opts, entries: holder.entries });
  holder.entries = report.entries ?? (await loadEntries(holder.root));
  return report;
}

/** True when an unfinished journal exists. */
export async function hasJournal(root: string): Promise<boolean> {
  return stat(adminPaths(root).journal).then(() => true, () => false);
}

/** Carries out a pending journal, if any (idempotent: safe to run again after a crash). */
export async function replayJournal(root: string, opts: ReplayOptions = {}): Promise<JournalReport> {
  const file = adminPaths(root).journal;
  const journal = opts.journal ?? (await readJournal(root, file));
  if (!journal) return { savedAside: [] };
  const report: JournalReport = { savedAside: [] };
  const written = new Map<string, Written>();
  const madeDirs = new Set<string>();
  // Checked again right before touching the disk (a symlink may have appeared since planning),
  // each folder once for this replay.
  const unsafe = checkoutPathChecker(root);
  const state: ReplayState = { report, written, madeDirs, unsafe, prewritten: opts.prewritten };
  // Steps on distinct files are independent: run them a few at a time. mkdir and rmdir are
  // barriers, so folders exist before their files and go only after them.
  let batch: JournalStep[] = [];
  const batchPaths = new Set<string>();
  const flush = async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(16, batch.length) }, async () => {
        while (next < batch.length) await applyStep(root, batch[next++], state);
      }),
    );
    batch = [];
    batchPaths.clear();
  };
  for (const step of journal.steps) {
    // A new checkout's files, made while receiving: taken here, without a step of the batch each.
    if (!batchPaths.has(step.path) && takePrewritten(step, state)) continue;
    if (step.do === "mkdir" || step.do === "rmdir" || batchPaths.has(step.path)) {
      await flush();
      if (step.do === "mkdir" || step.do === "rmdir") {
        await applyStep(root, step, state);
        continue;
      }
    }
    batch.push(step);
    batchPaths.add(step.path);
  }
  await flush();

  const entries = (opts.entries && (await entriesOnDisk(root, opts.entries))) ?? (await loadEntries(root));
  // The caller's map is changed in place: what each path held before, to put back if the save fails.
  const before = new Map<string, Entry | undefined>();
  const change = (path: string, entry: Entry | null) => {
    if (!before.has(path)) before.set(path, entries.entries.get(path));
    setOrDelete(entries.entries, [[path, entry]]);
  };
  for (const [path, entry] of Object.entries(journal.entries)) change(path, entry);
  // Files we just wrote hold their BASE: remember their stat (taken right after each write) so
  // status need not read them. Metadata files likewise, with the metadata they hold.
  const cached: string[] = [];
  for (const [path, done] of written) {
    if (done.text !== undefined) {
      const object = objectOfMetaFile(path);
      const entry = object === undefined ? undefined : entries.entries.get(object);
      const parsed = entry && done.stats ? parseMetaText(object!, done.text) : {};
      const metaCache = parsed.meta && done.stats ? metaCacheFromStats(done.stats, parsed.meta) : undefined;
      if (!entry || !metaCache) continue;
      change(object!, { ...entry, metaCache });
      cached.push(object!);
      continue;
    }
    const entry = entries.entries.get(path);
    if (!entry || entry.hash !== done.hash) continue;
    // A new object: the old one may be shared with the caller's plan, and is what an undo puts back.
    change(path, { ...entry, cache: done.stats ? cacheFromStats(done.stats, done.hash!) : undefined });
    cached.push(path);
  }
  if (journal.revision !== undefined) entries.revision = journal.revision;
  try {
    await saveEntries(root, entries, { changed: [...Object.keys(journal.entries), ...cached] });
  } catch (error) {
    setOrDelete(entries.entries, before);
    throw error;
  }
  await rm(file, { force: true });
  report.entries = entries;
  return report;
}

/** The pending journal on disk, validated as a whole; undefined when there is none. */
async function readJournal(root: string, file: string): Promise<Journal | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  let journal: Journal;
  try {
    journal = JSON.parse(text) as Journal;
  } catch {
    // Written atomically, so a torn journal cannot happen; refuse rather than guess.
    throw new WcError("corrupt-admin", `${file} is unreadable; move it away and run \`zsync status\` to inspect the checkout`);
  }
  const problem = journalProblem(root, journal);
  if (problem) throw new WcError("corrupt-admin", `${file} is not a valid journal (${problem}); nothing was done. Move it away and run \`zsync status\` to inspect the checkout`);
  return journal;
}

/** What is at a path now: a regular file's hash, or what else is there (a symlink is never followed). */
async function currentHash(absolute: string): Promise<string | "absent" | "dir" | "other"> {
  const s = await lstat(absolute).catch(() => undefined);
  if (!s) return "absent";
  if (s.isDirectory()) return "dir";
  if (!s.isFile()) return "other";
  return (await hashFile(absolute)).hash;
}

function matches(current: string, expect: Expectation): boolean {
  if (expect === "any") return true;
  if (expect === "absent") return current === "absent";
  return current === expect.hash;
}

async function moveAside(root: string, path: string, report: JournalReport): Promise<void> {
  for (let n = 1; ; n++) {
    const savedAs = `${path}.zsync-saved${n === 1 ? "" : "-" + n}`;
    if (!(await lstat(join(root, savedAs)).catch(() => undefined))) {
      const s = await lstat(join(root, path));
      await rename(join(root, path), join(root, savedAs));
      report.savedAside.push({ path, savedAs, ...(s.isDirectory() ? { was: "folder" as const } : s.isFile() ? {} : { was: "other" as const }) });
      return;
    }
  }
}

const STEP_KINDS = new Set(["write", "write-text", "mkdir", "delete", "rmdir"]);

/** What is wrong with a journal read from disk (a crafted one must not aim outside the checkout). */
function journalProblem(root: string, journal: Journal): string | undefined {
  const unsafePath = checkoutPathChecker(root);
  if (typeof journal !== "object" || journal === null || !Array.isArray(journal.steps)) return "no steps";
  if (typeof journal.entries !== "object" || journal.entries === null || Array.isArray(journal.entries)) return "no entries";
  if (journal.revision !== undefined && !Number.isSafeInteger(journal.revision)) return "bad revision";
  for (const step of journal.steps) {
    if (typeof step !== "object" || step === null || !STEP_KINDS.has(step.do) || typeof step.path !== "string" || step.path === "") return "a malformed step";
    if (step.do === "write" && !/^[0-9a-f]{64}$/.test(String(step.hash))) return `a bad hash for ${JSON.stringify(step.path)}`;
    if (step.do === "write-text" && step.text !== null && typeof step.text !== "string") return `bad text for ${JSON.stringify(step.path)}`;
    const unsafe = unsafePath(step.path);
    if (unsafe) return unsafe;
  }
  for (const path of Object.keys(journal.entries)) {
    const unsafe = unsafePath(path);
    if (unsafe) return unsafe;
  }
  return undefined;
}

/** What one replay shares between its steps. */
interface ReplayState {
  report: JournalReport;
  /** Files written, with the content they now hold. */
  written: Map<string, Written>;
  /** Folders known to exist. */
  madeDirs: Set<string>;
  unsafe: (path: string) => string | undefined;
  prewritten?: Map<string, EarlyFile>;
}

function refuseUnsafe(unsafe: (path: string) => string | undefined, step: JournalStep): void {
  const problem = unsafe(step.path);
  if (problem) throw new WcError("unsafe-path", `cannot ${step.do} ${step.path}: ${problem}; refused, nothing was written`);
}

/** A file a replay left holding known content, with its stat taken right after (a later edit changes it). */
interface Written {
  /** A `write` step's content. */
  hash?: string;
  /** A `write-text` step's text. */
  text?: string;
  stats?: TakenStat;
}

function statsOf(absolute: string): BigIntStats | undefined {
  const s = lstatSync(absolute, { bigint: true, throwIfNoEntry: false });
  return s?.isFile() ? s : undefined;
}

/**
 * A `write` step of a new file that the early writer made with the same content is done: its
 * file is taken out of `prewritten`, with the stat the writer took. False for any other step.
 */
function takePrewritten(step: JournalStep, { written, unsafe, prewritten }: ReplayState): boolean {
  if (step.do !== "write" || step.expect !== "absent") return false;
  const early = prewritten?.get(step.path);
  if (early?.hash !== step.hash) return false;
  refuseUnsafe(unsafe, step);
  prewritten!.delete(step.path);
  written.set(step.path, { hash: step.hash, stats: early });
  return true;
}

async function applyStep(root: string, step: JournalStep, state: ReplayState): Promise<void> {
  const { report, written, madeDirs, unsafe } = state;
  if (takePrewritten(step, state)) return;
  refuseUnsafe(unsafe, step);
  const absolute = join(root, step.path);
  switch (step.do) {
    case "mkdir": {
      const s = await lstat(absolute).catch(() => undefined);
      if (s && !s.isDirectory()) await moveAside(root, step.path, report);
      await mkdir(absolute, { recursive: true });
      return;
    }
    case "write": {
      // The BASE copy: bytes from the pack (a new checkout's), else its loose file.
      const source = readPacked(root, step.hash) ?? pristinePath(root, step.hash);
      if (step.expect === "absent") {
        // A new file (a checkout's every file): created in place with O_EXCL, which never follows
        // or replaces whatever may be there — no lstat first, no temp file, no rename. A kill
        // mid-copy leaves a prefix of the content, which the replay below recognises and completes.
        await ensureDir(dirname(absolute), madeDirs);
        if (typeof source === "string" ? await copyNew(root, source, absolute, step.hash) : await writeNew(absolute, source)) {
          written.set(step.path, { hash: step.hash, stats: statsOf(absolute) });
          return;
        }
      }
      const current = await currentHash(absolute);
      if (current === step.hash) {
        written.set(step.path, { hash: step.hash, stats: statsOf(absolute) });
        return;
      }
      const ours = step.expect === "absent" && current !== "absent" && current !== "dir" && current !== "other" && (await isPrefixOf(absolute, source));
      if (current !== "absent" && !ours && (current === "dir" || current === "other" || !matches(current, step.expect))) {
        await moveAside(root, step.path, report);
      }
      await ensureDir(dirname(absolute), madeDirs);
      // fsync when older bytes are replaced (power loss must not leave neither); a brand-new file
      // has nothing to lose, and skipping it keeps large checkouts fast (svn and git do the same).
      const fsync = current !== "absent" && !ours;
      if (typeof source === "string") await copyFileAtomic(source, absolute, { fsync }).catch((error: unknown) => missingPristine(root, step.hash, error));
      else await writeFileAtomic(absolute, source, { fsync });
      written.set(step.path, { hash: step.hash, stats: statsOf(absolute) });
      return;
    }
    case "write-text": {
      if ((step.expect === "absent" || step.expect === "any") && step.text !== null) {
        // A new metadata file (a checkout writes thousands): created in place like a new file
        // above. A kill mid-write leaves a prefix, which the replay completes (or, for "any",
        // simply replaces).
        await ensureDir(dirname(absolute), madeDirs);
        if (await writeNew(absolute, step.text)) {
          written.set(step.path, { text: step.text, stats: statsOf(absolute) });
          return;
        }
      }
      const current = await currentHash(absolute);
      const target = step.text === null ? "absent" : nodeCrypto().createHash("sha256").update(step.text).digest("hex");
      if (current === target) {
        if (step.text !== null) written.set(step.path, { text: step.text, stats: statsOf(absolute) });
        return;
      }
      const ours = step.expect === "absent" && step.text !== null && current !== "absent" && current !== "dir" && current !== "other" && (await isPrefixOf(absolute, Buffer.from(step.text)));
      if (current !== "absent" && !ours && (current === "dir" || current === "other" || !matches(current, step.expect))) await moveAside(root, step.path, report);
      if (step.text === null) {
        await rm(absolute, { force: true });
      } else {
        await ensureDir(dirname(absolute), madeDirs);
        // As for files: fsync only when older bytes are replaced.
        await writeFileAtomic(absolute, step.text, { fsync: current !== "absent" && !ours });
        written.set(step.path, { text: step.text, stats: statsOf(absolute) });
      }
      return;
    }
    case "delete": {
      const current = await currentHash(absolute);
      if (current === "absent" || current === "dir" || current === "other") return;
      if (matches(current, step.expect)) await rm(absolute, { force: true });
      return;
    }
    case "rmdir":
      // Only an empty directory goes; callers list its `@@meta` folder first when it should go too.
      await rmdir(absolute).catch(() => {});
      return;
  }
}

/**
 * Copies the pristine `source` to the new file `absolute` (reflink where the file system can);
 * false when something is already there (left for the careful path).
 */
async function copyNew(root: string, source: string, absolute: string, hash: string): Promise<boolean> {
  try {
    // Synchronous on purpose: files created from several thread-pool threads at once cost the
    // kernel two to four times the CPU in lock contention (see writePristineSync).
    copyFileSync(source, absolute, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    return missingPristine(root, hash, error);
  }
}

/** Rethrows `error`, as a clear missing-pristine error when the BASE copy is what is missing. */
async function missingPristine(root: string, hash: string, error: unknown): Promise<never> {
  if ((error as NodeJS.ErrnoException).code === "ENOENT" && !(await hasPristine(root, hash))) throw missingPristineError(root, hash);
  throw error;
}

/** Creates the new file `absolute` holding `data`; false when something is already there. */
async function writeNew(absolute: string, data: string | Buffer): Promise<boolean> {
  try {
    writeFileSync(absolute, data, { flag: "wx" }); // synchronous: see copyNew
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw namePathOnDiskFull(error, absolute);
  }
}

async function ensureDir(dir: string, madeDirs: Set<string>): Promise<void> {
  if (madeDirs.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  madeDirs.add(dir);
}
