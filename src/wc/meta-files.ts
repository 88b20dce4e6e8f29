/**
 * Editable metadata as files: the metadata of `dir/name` lives in `dir/@@meta/name.json`, the
 * checkout root's own in `@@meta/@@root.json` (object names never start with `@@`, so this
 * cannot collide with an object's file).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseObjectMeta } from "../protocol/manifest.js";
import { baseName, parentPath } from "../protocol/paths.js";
import type { ObjectMeta } from "../protocol/types.js";

/** Name of the metadata directory in every folder. */
export const META_DIR = "@@meta";
const ROOT_META = "@@root.json";

/** The metadata file (relative to the root) of the object at `path`. */
export function metaFileOf(path: string): string {
  if (path === "") return `${META_DIR}/${ROOT_META}`;
  const parent = parentPath(path);
  return `${parent === "" ? "" : parent + "/"}${META_DIR}/${baseName(path)}.json`;
}

/** The object a metadata file describes, or undefined when `file` is not one. */
export function objectOfMetaFile(file: string): string | undefined {
  const parts = file.split("/");
  if (parts.length < 2 || parts[parts.length - 2] !== META_DIR) return undefined;
  const name = parts[parts.length - 1];
  const dir = parts.slice(0, -2).join("/");
  if (name === ROOT_META) return dir === "" ? "" : undefined;
  if (!name.endsWith(".json") || name === ".json") return undefined;
  const object = name.slice(0, -5);
  return dir === "" ? object : `${dir}/${object}`;
}

/** Serializes metadata as the file users edit: stable key order, two-space indent. */
export function formatMeta(meta: ObjectMeta): string {
  return JSON.stringify(sortKeys(meta), null, 2) + "\n";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

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
    text = await readFile(join(root, metaFileOf(path)), "utf8");
  } catch {
    return {};
  }
  try {
    return { meta: parseObjectMeta(JSON.parse(text), metaFileOf(path)) };
  } catch (error) {
    return { error: `${metaFileOf(path)}: ${(error as Error).message}` };
  }
}
