/**
 * `update` on entries read lazily (src/wc/lazy-entries.ts), against a real server: when someone
 * committed elsewhere in the repository, the server is ahead and the update checks every entry
 * for mixed revisions, yet it must decode no plain file (their revisions are read from the
 * undecoded records), and it must still find an entry newer than the checkout that the server
 * deleted since.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { utimes } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { saveEntries, type Entry } from "../../src/wc/entries.js";
import { adoptScanCaches, scanWorkingCopy } from "../../src/wc/scan.js";
import { LazyEntries } from "../../src/wc/lazy-entries.js";
import { withWorkingCopy } from "../../src/wc/session.js";
import { update } from "../../src/wc/update.js";
import { checkoutInProcess, Remote } from "../helpers/scenario.js";
import { startServer, type TestServer } from "../helpers/server.js";

let server: TestServer;
let remote: Remote;
before(async () => {
  server = await startServer({ demo: true });
  remote = new Remote(server);
});
after(async () => {
  await server.stop();
});

const TREE = { "a.txt": "a\n", "d/b.txt": "b\n", "d/e/c.txt": "c\n", "d/e/f.txt": "f\n" };
/**
 * Records the stat caches of `files`, as a first `status` does, so that plain files become `f`
 * records. The files are dated a minute back, so the caches count as settled without waiting.
 */
async function cacheStats(dir: string, files: string[]): Promise<void> {
  const past = new Date(Date.now() - 60_000);
  for (const file of files) await utimes(join(dir, file), past, past);
  await withWorkingCopy(dir, { lock: "update" }, async (wc) => {
    adoptScanCaches(wc.entries.entries, await scanWorkingCopy(dir, wc.entries.entries, { now: () => Date.now() + 10_000 }));
    await saveEntries(dir, wc.entries);
  });
}

/** A checkout of TREE with its stat caches. */
async function cachedCheckout(folder: string): Promise<string> {
  await remote.createFolder(folder, TREE);
  const dir = await checkoutInProcess(remote, folder, "zsync-lazy-update-");
  await cacheStats(dir, Object.keys(TREE));
  return dir;
}

/** The stored record of `path` while it is undecoded. */
const recordOf = (map: Map<string, Entry>, path: string): unknown => Map.prototype.get.call(map, path);
/** The files of TREE whose entries are still undecoded `f` records (folders are decoded as needed). */
const undecodedFiles = (map: Map<string, Entry>) =>
  [...map.keys()].filter((path) => path in TREE && typeof recordOf(map, path) === "string" && !(recordOf(map, path) as string).startsWith("{")).sort();

describe("update on lazily read entries", () => {
  test("after a commit elsewhere: the checkout moves to the new revision and no plain file is decoded", async () => {
    const dir = await cachedCheckout("here");
    const head = await remote.createFolder("elsewhere", { "x.txt": "x\n" });
    await withWorkingCopy(dir, { lock: "update", lazyEntries: true }, async (wc) => {
      assert.ok(wc.entries.entries instanceof LazyEntries);
      assert.ok(wc.entries.revision < head, "the server is ahead");
      assert.deepEqual(undecodedFiles(wc.entries.entries), Object.keys(TREE).sort(), "every file starts as an undecoded f record");
      const result = await update(wc, { client: remote.client });
      assert.equal(result.revision, head);
      assert.deepEqual(result.lines, []);
      assert.equal(wc.entries.revision, head);
      assert.deepEqual(undecodedFiles(wc.entries.entries), Object.keys(TREE).sort(), "no plain file was decoded");
    });
    await withWorkingCopy(dir, {}, async (wc) => assert.equal(wc.entries.revision, head, "saved"));
  });

  test("an entry newer than the checkout, deleted on the server since, is still found among undecoded ones", async () => {
    const dir = await cachedCheckout("mixed");
    // A file added on the server and brought in by a path-limited update: its entry is newer
    // than the checkout (mixed revisions), and a delta from the checkout's revision cannot name it.
    await remote.change("mixed", { add: { "new.txt": "theirs\n" } });
    await withWorkingCopy(dir, { lock: "update" }, (wc) => update(wc, { client: remote.client, paths: ["new.txt"] }));
    await cacheStats(dir, ["new.txt"]);
    // Deleted on the server by someone else, then a commit elsewhere moves the head on.
    await remote.change("mixed", { remove: ["new.txt"] });
    const head = await remote.createFolder("mixed-elsewhere", { "x.txt": "x\n" });
    await withWorkingCopy(dir, { lock: "update", lazyEntries: true }, async (wc) => {
      const record = recordOf(wc.entries.entries, "new.txt");
      assert.ok(typeof record === "string" && /^\d+\t/.test(record), "the committed file is an undecoded f record");
      const result = await update(wc, { client: remote.client });
      assert.equal(result.revision, head);
      assert.deepEqual(
        result.lines.map((l) => `${l.content} ${l.path}`),
        ["D new.txt"],
      );
    });
    assert.ok(!existsSync(join(dir, "new.txt")));
  });
});
