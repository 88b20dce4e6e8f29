/**
 * The index summary (src/wc/index-summary.ts), against a real server: an update the server has
 * nothing for reads no entry, yet everything an update of the entries would do still happens —
 * a tracked path deleted by hand comes back, a newer entry deleted on the server goes, a damaged
 * index is reported — and a stale or damaged summary is never trusted.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { lstat, readFile, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { adminPaths } from "../../src/wc/admin.js";
import { commit } from "../../src/wc/commit.js";
import { saveEntries } from "../../src/wc/entries.js";
import { readIndexSummary, writeIndexSummary } from "../../src/wc/index-summary.js";
import { remove } from "../../src/wc/remove.js";
import { adoptScanCaches, scanWorkingCopy } from "../../src/wc/scan.js";
import { status } from "../../src/wc/status.js";
import { openWorkingCopy, withWorkingCopy } from "../../src/wc/session.js";
import { update } from "../../src/wc/update.js";
import { checkoutInProcess, listAll, readTree, Remote } from "../helpers/scenario.js";
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
const FOLDERS = ["", "d", "d/e"];

/**
 * What a `status` records: the stat caches of the files and the listing caches of the folders.
 * Everything is dated a minute back, so the caches count as settled without waiting.
 */
async function recordCaches(dir: string): Promise<void> {
  const past = new Date(Date.now() - 60_000);
  await withWorkingCopy(dir, { lock: "status" }, async (wc) => {
    for (const path of [...wc.entries.entries.keys()].sort().reverse()) await utimes(join(dir, path), past, past);
    adoptScanCaches(wc.entries.entries, await scanWorkingCopy(dir, wc.entries.entries, { now: () => Date.now() + 10_000 }));
    await saveEntries(dir, wc.entries);
  });
}

/** An update of the whole checkout, opened the way `zsync update` opens it; says whether its entries were read. */
async function updateFromSummary(dir: string, opts: { progress?: (received: number, total: number) => void } = {}) {
  const wc = await openWorkingCopy(dir, { lock: "update", lazyEntries: true, summaryFirst: true });
  try {
    const summarised = wc.summary !== undefined;
    const result = await update(wc, { client: remote.client, progress: opts.progress });
    return { result, summarised, entriesRead: wc.summary === undefined };
  } finally {
    await wc.release();
  }
}

/** A checkout of TREE whose caches are recorded and whose last update left a summary. */
async function summarisedCheckout(folder: string): Promise<string> {
  await remote.createFolder(folder, TREE);
  const dir = await checkoutInProcess(remote, folder, "zsync-summary-");
  await recordCaches(dir);
  assert.equal(await readIndexSummary(dir), undefined, "a save of the index makes any summary stale");
  const first = await updateFromSummary(dir);
  assert.deepEqual([first.summarised, first.entriesRead], [false, true]);
  const summary = await readIndexSummary(dir);
  assert.ok(summary, "the update left a summary");
  assert.deepEqual(summary.folders.map(([path]) => path).sort(), FOLDERS);
  return dir;
}

const linesOf = (result: { lines: { content: string; path: string }[] }) => result.lines.map((l) => `${l.content} ${l.path}`);

describe("index summary", () => {
  test("an update the server has nothing for reads no entry, and a commit elsewhere only moves the revision", async () => {
    const dir = await summarisedCheckout("quiet");
    const revision = (await readIndexSummary(dir))!.revision;
    const idle = await updateFromSummary(dir);
    assert.deepEqual([idle.summarised, idle.entriesRead], [true, false]);
    assert.deepEqual(idle.result, { revision, target: revision, lines: [], conflicts: 0, savedAside: [], skipped: [] });

    const head = await remote.createFolder("quiet-elsewhere", { "x.txt": "x\n" });
    assert.ok(head > revision);
    const moved = await updateFromSummary(dir);
    assert.deepEqual([moved.summarised, moved.entriesRead], [true, false]);
    assert.equal(moved.result.revision, head);
    assert.equal((await readIndexSummary(dir))?.revision, head, "the summary follows the index it appended to");
    // The index itself says so, read in full (and decodes: the appended batch is sealed).
    await withWorkingCopy(dir, {}, async (wc) => {
      assert.equal(wc.entries.revision, head);
      assert.deepEqual([...wc.entries.entries.keys()].sort(), ["", "a.txt", "d", "d/b.txt", "d/e", "d/e/c.txt", "d/e/f.txt"]);
    });
  });

  test("a status that records caches leaves a summary too, so the update after it reads no entry", async () => {
    const dir = await summarisedCheckout("status");
    await writeFile(join(dir, "a.txt"), "edited\n");
    const past = new Date(Date.now() - 60_000);
    for (const path of ["a.txt", "d/e", "d", ""]) await utimes(join(dir, path), past, past);
    // The folders' new times alone would send the update to the entries (see the restore tests).
    await withWorkingCopy(dir, {}, async (wc) => {
      const report = await status(wc, { now: () => Date.now() + 10_000 }); // the new times count as settled
      assert.deepEqual(report.items.map((i) => `${i.content} ${i.path}`), ["M a.txt"]);
    });
    const summary = await readIndexSummary(dir);
    assert.ok(summary, "the status that saved the new stat cache summarised the index");
    assert.equal(summary.folders.find(([path]) => path === "d")?.[2], String((await lstat(join(dir, "d"), { bigint: true })).ctimeNs), "with the listings it recorded");
    const idle = await updateFromSummary(dir);
    assert.deepEqual([idle.summarised, idle.entriesRead, idle.result.lines], [true, false, []]);
    assert.equal(await readFile(join(dir, "a.txt"), "utf8"), "edited\n");
  });

  test("after a commit from here, the update that gets it back reads no entry; a later change by someone else is brought in", async () => {
    const dir = await summarisedCheckout("committed");
    await writeFile(join(dir, "d/b.txt"), "mine\n");
    const committed = await withWorkingCopy(dir, { lock: "commit", lazyEntries: true }, (wc) => commit(wc, { client: remote.client, message: "mine" }));
    const summary = await readIndexSummary(dir);
    assert.ok(summary, "the commit summarised the index");
    assert.deepEqual(summary.newer, [["d/b.txt", "file", committed.revision, 1]]);

    const back = await updateFromSummary(dir);
    assert.deepEqual([back.summarised, back.entriesRead, back.result.lines], [true, false, []]);
    assert.equal(back.result.revision, committed.revision);
    assert.deepEqual((await readIndexSummary(dir))?.newer, [], "nothing is newer than the checkout now");
    await withWorkingCopy(dir, {}, async (wc) => {
      assert.equal(wc.entries.revision, committed.revision);
      assert.equal(wc.entries.entries.get("d/b.txt")?.revision, committed.revision);
    });

    // Committed again from here, then changed by someone else: the delta holds a newer revision.
    await writeFile(join(dir, "d/b.txt"), "mine again\n");
    await withWorkingCopy(dir, { lock: "commit", lazyEntries: true }, (wc) => commit(wc, { client: remote.client, message: "again" }));
    await remote.change("committed", { modify: { "d/b.txt": "theirs\n" } });
    const theirs = await updateFromSummary(dir);
    assert.deepEqual([theirs.summarised, theirs.entriesRead], [true, true]);
    assert.deepEqual(linesOf(theirs.result), ["U d/b.txt"]);
    assert.equal(await readFile(join(dir, "d/b.txt"), "utf8"), "theirs\n");
  });

  test("an entry newer than the checkout with a schedule is not taken as current", async () => {
    const dir = await summarisedCheckout("scheduled");
    await writeFile(join(dir, "a.txt"), "mine\n");
    await withWorkingCopy(dir, { lock: "commit", lazyEntries: true }, (wc) => commit(wc, { client: remote.client, message: "mine", paths: ["a.txt"] }));
    await withWorkingCopy(dir, { lock: "remove" }, (wc) => remove(wc, { paths: ["a.txt"], keepLocal: true }));
    await withWorkingCopy(dir, {}, (wc) => status(wc, { now: () => Date.now() + 10_000 })); // summarises the index again
    const summary = await readIndexSummary(dir);
    assert.deepEqual(summary?.newer?.map(([path, , , clean]) => [path, clean]), [["a.txt", 0]]);
    const { result, summarised, entriesRead } = await updateFromSummary(dir);
    assert.deepEqual([summarised, entriesRead], [true, true]);
    assert.deepEqual(linesOf(result), []);
    await withWorkingCopy(dir, {}, async (wc) => assert.equal(wc.entries.entries.get("a.txt")?.schedule, "removed", "still scheduled for removal"));
  });

  test("a change on the server is received with progress, then applied from the entries", async () => {
    const dir = await summarisedCheckout("changed");
    await remote.change("changed", { modify: { "d/e/c.txt": "theirs\n" } });
    const progress: [number, number][] = [];
    const { result, summarised, entriesRead } = await updateFromSummary(dir, { progress: (received, total) => progress.push([received, total]) });
    assert.deepEqual([summarised, entriesRead], [true, true]);
    assert.deepEqual(linesOf(result), ["U d/e/c.txt"]);
    assert.deepEqual(progress.at(-1), [1, 1], "the body's arrival was reported");
    assert.equal(await readFile(join(dir, "d/e/c.txt"), "utf8"), "theirs\n");
  });

  test("a deletion on the server is applied", async () => {
    const dir = await summarisedCheckout("deleted");
    await remote.change("deleted", { remove: ["d/b.txt"] });
    const { result, summarised, entriesRead } = await updateFromSummary(dir);
    assert.deepEqual([summarised, entriesRead], [true, true]);
    assert.deepEqual(linesOf(result), ["D d/b.txt"]);
    assert.ok(!existsSync(join(dir, "d/b.txt")));
  });

  test("a folder whose listing does not count all its tracked children is summarised by their paths, and the update restores the one missing", async () => {
    const dir = await summarisedCheckout("uncounted");
    // An entry the listing of d/ never counted, for a file that is not there (its BASE copy is:
    // the same content as d/b.txt). d/ keeps its stat, so only the count tells.
    await withWorkingCopy(dir, { lock: "update" }, async (wc) => {
      wc.entries.entries.set("d/ghost.txt", { ...wc.entries.entries.get("d/b.txt")! });
      await saveEntries(dir, wc.entries);
      await writeIndexSummary(dir, wc.entries);
    });
    const summary = await readIndexSummary(dir);
    assert.deepEqual(summary?.unlisted, [["d", ["d/b.txt", "d/e", "d/ghost.txt"]]]);
    assert.deepEqual(summary.folders.map(([path]) => path).sort(), ["", "d/e"]);
    const { result, summarised, entriesRead } = await updateFromSummary(dir);
    assert.deepEqual([summarised, entriesRead], [true, true]);
    assert.deepEqual(linesOf(result), ["U d/ghost.txt"]);
    assert.equal(await readFile(join(dir, "d/ghost.txt"), "utf8"), "b\n");
  });

  test("after an update that brought changes, the next update reads no entry; a file then deleted by hand there is restored", async () => {
    const dir = await summarisedCheckout("brought");
    await remote.change("brought", { modify: { "d/e/c.txt": "theirs\n" }, add: { "d/new.txt": "new\n" } });
    const first = await updateFromSummary(dir);
    assert.deepEqual([first.summarised, first.entriesRead], [true, true]);
    assert.deepEqual(linesOf(first.result).sort(), ["U d/e/c.txt", "U d/new.txt"]);
    // The update wrote into d/ and d/e/ just now: their stat cannot be trusted yet, so the
    // summary names their tracked children instead.
    const summary = await readIndexSummary(dir);
    assert.deepEqual(summary?.unlisted, [
      ["d", ["d/b.txt", "d/e", "d/new.txt"]],
      ["d/e", ["d/e/c.txt", "d/e/f.txt"]],
    ]);
    assert.deepEqual(summary.folders.map(([path]) => path), [""]);

    const idle = await updateFromSummary(dir);
    assert.deepEqual([idle.summarised, idle.entriesRead, idle.result.lines], [true, false, []]);

    await rm(join(dir, "d/new.txt"));
    await rm(join(dir, "d/e/f.txt"));
    const restored = await updateFromSummary(dir);
    assert.deepEqual([restored.summarised, restored.entriesRead], [true, true]);
    assert.deepEqual(linesOf(restored.result).sort(), ["U d/e/f.txt", "U d/new.txt"]);
    assert.equal(await readFile(join(dir, "d/new.txt"), "utf8"), "new\n");
    assert.equal(await readFile(join(dir, "d/e/f.txt"), "utf8"), "f\n");
  });

  test("a folder listed by its children's paths that became a symlink is not trusted, even with the same names behind it", async () => {
    const dir = await summarisedCheckout("became-link");
    await remote.change("became-link", { add: { "d/x.txt": "x\n", "d/e/g.txt": "g\n" } });
    await updateFromSummary(dir);
    assert.deepEqual((await readIndexSummary(dir))?.unlisted.map(([path]) => path), ["d", "d/e"]);
    // d/e/c.txt, f.txt and g.txt still lstat fine through the link: only d/e itself tells.
    // Moved out of the checkout (a new name in the root would send the update to the entries by itself).
    const elsewhere = `${dir}-elsewhere`;
    await rename(join(dir, "d/e"), elsewhere);
    await symlink(elsewhere, join(dir, "d/e"));
    const { summarised, entriesRead } = await updateFromSummary(dir);
    assert.deepEqual([summarised, entriesRead], [true, true]);
    assert.equal((await lstat(join(dir, "d/e"))).isSymbolicLink(), true, "the symlink is left alone");
  });

  test("a change the server sends through a folder the user replaced by a symlink is refused before any body is received", async () => {
    const dir = await summarisedCheckout("through-link");
    await remote.change("through-link", { add: { "d/e/new.txt": "theirs\n" } });
    const elsewhere = `${dir}-elsewhere`;
    await rename(join(dir, "d/e"), elsewhere);
    await symlink(elsewhere, join(dir, "d/e"));
    assert.ok(await readIndexSummary(dir), "the update starts from the summary");
    const paths = () => listAll(dir).filter((p) => p !== ".zsync/lock");
    const before = { paths: paths(), index: await readFile(adminPaths(dir).index), outside: readTree(elsewhere) };
    await assert.rejects(updateFromSummary(dir), /lies beyond the symbolic link "d\/e".*refused, nothing was written/);
    assert.deepEqual(paths(), before.paths, "no pristine copy, no temp folder: nothing new in .zsync/ or the checkout");
    assert.deepEqual(await readFile(adminPaths(dir).index), before.index);
    assert.deepEqual(readTree(elsewhere), before.outside, "nothing written through the link");
  });

  test("past 2000 tracked children of folders whose listing does not hold, no summary is written", async () => {
    const dir = await summarisedCheckout("many");
    const ghosts = async (count: number) =>
      withWorkingCopy(dir, { lock: "update" }, async (wc) => {
        for (const path of [...wc.entries.entries.keys()]) if (path.startsWith("d/ghost")) wc.entries.entries.delete(path);
        for (let i = 0; i < count; i++) wc.entries.entries.set(`d/ghost${i}.txt`, { ...wc.entries.entries.get("d/b.txt")! });
        await saveEntries(dir, wc.entries);
        await writeIndexSummary(dir, wc.entries);
      });
    await ghosts(1998); // with d/b.txt and d/e: 2000
    assert.equal((await readIndexSummary(dir))?.unlisted[0]?.[1].length, 2000);
    await ghosts(1999);
    assert.equal(await readIndexSummary(dir), undefined);
  });

  test("a file and a folder deleted by hand are noticed and restored", async () => {
    const dir = await summarisedCheckout("restore");
    await rm(join(dir, "a.txt"));
    await rm(join(dir, "d/e"), { recursive: true });
    const { result, summarised, entriesRead } = await updateFromSummary(dir);
    assert.deepEqual([summarised, entriesRead], [true, true]);
    assert.deepEqual(linesOf(result).sort(), ["U a.txt", "U d/e", "U d/e/c.txt", "U d/e/f.txt"]);
    for (const [path, text] of Object.entries(TREE)) assert.equal(await readFile(join(dir, path), "utf8"), text);
  });

  test("a file deleted by hand in a folder whose stat was put back is still restored (the parent's listing gives it away)", async () => {
    const dir = await summarisedCheckout("restore-deep");
    // Dating the folder back does not hide the deletion: its ctime still moves.
    await rm(join(dir, "d/e/c.txt"));
    const past = new Date(Date.now() - 60_000);
    await utimes(join(dir, "d/e"), past, past);
    const { result, entriesRead } = await updateFromSummary(dir);
    assert.equal(entriesRead, true);
    assert.deepEqual(linesOf(result), ["U d/e/c.txt"]);
    assert.equal(await readFile(join(dir, "d/e/c.txt"), "utf8"), "c\n");
  });

  test("an entry newer than the checkout is looked for in the entries, and deleted when the server deleted it", async () => {
    const dir = await summarisedCheckout("mixed");
    // A file added on the server and brought in by a path-limited update: its entry is newer
    // than the checkout, and a delta from the checkout's revision cannot name it.
    await remote.change("mixed", { add: { "new.txt": "theirs\n" } });
    await withWorkingCopy(dir, { lock: "update" }, (wc) => update(wc, { client: remote.client, paths: ["new.txt"] }));
    await recordCaches(dir);
    // Another path-limited update leaves a summary of these mixed revisions (the checkout stays older).
    await withWorkingCopy(dir, { lock: "update" }, (wc) => update(wc, { client: remote.client, paths: ["d"] }));
    const summary = await readIndexSummary(dir);
    assert.deepEqual(summary?.newer?.map(([path, kind, revision, clean]) => [path, kind, revision > summary.revision, clean]), [["new.txt", "file", true, 1]], "the summary knows the entry newer than the checkout");
    await remote.change("mixed", { remove: ["new.txt"] });
    const head = await remote.createFolder("mixed-elsewhere", { "x.txt": "x\n" });
    const { result, summarised, entriesRead } = await updateFromSummary(dir);
    assert.deepEqual([summarised, entriesRead], [true, true]);
    assert.equal(result.revision, head);
    assert.deepEqual(linesOf(result), ["D new.txt"]);
    assert.ok(!existsSync(join(dir, "new.txt")));
  });

  test("a summary of another index, a damaged one, or one of an index damaged in place is not used", async () => {
    const dir = await summarisedCheckout("stale");
    const paths = adminPaths(dir);
    const good = await readFile(paths.summary, "utf8");

    // Any save of the index (here: a status recording a new stat cache) makes it stale.
    await writeFile(join(dir, "a.txt"), "edited\n");
    await recordCaches(dir);
    assert.equal(await readIndexSummary(dir), undefined);
    assert.equal((await updateFromSummary(dir)).summarised, false);
    assert.ok(await readIndexSummary(dir), "and the update leaves a fresh one");

    // A torn or foreign summary file.
    const parsed = JSON.parse(good) as { folders: unknown[] };
    const variants = [
      "",
      good.slice(0, 40),
      "[]",
      JSON.stringify({ ...parsed, format: 99 }),
      JSON.stringify({ ...parsed, folders: [...parsed.folders, ["../outside", "1", "1", 1]] }),
      JSON.stringify({ ...parsed, folders: [...parsed.folders, "d"] }),
      JSON.stringify({ ...parsed, unlisted: undefined }),
      JSON.stringify({ ...parsed, unlisted: [["d", ["../outside"]]] }),
      JSON.stringify({ ...parsed, unlisted: [["d", "d/b.txt"]] }),
      JSON.stringify({ ...parsed, format: 1 }),
    ];
    for (const text of variants) {
      await writeFile(paths.summary, text);
      assert.equal(await readIndexSummary(dir), undefined, `summary ${JSON.stringify(text.slice(0, 20))}`);
    }

    // The index damaged in place, same size and same last line: reported, not skipped.
    await updateFromSummary(dir);
    assert.ok(await readIndexSummary(dir));
    const index = await readFile(paths.index);
    const at = index.indexOf("a.txt");
    index[at] = "b".charCodeAt(0);
    await writeFile(paths.index, index);
    await assert.rejects(updateFromSummary(dir), /corrupt.*zsync cleanup/s);
  });
});
