/**
 * Fuzz target: `@@meta/<name>.json` metadata files (src/wc/meta-files.ts) and the metadata
 * validation they rely on (`parseObjectMeta`, src/protocol/manifest.ts).
 *
 * Any file content reads as valid metadata or as an error message (never a throw); formatting
 * round-trips; the conflict form marks exactly the conflicting keys, stays JSON, and resolves to
 * valid metadata; metadata file names and object paths map one to one.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import fc from "fast-check";
import { ManifestError, parseObjectMeta } from "../../src/protocol/manifest.js";
import type { ObjectMeta } from "../../src/protocol/types.js";
import {
  CONFLICT_KEY,
  formatMeta,
  formatMetaConflict,
  metaFileOf,
  objectOfMetaFile,
  readWorkingMetaSync,
  sameMeta,
  unresolvedMetaKeys,
} from "../../src/wc/meta-files.js";
import { edgePathArb, jsonLikeArb, objectMetaArb, validNameArb, validPathArb, viaJson } from "./arbitraries.js";
import { assertValidMeta } from "./meta-invariants.js";
import { mutateText, mutationsArb } from "./mutate.js";
import { fuzzTest } from "./runs.js";

const root = mkdtempSync(join(tmpdir(), "zsync-fuzz-meta-"));
after(() => rmSync(root, { recursive: true, force: true }));

/** Writes `text` as the metadata file of `name` and reads it back the way status does. */
function readAsFile(name: string, text: string): { meta?: ObjectMeta; error?: string } {
  mkdirSync(join(root, "@@meta"), { recursive: true });
  writeFileSync(join(root, metaFileOf(name)), text);
  return readWorkingMetaSync(root, name);
}

function assertReadResult(result: { meta?: ObjectMeta; error?: string }, name: string): void {
  if (result.error !== undefined) {
    assert.equal(result.meta, undefined);
    assert.ok(result.error.startsWith(metaFileOf(name) + ": "), `error names the file: ${result.error}`);
  } else {
    assertValidMeta(result.meta);
    assert.deepEqual(unresolvedMetaKeys(result.meta), []);
  }
}

/** A conflicting key as the merge engine names them: `contentType`, `extra.<key>`, `annotations.<key>`. */
const conflictKeyArb = fc.oneof(
  fc.constant("contentType"),
  fc.tuple(fc.constantFrom("extra", "annotations"), fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("__proto__", "constructor", "a.b", CONFLICT_KEY)))
    .map(([group, key]) => `${group}.${key}`),
);

fuzzTest(
  "any metadata file content reads as valid metadata or an error naming the file",
  fc.property(
    validNameArb,
    fc.oneof(
      fc.string({ maxLength: 60 }),
      jsonLikeArb(["contentType", "extra", "annotations", CONFLICT_KEY]).map((value) => JSON.stringify(value) ?? ""),
      fc.tuple(objectMetaArb, mutationsArb()).map(([meta, mutations]) => mutateText(formatMeta(meta), mutations)),
    ),
    (name, text) => assertReadResult(readAsFile(name, text), name),
  ),
  { weight: 0.5 },
);

fuzzTest(
  "parseObjectMeta accepts only valid metadata within the limit, and returns it unchanged",
  fc.property(fc.oneof(objectMetaArb, jsonLikeArb(["contentType", "extra", "annotations"])), fc.integer({ min: 2, max: 300 }), (raw, maxBytes) => {
    const value = viaJson(raw);
    let meta: ObjectMeta;
    try {
      meta = parseObjectMeta(value, "x", maxBytes);
    } catch (error) {
      assert.ok(error instanceof ManifestError, `expected ManifestError, got ${String(error)}`);
      return;
    }
    assertValidMeta(meta, maxBytes);
    assert.deepEqual(meta, value);
  }),
);

fuzzTest(
  "formatMeta round-trips through the file, and is stable",
  fc.property(validNameArb, objectMetaArb, (name, raw) => {
    const meta = viaJson(raw);
    const text = formatMeta(meta);
    const read = readAsFile(name, text);
    assert.equal(read.error, undefined, read.error);
    assert.ok(sameMeta(read.meta, meta));
    assert.deepEqual(read.meta, JSON.parse(text));
    assert.equal(formatMeta(read.meta!), text);
  }),
  { weight: 0.5 },
);

fuzzTest(
  "the conflict form marks exactly the conflicting keys and resolves to valid metadata",
  fc.property(
    fc.option(objectMetaArb, { nil: undefined }),
    fc.record({ base: objectMetaArb, mine: objectMetaArb, theirs: objectMetaArb }, { requiredKeys: [] }),
    fc.uniqueArray(conflictKeyArb, { minLength: 1, maxLength: 4 }),
    fc.constantFrom("base", "mine", "theirs"),
    (merged, versions, keys, pick) => {
      const text = formatMetaConflict(merged && viaJson(merged), viaJson(versions), keys);
      const form = JSON.parse(text) as Record<string, unknown>;
      assert.deepEqual(unresolvedMetaKeys(form).sort(), [...keys].sort(), "every conflicting key is marked, nothing else");
      // Each marker holds exactly the sides that have a value for the key (absent ones left out).
      for (const key of keys) {
        const [group, ...rest] = key.split(".");
        const at = (meta: Record<string, unknown> | undefined) => {
          const bucket = (key === "contentType" ? meta : meta?.[group]) as Record<string, unknown> | undefined;
          const name = key === "contentType" ? key : rest.join(".");
          return bucket !== undefined && Object.hasOwn(bucket, name) ? bucket[name] : undefined;
        };
        const expected = Object.fromEntries(
          (["base", "mine", "theirs"] as const).flatMap((side) => {
            const version = versions[side];
            const value = at(version && (viaJson(version) as Record<string, unknown>));
            return value === undefined ? [] : [[side, value]];
          }),
        );
        assert.deepEqual(viaJson((at(form) as Record<string, unknown>)[CONFLICT_KEY]), viaJson(expected), `marker of ${key}`);
      }
      const read = readAsFile("conflicted", text);
      assert.match(read.error ?? "", /unresolved metadata conflict/);
      // Resolving every marker with one side's value (absent: dropped) gives valid metadata.
      const resolve = (marker: unknown) => ((marker as Record<string, Record<string, unknown>>)[CONFLICT_KEY] ?? {})[pick];
      if (unresolvedMetaKeys({ contentType: form.contentType }).length) form.contentType = resolve(form.contentType);
      for (const group of ["extra", "annotations"]) {
        const bucket = form[group] as Record<string, unknown> | undefined;
        for (const key of Object.keys(bucket ?? {})) if (unresolvedMetaKeys({ [group]: { [key]: bucket![key] } }).length) bucket![key] = resolve(bucket![key]);
      }
      const resolved = readAsFile("conflicted", JSON.stringify(form));
      if (typeof form.contentType === "string" || form.contentType === undefined) assertReadResult(resolved, "conflicted");
    },
  ),
  {
    weight: 0.5,
    examples: [
      // Fixed: a conflicting key `extra.__proto__` absent from the merged metadata replaced the
      // bucket's prototype, so the conflict form silently lost it.
      [{}, { mine: { extra: JSON.parse('{"__proto__":1}') as Record<string, fc.JsonValue> } }, ["extra.__proto__"], "mine"],
    ],
  },
);

fuzzTest(
  "metadata file names and object paths map one to one",
  fc.property(fc.oneof(validPathArb, fc.constant("")), fc.oneof(edgePathArb, validPathArb.map((p) => `${p}/@@meta/x.json`), fc.constantFrom("@@meta/@@root.json", "a/@@meta/@@root.json", "@@meta/.json", "@@meta/@@meta/a.json")), (path, file) => {
    assert.equal(objectOfMetaFile(metaFileOf(path)), path);
    const object = objectOfMetaFile(file);
    if (object !== undefined) assert.equal(metaFileOf(object), file);
  }),
);
