/**
 * Per-key three-way merge of editable object metadata (pure: no I/O).
 *
 * Metadata is merged key by key, so a server-side change of one field never conflicts with a local
 * change of another. The keys are `contentType`, every key inside `extra` (named `extra.<key>`) and
 * every key inside `annotations` (named `annotations.<key>`). Values are compared as JSON with
 * object keys sorted, so `{"a":1,"b":2}` equals `{"b":2,"a":1}`; they are never merged inside
 * (an annotation record changed differently on both sides is one conflict).
 */
import type { ObjectMeta } from "../protocol/types.js";

/** Outcome of {@link mergeMeta}. */
export interface MetaMergeResult {
  /** True when no key conflicts. */
  clean: boolean;
  /** The merged metadata; `undefined` when nothing is left. Conflicting keys hold MINE's value. */
  meta: ObjectMeta | undefined;
  /** Names of the conflicting keys (`contentType`, `extra.title`, `annotations.dc`, …), in key order. */
  conflicts: string[];
}

/** The two metadata records whose keys are merged one by one. */
const RECORD_GROUPS = ["extra", "annotations"] as const;

/**
 * Three-way merge of metadata; `undefined` on any side means "no metadata" (every key absent).
 *
 * Per key: changed only on one side → that side's value; changed the same way on both → that
 * value; changed differently → conflict, and the merged value keeps MINE's (the caller records the
 * conflict). Deleting a key is a change like any other, so delete-vs-edit conflicts and
 * delete-vs-unchanged deletes. Empty `extra`/`annotations` records are dropped; if nothing remains
 * the result is `undefined`. Keys keep the order of mine, then theirs, then base.
 */
export function mergeMeta(
  base: ObjectMeta | undefined,
  mine: ObjectMeta | undefined,
  theirs: ObjectMeta | undefined,
): MetaMergeResult {
  const conflicts: string[] = [];
  const merged: ObjectMeta = {};

  const contentType = mergeValue(base?.contentType, mine?.contentType, theirs?.contentType);
  if (contentType.conflict) conflicts.push("contentType");
  if (contentType.value !== undefined) merged.contentType = contentType.value as string;

  for (const group of RECORD_GROUPS) {
    const baseRecord = base?.[group] ?? {};
    const mineRecord = mine?.[group] ?? {};
    const theirsRecord = theirs?.[group] ?? {};
    const record: Record<string, unknown> = {};
    for (const key of unionOfKeys([mineRecord, theirsRecord, baseRecord])) {
      const outcome = mergeValue(ownValue(baseRecord, key), ownValue(mineRecord, key), ownValue(theirsRecord, key));
      if (outcome.conflict) conflicts.push(`${group}.${key}`);
      if (outcome.value !== undefined) setOwnValue(record, key, outcome.value);
    }
    if (Object.keys(record).length > 0) merged[group] = record;
  }

  const meta = Object.keys(merged).length > 0 ? merged : undefined;
  return { clean: conflicts.length === 0, meta, conflicts };
}

/**
 * Three-way merge of one value (`undefined` = key absent): the side that changed wins; both
 * changed the same way → that value; both changed differently → conflict, MINE's value kept.
 */
function mergeValue(base: unknown, mine: unknown, theirs: unknown): { value: unknown; conflict: boolean } {
  const baseJson = canonicalJson(base);
  const mineJson = canonicalJson(mine);
  const theirsJson = canonicalJson(theirs);
  if (mineJson === baseJson) return { value: theirs, conflict: false };
  if (theirsJson === baseJson || theirsJson === mineJson) return { value: mine, conflict: false };
  return { value: mine, conflict: true };
}

/**
 * JSON text of `value` with object keys sorted at every depth, for deep equality.
 * `undefined` (an absent key) gives `undefined`; object members whose value is `undefined` are
 * skipped, as `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    return `[${value.map((item) => canonicalJson(item) ?? "null").join(",")}]`;
  }
  if (value !== null && typeof value === "object") {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = canonicalJson((value as Record<string, unknown>)[key]);
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
    }
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The value of an own property, or `undefined` (so `"toString"` and friends are plain keys). */
function ownValue(record: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** Sets an own enumerable property; unlike `record[key] = value`, safe for the key `__proto__`. */
function setOwnValue(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Every key of the records, each once, in order of first appearance. */
function unionOfKeys(records: readonly Record<string, unknown>[]): string[] {
  const keys = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) keys.add(key);
  return [...keys];
}
