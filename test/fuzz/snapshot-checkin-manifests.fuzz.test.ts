/**
 * Fuzz target: the snapshot manifest a client accepts from a server (`parseSnapshotManifest`)
 * and the checkin manifest a server accepts from a client (`parseCheckinManifest`), both in
 * src/protocol/manifest.ts.
 *
 * Any JSON value parses or fails with ManifestError; what is accepted has safe paths and valid
 * metadata (every metadata path an own key: no `__proto__` games); valid manifests come back
 * unchanged; mutated ones fail cleanly or still obey the rules.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ManifestError, parseCheckinManifest, parseSnapshotManifest } from "../../src/protocol/manifest.js";
import type { EntryInfo, ObjectMeta, SnapshotManifest } from "../../src/protocol/types.js";
import { edgePathArb, hashArb, jsonLikeArb, objectMetaArb, validPathArb, viaJson } from "./arbitraries.js";
import { assertSafeArchivePath } from "./invariants.js";
import { assertValidMeta } from "./meta-invariants.js";
import { mutateText, mutationsArb } from "./mutate.js";
import { fuzzTest } from "./runs.js";

type Checkin = { note?: string; meta: Record<string, ObjectMeta> };

/** Runs `parser`, returning its result or the ManifestError's message; any other error fails the property. */
function attempt<T>(parser: () => T): T | string {
  try {
    return parser();
  } catch (error) {
    if (error instanceof ManifestError) return error.message;
    throw error;
  }
}

const revision = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;

function assertValidSnapshot(manifest: SnapshotManifest): void {
  assert.equal(manifest.protocol, 1);
  assert.equal(typeof manifest.root, "string");
  assert.ok(revision(manifest.revision) && (manifest.since === undefined || revision(manifest.since)));
  for (const entry of manifest.entries) {
    assertSafeArchivePath(entry.path);
    assert.ok(entry.kind === "file" || entry.kind === "folder");
    assert.ok(revision(entry.revision));
    if (entry.kind === "file") assert.ok(/^[0-9a-f]{64}$/.test(entry.hash ?? "") && revision(entry.size));
    if (entry.meta !== undefined) assertValidMeta(entry.meta);
  }
  for (const path of manifest.deleted) assertSafeArchivePath(path);
  // A tree: each path once, nothing below a file, the root (when listed) a folder.
  const kinds = new Map(manifest.entries.map((e) => [e.path, e.kind]));
  assert.equal(kinds.size, manifest.entries.length, "a path listed twice");
  assert.notEqual(kinds.get(""), "file", "the root listed as a file");
  for (const entry of manifest.entries) {
    const names = entry.path.split("/");
    for (let i = 1; i < names.length; i++) assert.notEqual(kinds.get(names.slice(0, i).join("/")), "file", `${entry.path} below a file`);
  }
}

function assertValidCheckin(manifest: Checkin, maxMetaBytes?: number): void {
  assert.ok(manifest.note === undefined || typeof manifest.note === "string");
  assert.equal(Object.getPrototypeOf(manifest.meta), Object.prototype, "meta lost its prototype");
  for (const [path, meta] of Object.entries(manifest.meta)) {
    assertSafeArchivePath(path);
    assertValidMeta(meta, maxMetaBytes);
  }
}

const entryArb: fc.Arbitrary<EntryInfo> = fc
  .record({
    path: fc.oneof(validPathArb, fc.constant("")),
    kind: fc.constantFrom("file" as const, "folder" as const),
    revision: fc.nat(),
    hash: hashArb,
    size: fc.nat(),
    meta: fc.option(objectMetaArb, { nil: undefined }),
  })
  .map(({ path, kind, revision, hash, size, meta }) => ({
    path,
    kind,
    revision,
    ...(kind === "file" ? { hash, size } : {}),
    ...(meta === undefined ? {} : { meta }),
  }));

const snapshotArb: fc.Arbitrary<SnapshotManifest> = fc
  .record({
    root: fc.string({ maxLength: 10 }),
    revision: fc.nat(),
    since: fc.option(fc.nat(), { nil: undefined }),
    entries: fc.uniqueArray(entryArb, { maxLength: 5, selector: (e) => e.path }).map(asTree),
    deleted: fc.array(validPathArb, { maxLength: 3 }),
  })
  // A path is either changed or deleted in one snapshot, never both (the parser refuses that).
  .map(({ since, deleted, ...rest }) => ({
    protocol: 1 as const,
    ...rest,
    deleted: deleted.filter((path) => !rest.entries.some((e) => e.path === path)),
    ...(since === undefined ? {} : { since }),
  }));

/** Makes entries a possible tree: the root and every entry with something below it become folders. */
function asTree(entries: EntryInfo[]): EntryInfo[] {
  const hasChildren = (path: string) => entries.some((e) => e.path !== path && (path === "" || e.path.startsWith(path + "/")));
  return entries.map((e) => {
    if (e.kind === "folder" || (e.path !== "" && !hasChildren(e.path))) return e;
    const { hash: _hash, size: _size, ...folder } = e;
    return { ...folder, kind: "folder" as const };
  });
}

const checkinArb: fc.Arbitrary<Checkin & { protocol: 1 }> = fc
  .record({
    note: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    meta: fc.dictionary(fc.oneof(validPathArb, fc.constant("")), objectMetaArb, { maxKeys: 4, noNullPrototype: true }),
  })
  .map(({ note, meta }) => ({ protocol: 1 as const, ...(note === undefined ? {} : { note }), meta }));

/** The wire value of a checkin manifest whose metadata is keyed by `path` (JSON keeps `__proto__` an own key). */
const checkinWithPath = (path: string, meta: ObjectMeta) => JSON.parse(`{"protocol":1,"meta":{${JSON.stringify(path)}:${JSON.stringify(meta)}}}`) as unknown;

fuzzTest(
  "valid snapshot manifests parse to themselves",
  fc.property(snapshotArb, (manifest) => {
    assert.deepEqual(attempt(() => parseSnapshotManifest(viaJson(manifest))), viaJson(manifest));
  }),
);

fuzzTest(
  "any JSON value is a safe snapshot manifest or a ManifestError",
  fc.property(
    fc.oneof(
      jsonLikeArb(["protocol", "root", "revision", "since", "entries", "deleted"]),
      fc.record({
        protocol: fc.constantFrom(1, 1, 0, "1"),
        root: fc.oneof(fc.string(), fc.constant(null)),
        revision: fc.constantFrom(0, 7, -1, 1.5, 2 ** 53, "3"),
        entries: fc.array(fc.oneof(entryArb, jsonLikeArb(["path", "kind", "revision", "hash", "size", "meta"]), fc.tuple(entryArb, edgePathArb).map(([e, path]) => ({ ...e, path }))), { maxLength: 4 }),
        deleted: fc.array(fc.oneof(validPathArb, edgePathArb, fc.integer()), { maxLength: 3 }),
      }),
    ),
    (value) => {
      const result = attempt(() => parseSnapshotManifest(viaJson(value)));
      if (typeof result !== "string") assertValidSnapshot(result);
    },
  ),
);

fuzzTest(
  "valid checkin manifests parse to themselves, every path an own key",
  fc.property(checkinArb, (manifest) => {
    const { protocol: _, ...expected } = viaJson(manifest);
    assert.deepEqual(attempt(() => parseCheckinManifest(viaJson(manifest))), expected);
  }),
  {
    // Fixed: metadata for an object named `__proto__` replaced the result's prototype instead of
    // becoming its entry, so it was lost and leaked into every other path's lookup.
    examples: [[{ protocol: 1, meta: JSON.parse('{"__proto__":{"contentType":"text/x"},"a":{}}') as Record<string, ObjectMeta> }]],
  },
);

fuzzTest(
  "any JSON value is a safe checkin manifest or a ManifestError",
  fc.property(
    fc.oneof(
      jsonLikeArb(["protocol", "note", "meta"]),
      fc.tuple(fc.oneof(validPathArb, edgePathArb), fc.oneof(objectMetaArb, jsonLikeArb(["contentType", "extra", "annotations"])))
        .map(([path, meta]) => checkinWithPath(path, meta as ObjectMeta)),
    ),
    fc.option(fc.integer({ min: 2, max: 400 }), { nil: undefined }),
    (value, maxMetaBytes) => {
      const result = attempt(() => parseCheckinManifest(viaJson(value), { maxMetaBytes }));
      if (typeof result !== "string") assertValidCheckin(result, maxMetaBytes);
    },
  ),
);

fuzzTest(
  "mutated snapshot and checkin manifests fail cleanly or still obey the rules",
  fc.property(snapshotArb, checkinArb, mutationsArb(), (snapshot, checkin, mutations) => {
    for (const [text, check] of [
      [JSON.stringify(snapshot), (value: unknown) => { const r = attempt(() => parseSnapshotManifest(value)); if (typeof r !== "string") assertValidSnapshot(r); }],
      [JSON.stringify(checkin), (value: unknown) => { const r = attempt(() => parseCheckinManifest(value)); if (typeof r !== "string") assertValidCheckin(r); }],
    ] as const) {
      let value: unknown;
      try {
        value = JSON.parse(mutateText(text, mutations));
      } catch (error) {
        assert.ok(error instanceof SyntaxError);
        continue;
      }
      check(value);
    }
  }),
);
