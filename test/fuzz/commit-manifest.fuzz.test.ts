/**
 * Fuzz target: the commit manifest the server accepts (`parseCommitManifest`,
 * src/protocol/manifest.ts).
 *
 * Any JSON value parses or fails with ManifestError; what is accepted obeys every rule of
 * docs/PROTOCOL.md "Commit" (safe unique paths, schedules, bases, content, metadata limits);
 * valid manifests come back unchanged and parsing is idempotent.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ManifestError, parseCommitManifest } from "../../src/protocol/manifest.js";
import type { CommitChange, CommitManifest } from "../../src/protocol/types.js";
import { edgePathArb, hashArb, jsonLikeArb, objectMetaArb, validPathArb, viaJson } from "./arbitraries.js";
import { assertSafeArchivePath } from "./invariants.js";
import { assertValidMeta } from "./meta-invariants.js";
import { mutateText, mutationsArb } from "./mutate.js";
import { fuzzTest } from "./runs.js";

type Limits = { maxChanges?: number; maxMetaBytes?: number };

/** Parses, returning the manifest or the ManifestError's message; any other error fails the property. */
function parse(value: unknown, limits: Limits = {}): CommitManifest | string {
  try {
    return parseCommitManifest(value, limits);
  } catch (error) {
    if (error instanceof ManifestError) return error.message;
    throw error;
  }
}

/** The rules an accepted manifest obeys, checked independently of the parser. */
function assertValidManifest(manifest: CommitManifest, limits: Limits): void {
  assert.equal(manifest.protocol, 1);
  assert.ok(manifest.note === undefined || typeof manifest.note === "string");
  assert.ok(manifest.changes.length <= (limits.maxChanges ?? Infinity));
  const paths = new Set<string>();
  for (const change of manifest.changes) {
    assertSafeArchivePath(change.path);
    assert.ok(!change.path.startsWith("@@"), `protocol path ${change.path} in a commit`);
    assert.ok(!paths.has(change.path), `${change.path} twice`);
    paths.add(change.path);
    assert.ok(["file", "folder"].includes(change.kind) && ["added", "removed", "modified"].includes(change.schedule));
    if (change.baseRevision !== undefined) assert.ok(Number.isSafeInteger(change.baseRevision) && change.baseRevision >= 0);
    if (change.baseHash !== undefined) assert.match(change.baseHash, /^[0-9a-f]{64}$/);
    if (change.schedule !== "added") assert.ok(change.baseRevision !== undefined || change.baseHash !== undefined, "no base");
    if (change.schedule !== "modified") assert.notEqual(change.path, "");
    if (change.content !== undefined) assert.equal(typeof change.content, "boolean");
    if (change.content) assert.equal(change.kind, "file");
    if (change.schedule === "removed") assert.ok(!change.content && change.meta === undefined);
    if (change.schedule === "added" && change.kind === "file") assert.equal(change.content, true);
    if (change.meta !== undefined && change.meta !== null) assertValidMeta(change.meta, limits.maxMetaBytes);
  }
}

/** A change that obeys the rules. */
const changeArb: fc.Arbitrary<CommitChange> = fc
  .record({
    path: validPathArb,
    kind: fc.constantFrom("file" as const, "folder" as const),
    schedule: fc.constantFrom("added" as const, "removed" as const, "modified" as const),
    baseRevision: fc.option(fc.nat(), { nil: undefined }),
    baseHash: fc.option(hashArb, { nil: undefined }),
    content: fc.boolean(),
    meta: fc.option(fc.option(objectMetaArb, { nil: null }), { nil: undefined }),
    root: fc.boolean(),
  })
  .map(({ path, kind, schedule, baseRevision, baseHash, content, meta, root }) => {
    const change: CommitChange = { path: root && schedule === "modified" ? "" : path, kind, schedule };
    if (schedule !== "added" && baseHash === undefined) change.baseRevision = baseRevision ?? 0;
    else if (baseRevision !== undefined) change.baseRevision = baseRevision;
    if (baseHash !== undefined) change.baseHash = baseHash;
    if (kind === "file" && schedule !== "removed") change.content = schedule === "added" || content;
    if (meta !== undefined && schedule !== "removed") change.meta = meta;
    return change;
  });

const manifestArb: fc.Arbitrary<CommitManifest> = fc
  .record({
    note: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    changes: fc.uniqueArray(changeArb, { selector: (change) => change.path, maxLength: 6 }),
  })
  .map(({ note, changes }) => ({ protocol: 1 as const, ...(note === undefined ? {} : { note }), changes }));

const limitsArb: fc.Arbitrary<Limits> = fc.record({ maxChanges: fc.nat({ max: 8 }), maxMetaBytes: fc.integer({ min: 2, max: 400 }) }, { requiredKeys: [] });

fuzzTest(
  "valid commit manifests parse to themselves, through JSON too",
  fc.property(manifestArb, (manifest) => {
    assert.deepEqual(parse(manifest), manifest);
    assert.deepEqual(parse(viaJson(manifest)), viaJson(manifest));
  }),
);

fuzzTest(
  "any JSON value is a valid manifest or a ManifestError; parsing is idempotent",
  fc.property(
    fc.oneof(
      jsonLikeArb(["protocol", "note", "changes"]),
      fc.record({
        protocol: fc.constantFrom(1, 2, "1", null),
        note: fc.option(fc.oneof(fc.string(), fc.integer()), { nil: undefined }),
        changes: fc.array(
          fc.oneof(
            changeArb,
            jsonLikeArb(["path", "kind", "schedule", "baseRevision", "baseHash", "content", "meta"]),
            fc.tuple(changeArb, edgePathArb).map(([change, path]) => ({ ...change, path })),
          ),
          { maxLength: 5 },
        ),
      }, { requiredKeys: ["protocol", "changes"] }),
    ),
    limitsArb,
    (value, limits) => {
      const result = parse(viaJson(value), limits);
      if (typeof result === "string") return;
      assertValidManifest(result, limits);
      assert.deepEqual(parse(viaJson(result), limits), result);
    },
  ),
  {
    // Fixed: a commit could add the protocol's own `@@zsync` path as a folder.
    examples: [[{ protocol: 1, changes: [{ path: "@@zsync", kind: "folder", schedule: "added" }] }, {}], [{ protocol: 1, changes: [{ path: "@@zsync/x", kind: "folder", schedule: "added" }] }, {}]],
  },
);

fuzzTest(
  "mutated manifest text is a SyntaxError, a ManifestError, or a manifest that obeys the rules",
  fc.property(manifestArb, mutationsArb(), limitsArb, (manifest, mutations, limits) => {
    let value: unknown;
    try {
      value = JSON.parse(mutateText(JSON.stringify(manifest), mutations));
    } catch (error) {
      assert.ok(error instanceof SyntaxError); // the server answers 400 bad-manifest before parsing
      return;
    }
    const result = parse(value, limits);
    if (typeof result !== "string") assertValidManifest(result, limits);
  }),
);
