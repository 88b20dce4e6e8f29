/**
 * Fuzz target: reading a checkout's admin files, `.zsync/index` and the previous format's
 * `.zsync/entries.json` (`loadEntries`, src/wc/entries.ts, which upgrades the latter) and
 * `.zsync/config.json` (`readConfig`, src/wc/admin.ts).
 *
 * Whatever the files hold (hand edits, truncation, bit rot), reading gives valid data or a
 * WcError "corrupt-admin" — never a TypeError — and what is accepted has safe paths, a root
 * entry, and an origin without credentials (an index also when read lazily, as `update` reads
 * it). Saved entries read back unchanged.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import fc from "fast-check";
import { adminPaths, readConfig, WcError, type WcConfig } from "../../src/wc/admin.js";
import { loadEntries, saveEntries, type Entries, type Entry } from "../../src/wc/entries.js";
import { edgePathArb, hashArb, jsonLikeArb, validPathArb } from "./arbitraries.js";
import { assertSafeArchivePath } from "./invariants.js";
import { mutateText, mutationsArb } from "./mutate.js";
import { fuzzTest } from "./runs.js";

const root = mkdtempSync(join(tmpdir(), "zsync-fuzz-admin-"));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(adminPaths(root).admin, { recursive: true });
writeFileSync(adminPaths(root).format, "1\n");

/** Runs a reader; returns its result or undefined for WcError "corrupt-admin" (anything else fails). */
async function attempt<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    assert.ok(error instanceof WcError && error.code === "corrupt-admin", `expected WcError corrupt-admin, got ${String(error)}`);
    return undefined;
  }
}

/** Loads a checkout in the previous format (entries.json, no index yet): it is upgraded as it is read. */
async function readEntriesText(text: string): Promise<Entries | undefined> {
  rmSync(adminPaths(root).index, { force: true });
  writeFileSync(adminPaths(root).entries, text);
  return attempt(() => loadEntries(root));
}

/** Loads a checkout whose index holds `bytes`, eagerly, and lazily as `update` does (every entry then read). */
async function readIndexBytes(bytes: Uint8Array): Promise<Entries | undefined> {
  rmSync(adminPaths(root).entries, { force: true });
  writeFileSync(adminPaths(root).index, bytes);
  const eager = await attempt(() => loadEntries(root));
  const lazy = await attempt(async () => {
    const read = await loadEntries(root, { lazy: true });
    return { revision: read.revision, entries: new Map(read.entries) };
  });
  if (eager && lazy) assert.deepEqual(lazy, eager, "read lazily, the same entries");
  return eager ?? lazy;
}

function assertValidEntries(entries: Entries): void {
  assert.ok(Number.isSafeInteger(entries.revision));
  assert.ok(entries.entries.has(""), "no root entry");
  for (const [path, entry] of entries.entries) {
    assertSafeArchivePath(path);
    assert.ok(entry.kind === "file" || entry.kind === "folder");
    if (entry.hash !== undefined) assert.match(entry.hash, /^[0-9a-f]{64}$/);
    if (entry.cache !== undefined) assert.match(entry.cache.hash, /^[0-9a-f]{64}$/);
    assert.ok(entry.schedule === "added" || Number.isSafeInteger(entry.revision), "a path with no revision is not scheduled for addition");
  }
}

const entryArb: fc.Arbitrary<Entry> = fc
  .record({
    kind: fc.constantFrom("file" as const, "folder" as const),
    revision: fc.nat(),
    hash: hashArb,
    size: fc.nat(),
    schedule: fc.constantFrom(undefined, "added" as const, "removed" as const),
    // A stat cache of the BASE content (the usual case, stored as an `f` record) or of another.
    cache: fc.option(fc.record({ size: fc.nat(), mtimeNs: fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String), ino: fc.nat(), hash: fc.option(hashArb, { nil: undefined }) }, { noNullPrototype: true }), { nil: undefined }),
  })
  .map(({ kind, revision, hash, size, schedule, cache }) => ({
    kind,
    ...(schedule === "added" ? { schedule } : { revision, ...(schedule ? { schedule } : {}) }),
    ...(kind === "file" && schedule !== "added" ? { hash, size } : {}),
    ...(cache ? { cache: { ...cache, hash: cache.hash ?? hash } } : {}),
  }));

const entriesArb: fc.Arbitrary<Entries> = fc
  .tuple(fc.nat(), entryArb, fc.uniqueArray(fc.tuple(validPathArb, entryArb), { selector: ([path]) => path, maxLength: 5 }))
  .map(([revision, rootEntry, rest]) => ({ revision, entries: new Map([["", { ...rootEntry, kind: "folder" as const }], ...rest]) }));

const entriesFileArb = entriesArb.map((entries) => JSON.stringify({ format: 1, revision: entries.revision, entries: Object.fromEntries(entries.entries) }));

fuzzTest(
  "saved entries read back unchanged",
  fc.asyncProperty(entriesArb, async (entries) => {
    await saveEntries(root, entries);
    const read = await attempt(() => loadEntries(root));
    assert.ok(read, "valid entries refused");
    assertValidEntries(read);
    assert.deepEqual(read, entries);
  }),
  {
    weight: 0.5,
    // Fixed: saving dropped the entry of a file named `__proto__` (it became the object's prototype).
    examples: [[{ revision: 1, entries: new Map<string, Entry>([["", { kind: "folder", revision: 1 }], ["__proto__", { kind: "folder", revision: 1 }]]) }]],
  },
);

fuzzTest(
  "any entries file reads as valid entries or WcError corrupt-admin",
  fc.asyncProperty(
    fc.oneof(
      fc.string({ maxLength: 40 }),
      jsonLikeArb(["format", "revision", "entries"]).map((value) => JSON.stringify(value) ?? ""),
      fc.tuple(fc.nat(), fc.dictionary(fc.oneof(validPathArb, edgePathArb, fc.constant("")), fc.oneof(entryArb, jsonLikeArb(["kind", "revision", "hash", "schedule", "cache", "size"])), { maxKeys: 4 }))
        .map(([revision, entries]) => JSON.stringify({ format: 1, revision, entries })),
      fc.tuple(entriesFileArb, mutationsArb()).map(([text, mutations]) => mutateText(text, mutations)),
    ),
    async (text) => {
      const read = await readEntriesText(text);
      if (read) assertValidEntries(read);
    },
  ),
  {
    weight: 0.5,
    examples: [
      // Fixed: a null stat cache threw TypeError instead of reporting the corrupt file.
      [JSON.stringify({ format: 1, revision: 1, entries: { "": { kind: "folder", revision: 1, cache: null } } })],
    ],
  },
);

/** The bytes of a saved index: a whole one, then a change appended. */
async function indexBytesOf(entries: Entries): Promise<string> {
  rmSync(adminPaths(root).index, { force: true });
  await saveEntries(root, entries);
  const loaded = await loadEntries(root);
  loaded.revision++;
  await saveEntries(root, loaded);
  return readFileSync(adminPaths(root).index, "latin1");
}

fuzzTest(
  "any index file (bit rot, truncation, hand edits of a saved one) reads as valid entries or WcError corrupt-admin",
  fc.asyncProperty(entriesArb, mutationsArb(), fc.nat(), async (entries, mutations, cut) => {
    const text = await indexBytesOf(entries);
    const mutated = Buffer.from(mutateText(text, mutations), "latin1");
    for (const bytes of [mutated, mutated.subarray(0, cut % (mutated.length + 1))]) {
      const read = await readIndexBytes(bytes);
      if (read) assertValidEntries(read);
    }
  }),
  { weight: 0.5 },
);

const configArb: fc.Arbitrary<WcConfig> = fc.record({
  origin: fc.constantFrom("http://127.0.0.1:8080", "https://example.org", "http://[::1]:1"),
  path: fc.oneof(validPathArb, fc.constant("")),
  repository: fc.uuid(),
  depth: fc.constantFrom("empty" as const, "files" as const, "immediates" as const, "infinity" as const),
});

fuzzTest(
  "any config file reads as a config with a safe origin and path, or WcError corrupt-admin",
  fc.asyncProperty(
    fc.oneof(
      configArb.map((config) => JSON.stringify(config)),
      fc.tuple(configArb, fc.record({ origin: fc.constantFrom("http://u:pw@h", "http://h/", "ftp://h", "http://h@"), path: edgePathArb }, { requiredKeys: [] }))
        .map(([config, change]) => JSON.stringify({ ...config, ...change })),
      fc.tuple(configArb, mutationsArb()).map(([config, mutations]) => mutateText(JSON.stringify(config, null, 2), mutations)),
      jsonLikeArb(["origin", "path", "repository", "depth", "user"]).map((value) => JSON.stringify(value) ?? ""),
    ),
    async (text) => {
      writeFileSync(adminPaths(root).config, text);
      const config = await attempt(() => readConfig(root));
      if (!config) return;
      assert.match(config.origin, /^https?:\/\/[^/@]+$/);
      assertSafeArchivePath(config.path, "repository path");
      assert.ok(["empty", "files", "immediates", "infinity"].includes(config.depth));
    },
  ),
  {
    weight: 0.5,
    // Fixed: a repository path with `..` (or any invalid path) was accepted.
    examples: [
      [JSON.stringify({ origin: "http://h", path: "../../x", repository: "r", depth: "infinity" })],
      // Fixed: a trailing "/" (and so a path) in the origin was accepted after the TLS work relaxed the check.
      [JSON.stringify({ origin: "http://h/", path: "", repository: "00000000-0000-1000-8000-000000000000", depth: "empty" })],
    ],
  },
);
