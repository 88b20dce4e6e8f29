/**
 * Metadata conflicts as `resolve` ends them: key by key, each conflicting key taking the chosen
 * side's value (from the conflict record, or from the `@@conflict` objects in the metadata file),
 * mine's metadata and hand edits saved aside when the choice drops them, and a metadata file
 * that must be committable afterwards.
 */
import { canonicalJson, mergeMeta } from "../merge/meta.js";
import { parseObjectMeta } from "../protocol/manifest.js";
import type { ObjectMeta } from "../protocol/types.js";
import type { ConflictRecord } from "./entries.js";
import { CONFLICT_KEY, formatMeta, formatMetaConflict, metaFileOf, unresolvedMetaKeys } from "./meta-files.js";
import { Refusal, ResolveSteps, type Accept, type Choice, type HunkChoice, type ResolvedPath } from "./resolve-steps.js";
import { readCheckoutFile } from "./safe-path.js";

export type Side = "base" | "mine" | "theirs";

export interface MetaSource {
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
export async function metaSource(root: string, path: string, conflict: ConflictRecord): Promise<MetaSource | undefined> {
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

export function metaText(meta: Record<string, unknown> | undefined): string | null {
  if (!meta || Object.keys(meta).length === 0) return null;
  return formatMeta(meta as ObjectMeta);
}

/** Checks that the metadata file's text is committable metadata; returns why not. */
export function metaProblem(path: string, text: string | undefined): string | undefined {
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

export const sideOf = (accept: Accept): Side | undefined =>
  accept === "base" ? "base" : accept === "mine-full" || accept === "mine-conflict" ? "mine" : accept === "theirs-full" || accept === "theirs-conflict" ? "theirs" : undefined;

/** The metadata part of resolve's plan. */
export class MetaChoices extends ResolveSteps {
  /** Resolves the metadata file's conflicting keys (metadata conflicts, or `@@conflict` objects left beside a content conflict). */
  protected async meta(path: string, conflict: ConflictRecord, choice: Choice, rec: ResolvedPath, hunks: HunkChoice[] | undefined): Promise<void> {
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
  protected async keepMineMeta(file: string, recorded: NonNullable<ConflictRecord["meta"]>, result: Record<string, unknown> | undefined, resultText: string | null): Promise<string | undefined> {
    const mine = recorded.mine;
    if (!mine || Object.keys(mine).length === 0) return undefined;
    const dropped = recorded.keys.some((key) => canonicalJson(getKey(mine as Record<string, unknown>, key)) !== canonicalJson(getKey(result, key)));
    const mineText = formatMeta(mine);
    if (!dropped || mineText === resultText) return undefined;
    return this.saveTextAside(file, Buffer.from(mineText, "utf8"));
  }

}
