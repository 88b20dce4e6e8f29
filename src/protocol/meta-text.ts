/**
 * Metadata as text, the way a checkout shows it: the metadata of `dir/name` is the JSON file
 * `dir/@@meta/name.json` (the root's is `@@meta/@@root.json`), with sorted keys. Shared by the
 * working copy, the server's revision diffs and the git mirror, so all three show the same text.
 */
import { baseName, parentPath } from "./paths.js";
import type { ObjectMeta } from "./types.js";

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

/** The metadata file's text, "" when there is no metadata. */
export function metaText(meta: ObjectMeta | undefined): string {
  return meta && Object.keys(meta).length > 0 ? formatMeta(meta) : "";
}

/** A copy of a JSON value with every object's keys sorted. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
