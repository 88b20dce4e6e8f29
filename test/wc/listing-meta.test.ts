/**
 * Listing caches of folders with an `@@meta/` folder (ListingCache.meta): while the folder and
 * its `@@meta/` keep their stat, status reads neither, and still sees every change a full read
 * would — a new, removed, edited or stray metadata file, a new or removed name — and `update`'s
 * missing-path check agrees with an lstat of every entry.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, lstatSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatMeta } from "../../src/protocol/meta-text.js";
import { adminPaths, FORMAT_VERSION } from "../../src/wc/admin.js";
import { loadEntries, saveEntries, type Entry } from "../../src/wc/entries.js";
import { missingPaths } from "../../src/wc/missing.js";
import { adoptScanCaches, scanWorkingCopy } from "../../src/wc/scan.js";
import { tempDir } from "../helpers/server.js";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const later = () => Date.now() + 10_000; // every file and folder is old enough to trust
const meta = { contentType: "text/plain" };

/** A checkout with d/a.txt and d/b.txt (both with metadata files) and d/c.txt (none). */
async function checkout(): Promise<{ root: string; entries: Map<string, Entry> }> {
  const root = await tempDir("zsync-listing-meta-");
  await mkdir(adminPaths(root).admin, { recursive: true });
  await writeFile(adminPaths(root).format, `${FORMAT_VERSION}\n`);
  await mkdir(join(root, "d", "@@meta"), { recursive: true });
  const entries = new Map<string, Entry>([
    ["", { kind: "folder", revision: 1 }],
    ["d", { kind: "folder", revision: 1 }],
  ]);
  for (const name of ["a.txt", "b.txt", "c.txt"]) {
    await writeFile(join(root, "d", name), name);
    const withMeta = name !== "c.txt";
    if (withMeta) await writeFile(join(root, "d/@@meta", `${name}.json`), formatMeta(meta));
    entries.set(`d/${name}`, { kind: "file", revision: 1, hash: sha(name), size: name.length, ...(withMeta ? { meta } : {}) });
  }
  return { root, entries };
}

/** A status scan whose refreshed caches are adopted, as `status` saves them. */
async function scan(root: string, entries: Map<string, Entry>) {
  const result = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
  adoptScanCaches(entries, result);
  return result;
}

const changes = (result: Awaited<ReturnType<typeof scan>>) => result.items.map((i) => `${i.content}${i.meta} ${i.path}`);

describe("listing caches with an @@meta folder", () => {
  test("recorded once the metadata files are cached; then neither folder is read", async () => {
    const { root, entries } = await checkout();
    const first = await scan(root, entries);
    assert.deepEqual(changes(first), []);
    assert.deepEqual(first.refreshedListings.get("d")?.meta?.files, 2, "two metadata files, both of tracked children");
    const again = await scan(root, entries);
    assert.deepEqual(changes(again), []);
    assert.equal(again.refreshedListings.size, 0, "nothing read, so nothing refreshed");
    assert.equal(again.refreshedMetaCaches.size, 0);
    // Survives the index: saved and loaded again.
    await saveEntries(root, { revision: 1, entries });
    const loaded = (await loadEntries(root)).entries;
    assert.deepEqual(loaded.get("d")?.listing, entries.get("d")?.listing);
    assert.equal((await scanWorkingCopy(root, loaded, { changedOnly: true, now: later })).refreshedListings.size, 0);
  });

  const cases: [string, (root: string) => Promise<unknown>, string[]][] = [
    ["a new metadata file", (root) => writeFile(join(root, "d/@@meta/c.txt.json"), formatMeta({ contentType: "text/html" })), ["=M d/c.txt"]],
    ["a removed metadata file", (root) => rm(join(root, "d/@@meta/a.txt.json")), ["=M d/a.txt"]],
    ["an edited metadata file", (root) => writeFile(join(root, "d/@@meta/b.txt.json"), formatMeta({ contentType: "text/markdown" })), ["=M d/b.txt"]],
    ["a stray file in @@meta", (root) => writeFile(join(root, "d/@@meta/a.txt.json.orig"), "{}\n"), ["?  d/@@meta/a.txt.json.orig"]],
    ["a new name", (root) => writeFile(join(root, "d/new.txt"), "new"), ["?  d/new.txt"]],
    ["a removed file", (root) => rm(join(root, "d/c.txt")), ["!  d/c.txt"]],
    ["@@meta removed", (root) => rm(join(root, "d/@@meta"), { recursive: true }), ["=M d/a.txt", "=M d/b.txt"]],
  ];
  for (const [what, change, expected] of cases) {
    test(`${what} is seen, as without the cache`, async () => {
      const { root, entries } = await checkout();
      await scan(root, entries);
      assert.ok(entries.get("d")?.listing?.meta, "the listing vouches for @@meta");
      await change(root);
      const cached = changes(await scanWorkingCopy(root, entries, { changedOnly: true, now: later }));
      const uncached = new Map([...entries].map(([path, entry]) => [path, { ...entry, listing: undefined, metaCache: undefined }]));
      assert.deepEqual(changes(await scanWorkingCopy(root, uncached, { changedOnly: true, now: later })), expected, "without caches");
      assert.deepEqual(cached, expected, "with caches");
    });
  }

  test("no listing is recorded while @@meta holds a stray file or a metadata file of no tracked child", async () => {
    for (const extra of ["a.txt.json.orig", "gone.txt.json"]) {
      const { root, entries } = await checkout();
      await writeFile(join(root, "d/@@meta", extra), "{}\n");
      const first = await scan(root, entries);
      assert.equal(first.refreshedListings.has("d"), false, extra);
      assert.equal(entries.get("d")?.listing, undefined);
    }
  });

  test("a metadata cache dropped later (an update rewrote the entry) makes the listing fall back to reading", async () => {
    const { root, entries } = await checkout();
    await scan(root, entries);
    const { metaCache: _dropped, ...rest } = entries.get("d/a.txt")!;
    entries.set("d/a.txt", rest);
    const again = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    assert.deepEqual(changes(again), []);
    assert.ok(again.refreshedListings.has("d"), "read again, and recorded again");
  });

  test("update's missing paths agree with an lstat of every entry", async () => {
    const naive = (root: string, entries: Map<string, Entry>) => [...entries.keys()].filter((p) => p !== "" && !existsSync(join(root, p)) && !isLink(join(root, p))).sort();
    const isLink = (path: string) => {
      try {
        return lstatSync(path).isSymbolicLink();
      } catch {
        return false;
      }
    };
    for (const damage of [async () => {}, (root: string) => rm(join(root, "d/a.txt")), (root: string) => rm(join(root, "d/@@meta"), { recursive: true }), (root: string) => rm(join(root, "d"), { recursive: true })]) {
      const { root, entries } = await checkout();
      await scan(root, entries);
      assert.ok(entries.get("d")?.listing?.meta);
      await damage(root);
      assert.deepEqual(missingPaths(root, entries).sort(), naive(root, entries), damage.toString());
    }
  });
});
