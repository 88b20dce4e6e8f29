/**
 * The plan of one `resolve` (see resolve.ts for the policy): per conflicted path, what the
 * working file is to hold after the choice, which local versions must be kept as `.orig` first,
 * then the metadata and tree parts, all as journal steps carried out together.
 */
import { mergeText } from "../merge/text.js";
import { sha256 } from "./add.js";
import type { ConflictRecord, Entry } from "./entries.js";
import { SOURCE_LABEL } from "./merge-source.js";
import { hasPristine, pristinePath, readPristine, storePristine } from "./pristine.js";
import { sideOf } from "./resolve-meta.js";
import { Refusal, once, type Choice, type ResolvedPath } from "./resolve-steps.js";
import { assemble, holdsAddedLines, markerLine, textRegions } from "./resolve-text.js";
import { TreeChoices } from "./resolve-tree.js";
import { readCheckoutFile } from "./safe-path.js";

/** Collects the journal steps and entry changes of one resolve command. */
export class Planner extends TreeChoices {
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
  protected async content(path: string, conflict: ConflictRecord, choice: Choice): Promise<string | undefined> {
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

  protected async storeText(text: string): Promise<string> {
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
  protected async keepLocalContent(path: string, conflict: ConflictRecord, target: string | undefined): Promise<{ what: string; savedAs: string }[]> {
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
          ? await readPristine(this.root, target)
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

  /**
   * True when the content `result` (undefined: no file) holds every line `version` added to
   * BASE (text conflicts only): then nothing `version` wrote is lost with its artifact.
   */
  protected async holdsChanges(conflict: ConflictRecord, version: string, result: Buffer | undefined): Promise<boolean> {
    if (result === undefined || conflict.kind !== "text") return false;
    const base = conflict.versions?.base;
    if (base !== undefined && !(await hasPristine(this.root, base))) return false;
    return holdsAddedLines(base === undefined ? "" : await readPristine(this.root, base), await readPristine(this.root, version), result);
  }

  /** Hash of the text with conflict markers the update (or merge) wrote, rebuilt from the record; undefined when it cannot be. */
  protected async markedHash(conflict: ConflictRecord): Promise<string | undefined> {
    const { versions, labels } = conflict;
    if (conflict.kind !== "text" || !versions?.mine || !versions.theirs || !labels) return undefined;
    const hashes = [versions.base, versions.mine, versions.theirs];
    for (const hash of hashes) if (hash !== undefined && !(await hasPristine(this.root, hash))) return undefined;
    const [base, mine, theirs] = await Promise.all(hashes.map(async (h) => (h === undefined ? "" : (await readPristine(this.root, h)).toString("utf8"))));
    return sha256(mergeText(base, mine, theirs, { mine: ".mine", base: labels.base, theirs: labels.theirs }).text);
  }

}
