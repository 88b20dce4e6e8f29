/**
 * Per-key three-way merge of JSON documents (pure: no I/O), the `json` merge kind a server may
 * announce for a content type. Objects are merged key by key, nested objects inside (a key is
 * named by its path, `server.port`); arrays and scalars are single values. Per key: changed on
 * one side → that side; the same on both → that; differently → a conflict naming the key, and
 * the merged document keeps MINE's value there. Removing a key is a change like any other.
 */
import { isDeepStrictEqual } from "node:util";

/** Outcome of {@link mergeJson}. */
export interface JsonMergeResult {
  clean: boolean;
  /** The merged document, written with MINE's indentation and final newline. */
  text: string;
  /** Key paths changed differently on both sides. */
  conflicts: string[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (value: unknown): value is { [key: string]: Json } => typeof value === "object" && value !== null && !Array.isArray(value);

function parse(text: string): { ok: true; value: Json } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text.replace(/^\uFEFF/, "")) as Json };
  } catch {
    return { ok: false };
  }
}

/** Merges one value; `undefined` is "absent". */
function mergeValue(base: Json | undefined, mine: Json | undefined, theirs: Json | undefined, path: string, conflicts: string[]): Json | undefined {
  if (isDeepStrictEqual(mine, theirs)) return mine;
  if (isDeepStrictEqual(base, mine)) return theirs;
  if (isDeepStrictEqual(base, theirs)) return mine;
  if (isObject(mine) && isObject(theirs) && (base === undefined || isObject(base))) {
    const merged: { [key: string]: Json } = {};
    const keys = [...new Set([...Object.keys(mine), ...Object.keys(theirs), ...Object.keys(base ?? {})])];
    for (const key of keys) {
      const own = (o: { [key: string]: Json } | undefined) => (o !== undefined && Object.hasOwn(o, key) ? o[key] : undefined);
      const value = mergeValue(own(base as { [key: string]: Json } | undefined), own(mine), own(theirs), path === "" ? key : `${path}.${key}`, conflicts);
      if (value !== undefined) merged[key] = value;
    }
    return merged;
  }
  conflicts.push(path === "" ? "(the whole document)" : path);
  return mine;
}

/** The indentation MINE uses (spaces or a tab), default two spaces. */
function indentOf(text: string): string | number {
  const match = /\n([ \t]+)\S/.exec(text);
  return match ? match[1]! : text.includes("\n") ? 2 : 0;
}

/**
 * Three-way merge of JSON texts; `base` is undefined for two independent additions. Undefined
 * when a version is not JSON (the caller merges lines instead).
 */
export function mergeJson(base: string | undefined, mine: string, theirs: string): JsonMergeResult | undefined {
  const b = base === undefined || base.trim() === "" ? { ok: true as const, value: undefined } : parse(base);
  const m = parse(mine);
  const t = parse(theirs);
  if (!b.ok || !m.ok || !t.ok) return undefined;
  const conflicts: string[] = [];
  const merged = mergeValue(b.value, m.value, t.value, "", conflicts);
  if (isDeepStrictEqual(merged, m.value)) return { clean: conflicts.length === 0, text: mine, conflicts };
  const indent = indentOf(mine);
  const text = merged === undefined ? "" : JSON.stringify(merged, null, indent) + (mine.endsWith("\n") || mine.trim() === "" ? "\n" : "");
  return { clean: conflicts.length === 0, text, conflicts };
}
