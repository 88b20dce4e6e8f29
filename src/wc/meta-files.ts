/**
 * Editable metadata as files: the metadata of `dir/name` lives in `dir/@@meta/name.json`, the
 * checkout root's own in `@@meta/@@root.json` (object names never start with `@@`, so this
 * cannot collide with an object's file).
 */
import { readCheckoutFile } from "./safe-path.js";
import { readFileSync } from "node:fs";

import { join } from "node:path";
import { parseObjectMeta } from "../protocol/manifest.js";
import { formatMeta, metaFileOf, sortKeys } from "../protocol/meta-text.js";
import type { ObjectMeta } from "../protocol/types.js";

export { META_DIR, metaFileOf, objectOfMetaFile, formatMeta } from "../protocol/meta-text.js";

/** True when two metadata values are the same JSON. */
export function sameMeta(a: ObjectMeta | undefined, b: ObjectMeta | undefined): boolean {
  const norm = (m: ObjectMeta | undefined) => (m === undefined || Object.keys(m).length === 0 ? "" : JSON.stringify(sortKeys(m)));
  return norm(a) === norm(b);
}

/**
 * Reads the working metadata of an object: undefined when the file is absent, an error
 * message when it is not valid metadata JSON.
 */
export async function readWorkingMeta(root: string, path: string): Promise<{ meta?: ObjectMeta; error?: string }> {
  let text: string;
  try {
    text = await readCheckoutFile(root, metaFileOf(path), "utf8");
  } catch {
    return {};
  }
  return parseMetaText(path, text);
}

/** {@link readWorkingMeta}, synchronously (the scanner reads many small files). */
export function readWorkingMetaSync(root: string, path: string): { meta?: ObjectMeta; error?: string } {
  let text: string;
  try {
    text = readFileSync(join(root, metaFileOf(path)), "utf8");
  } catch {
    return {};
  }
  return parseMetaText(path, text);
}

/** The metadata of the object at `path` from its metadata file's text, or what is wrong with it. */
export function parseMetaText(path: string, text: string): { meta?: ObjectMeta; error?: string } {
  try {
    const value: unknown = JSON.parse(text);
    const unresolved = unresolvedMetaKeys(value);
    if (unresolved.length > 0) {
      return { error: `${metaFileOf(path)}: unresolved metadata conflict in ${unresolved.join(", ")} (replace each "${CONFLICT_KEY}" object with the value you want)` };
    }
    return { meta: parseObjectMeta(value, metaFileOf(path)) };
  } catch (error) {
    // parseObjectMeta names the file itself; JSON.parse does not: the path once, either way.
    const message = (error as Error).message;
    return { error: message.startsWith(`${metaFileOf(path)}: `) ? message : `${metaFileOf(path)}: ${message}` };
  }
}

/** The key that marks an unresolved metadata conflict inside a `@@meta` file. */
export const CONFLICT_KEY = "@@conflict";

type Versions = { base?: ObjectMeta; mine?: ObjectMeta; theirs?: ObjectMeta };

function valueAt(meta: ObjectMeta | undefined, key: string): unknown {
  if (!meta) return undefined;
  if (key === "contentType") return meta.contentType;
  const [group, ...rest] = key.split(".");
  const bucket = meta[group as "extra" | "annotations"] as Record<string, unknown> | undefined;
  // Own keys only: `extra.__proto__` or `extra.constructor` must not read Object.prototype.
  return bucket && Object.hasOwn(bucket, rest.join(".")) ? bucket[rest.join(".")] : undefined;
}

/**
 * The editable conflict form of a metadata file: the merged metadata where each conflicting key
 * holds `{"@@conflict": {"base": …, "mine": …, "theirs": …}}` (keys sorted, as in every metadata
 * file; absent values are left out), so
 * the file stays JSON and shows every version in place. The user replaces each such object with
 * the value they want.
 */
export function formatMetaConflict(merged: ObjectMeta | undefined, versions: Versions, keys: string[]): string {
  const form: Record<string, unknown> = JSON.parse(JSON.stringify(merged ?? {}));
  for (const key of keys) {
    const choice: Record<string, unknown> = {};
    for (const side of ["mine", "base", "theirs"] as const) {
      const value = valueAt(versions[side], key);
      if (value !== undefined) choice[side] = value;
    }
    const marker = { [CONFLICT_KEY]: choice };
    if (key === "contentType") form.contentType = marker;
    else {
      const [group, ...rest] = key.split(".");
      const bucket = (form[group] ??= {}) as Record<string, unknown>;
      // Defined, not assigned: assigning `__proto__` would replace the prototype and lose the marker.
      Object.defineProperty(bucket, rest.join("."), { value: marker, enumerable: true, writable: true, configurable: true });
    }
  }
  return formatMeta(form as ObjectMeta);
}

/** Keys of a parsed metadata file that still hold a conflict form (`contentType`, `extra.title`, …). */
export function unresolvedMetaKeys(value: unknown): string[] {
  const keys: string[] = [];
  const isMarker = (v: unknown) => typeof v === "object" && v !== null && CONFLICT_KEY in v;
  if (typeof value !== "object" || value === null) return keys;
  const meta = value as Record<string, unknown>;
  if (isMarker(meta.contentType)) keys.push("contentType");
  for (const group of ["extra", "annotations"]) {
    const bucket = meta[group];
    if (typeof bucket === "object" && bucket !== null) {
      for (const [key, v] of Object.entries(bucket)) if (isMarker(v)) keys.push(`${group}.${key}`);
    }
  }
  return keys;
}
