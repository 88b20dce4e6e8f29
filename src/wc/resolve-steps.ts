/**
 * The base of `resolve`'s plan: the journal steps and entry changes of one command, and the
 * ways it keeps a user's bytes — free `.orig` names, saving a file or metadata file aside through
 * the pristine store — before a choice replaces them. Also the types every part of the plan shares.
 */
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { WcError } from "./admin.js";
import { lstatOrNone, sha256 } from "./add.js";
import type { ConflictRecord, Entry } from "./entries.js";
import { runJournalOn, type JournalReport, type JournalStep } from "./journal.js";
import { SOURCE_LABEL } from "./merge-source.js";
import { metaFileOf } from "./meta-files.js";
import { hashFile, hasPristine, pristinePath, storePristine } from "./pristine.js";
import { readCheckoutFile } from "./safe-path.js";
import type { WorkingCopy } from "./session.js";

/** svn's `--accept` choices that resolve (`postpone` is the absence of a choice). */
export const ACCEPT_CHOICES = ["base", "working", "mine-full", "theirs-full", "mine-conflict", "theirs-conflict"] as const;
export type Accept = (typeof ACCEPT_CHOICES)[number];

/** Per-region (text) or per-key (metadata) choice of the interactive resolver. */
export type HunkChoice = "mine" | "theirs" | "both" | "base";

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

/** A whole-side choice, or one choice per hunk. */
export type Choice = { accept: Accept; force: boolean } | { hunks: HunkChoice[]; force: boolean };

/** A choice that cannot be made; the path is left as it was. */
export class Refusal extends Error {}

/** `bytes` as a one-chunk stream (for the pristine store). */
export async function* once(bytes: Uint8Array) {
  yield bytes;
}

/** Collects the journal steps and entry changes of one resolve command, and saves local bytes aside. */
export class ResolveSteps {
  readonly steps: JournalStep[] = [];
  readonly entryChanges: Record<string, Entry | null> = {};
  readonly resolved: ResolvedPath[] = [];
  protected readonly taken = new Set<string>();
  protected readonly takenFolders: string[] = [];

  constructor(protected readonly wc: WorkingCopy) {}

  protected get root() {
    return this.wc.root;
  }

  /** True when `path` lies inside a folder this plan already took from the server. */
  covered(path: string): boolean {
    return this.takenFolders.some((f) => path.startsWith(f + "/"));
  }

  async run(): Promise<JournalReport["savedAside"]> {
    if (this.resolved.length === 0) return [];
    const report = await runJournalOn(this.wc, { command: "resolve", steps: this.steps, entries: this.entryChanges });
    return report.savedAside;
  }

  /** A free name for saving `path` aside: `path.orig`, `path.orig.1`, … */
  protected async pickOrig(path: string): Promise<string> {
    const entries = this.wc.entries.entries;
    for (let n = 0; ; n++) {
      const candidate = n === 0 ? `${path}.orig` : `${path}.orig.${n}`;
      if (this.taken.has(candidate) || entries.has(candidate) || (await lstatOrNone(join(this.root, candidate)))) continue;
      this.taken.add(candidate);
      return candidate;
    }
  }

  /** Hash of a regular file, or what else is there. */
  protected async current(path: string): Promise<{ hash: string } | "absent" | "other"> {
    const s = await lstatOrNone(join(this.root, path));
    if (!s) return "absent";
    if (!s.isFile()) return "other";
    return { hash: (await hashFile(join(this.root, path))).hash };
  }

  /** Steps making the working file hold pristine `hash`. */
  protected async writeContent(path: string, hash: string): Promise<boolean> {
    if (!(await hasPristine(this.root, hash))) throw new Refusal(`'${path}': the saved version ${pristinePath(this.root, hash)} is missing; nothing was changed`);
    const now = await this.current(path);
    if (now !== "absent" && now !== "other" && now.hash === hash) return false;
    this.steps.push({ do: "write", path, hash, expect: now === "absent" || now === "other" ? "absent" : now });
    return true;
  }

  /** Steps deleting the record's artifact files (only those, and only regular files). */
  protected async removeArtifacts(conflict: ConflictRecord): Promise<string[]> {
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
  protected async saveAside(path: string, opts: { remove: boolean }): Promise<string | undefined> {
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
  protected async replaceMetaFile(path: string, text: string | null, opts: { save: boolean }): Promise<string | undefined> {
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

  /** Plans writing `bytes` (through the pristine store) to the next free `.orig` name of `file`. */
  protected async saveTextAside(file: string, bytes: Buffer): Promise<string> {
    const stored = await storePristine(this.root, once(bytes));
    const savedAs = await this.pickOrig(file);
    this.steps.push({ do: "write", path: savedAs, hash: stored.hash, expect: "absent" });
    return savedAs;
  }

  /** After a merge between checkouts, a choice that keeps the local side drops SOURCE's version (`FILE.source`): kept as `.orig` unless the file holds it. */
  protected async keepSourceVersion(path: string, conflict: ConflictRecord, rec: ResolvedPath): Promise<void> {
    const theirs = conflict.versions?.theirs;
    if (conflict.labels?.theirs !== SOURCE_LABEL || theirs === undefined || !(await hasPristine(this.root, theirs))) return;
    const now = await this.current(path);
    if (now !== "absent" && now !== "other" && now.hash === theirs) return;
    const savedAs = await this.pickOrig(path);
    this.steps.push({ do: "write", path: savedAs, hash: theirs, expect: "absent" });
    rec.note = [rec.note, `SOURCE's version saved as ${savedAs}`].filter(Boolean).join("; ");
  }

}
