/**
 * `.zsync/index` (src/wc/index-file.ts, entries.ts): incremental writes (asserted in bytes),
 * compaction, torn writes at every byte, kill -9 of a process writing it, crash states of the
 * upgrade from `entries.json`, and a damaged index: a clear error, then a rebuild that keeps
 * every intact record.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, lstatSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { crc32 } from "node:zlib";
import { formatTwoIndex } from "../helpers/index-format-two.js";
import { adminPaths, FORMAT_VERSION, WcError } from "../../src/wc/admin.js";
import { loadEntries, saveEntries, type Entry } from "../../src/wc/entries.js";
import { runJournalOn } from "../../src/wc/journal.js";
import { forEachRevision, LazyEntries } from "../../src/wc/lazy-entries.js";
import { rebuildIndexIfDamaged } from "../../src/wc/index-rebuild.js";
import { settled } from "../../src/wc/stat-cache.js";
import { missingPaths } from "../../src/wc/missing.js";
import { scanWorkingCopy } from "../../src/wc/scan.js";
import { formatMeta } from "../../src/protocol/meta-text.js";
import { tempDir } from "../helpers/server.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

let work: string;
before(async () => {
  work = await tempDir("zsync-index-");
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

let counter = 0;
async function makeRoot(): Promise<string> {
  const root = join(work, `co${counter++}`);
  await mkdir(adminPaths(root).admin, { recursive: true });
  await writeFile(adminPaths(root).format, `${FORMAT_VERSION}\n`);
  return root;
}

function fileEntry(i: number, revision = 1): Entry {
  const hash = sha(`content ${i}`);
  return { kind: "file", revision, hash, size: 10 + i, cache: { size: 10 + i, mtimeNs: "1700000000000000000", ino: 1000 + i, hash } };
}

function manyEntries(n: number): Map<string, Entry> {
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }], ["d", { kind: "folder", revision: 1 }]]);
  for (let i = 0; i < n; i++) entries.set(`d/f${i}.txt`, fileEntry(i));
  return entries;
}

const plain = (entries: Map<string, Entry>) => JSON.stringify([...entries].sort(([a], [b]) => (a < b ? -1 : 1)));

describe("incremental writes", () => {
  test("changing one entry appends the same few hundred bytes at 100 and at 5000 entries, and leaves the rest untouched", async () => {
    const appended: number[] = [];
    for (const n of [100, 5000]) {
      const root = await makeRoot();
      await saveEntries(root, { revision: 1, entries: manyEntries(n) });
      const file = adminPaths(root).index;
      const before = readFileSync(file);
      const wc = await loadEntries(root);
      wc.entries.set("d/f7.txt", fileEntry(7, 2)); // what a 1-file commit records
      wc.revision = 2;
      await saveEntries(root, wc);
      const afterBytes = readFileSync(file);
      assert.ok(afterBytes.subarray(0, before.length).equals(before), "the existing bytes are not rewritten");
      appended.push(afterBytes.length - before.length);
      assert.equal((await loadEntries(root)).entries.get("d/f7.txt")!.revision, 2);
      assert.equal((await loadEntries(root)).revision, 2);
    }
    assert.equal(appended[0], appended[1], `bytes appended: ${appended.join(" vs ")}`);
    assert.ok(appended[0] < 600, `one entry costs ${appended[0]} bytes`);
  });

  test("a whole rewrite that fails (a real full tmpfs) is written by the next save", async (t) => {
    const mountPoint = join(work, `disk${counter++}`);
    await mkdir(mountPoint);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint], { stdio: "ignore" });
    } catch {
      t.skip("cannot mount a tmpfs here (needs root); a full disk cannot be produced for real");
      return;
    }
    try {
      const root = join(mountPoint, "co");
      await mkdir(adminPaths(root).admin, { recursive: true });
      await writeFile(adminPaths(root).format, `${FORMAT_VERSION}\n`);
      await saveEntries(root, { revision: 1, entries: manyEntries(300) });
      const wc = await loadEntries(root);
      // Most entries change: the save rewrites the index whole, and the disk has no room for it.
      for (let i = 0; i < 300; i++) wc.entries.set(`d/f${i}.txt`, fileEntry(i, 2));
      wc.revision = 2;
      const filler = join(mountPoint, "filler");
      try {
        for (;;) appendFileSync(filler, Buffer.alloc(4096));
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, "ENOSPC");
      }
      await assert.rejects(saveEntries(root, wc), (e: Error) => /disk full|ENOSPC|no space/i.test(e.message));
      assert.equal((await loadEntries(root)).entries.get("d/f5.txt")!.revision, 1, "nothing was written");
      rmSync(filler);
      // The same entries saved again: what failed is written now, not taken as already stored.
      await saveEntries(root, wc);
      const read = await loadEntries(root);
      assert.equal(read.revision, 2);
      assert.equal(plain(read.entries), plain(wc.entries));
    } finally {
      execFileSync("umount", [mountPoint]);
    }
  });

  test("a save that changes nothing writes nothing; a deletion is recorded", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 1, entries: manyEntries(10) });
    const file = adminPaths(root).index;
    const size = statSync(file).size;
    const wc = await loadEntries(root);
    await saveEntries(root, wc);
    assert.equal(statSync(file).size, size);
    wc.entries.delete("d/f3.txt");
    await saveEntries(root, wc, { changed: ["d/f3.txt"] });
    assert.equal((await loadEntries(root)).entries.has("d/f3.txt"), false);
    assert.equal((await loadEntries(root)).entries.size, 11);
  });

  test("the log is compacted once it outgrows twice the live entries, and keeps its content", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 1, entries: manyEntries(50) });
    const file = adminPaths(root).index;
    const compact = statSync(file).size;
    const wc = await loadEntries(root);
    let biggest = 0;
    for (let k = 0; k < 400; k++) {
      wc.entries.set(`d/f${k % 50}.txt`, fileEntry(k % 50, 2 + k));
      wc.revision = 2 + k;
      await saveEntries(root, wc, { changed: [`d/f${k % 50}.txt`] });
      biggest = Math.max(biggest, statSync(file).size);
    }
    assert.ok(biggest < 4 * compact, `the log grew to ${biggest} bytes from ${compact}`);
    const read = await loadEntries(root);
    assert.equal(read.revision, 401);
    assert.equal(plain(read.entries), plain(wc.entries));
  });

  test("a stale copy of the entries appends only its own change and undoes nobody else's", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 1, entries: manyEntries(5) });
    const a = await loadEntries(root);
    const b = await loadEntries(root);
    a.entries.set("d/f1.txt", fileEntry(1, 5));
    await saveEntries(root, a);
    b.entries.set("d/f2.txt", fileEntry(2, 6));
    await saveEntries(root, b);
    const read = await loadEntries(root);
    assert.equal(read.entries.get("d/f1.txt")!.revision, 5);
    assert.equal(read.entries.get("d/f2.txt")!.revision, 6);
  });

  test("an invalid entry is refused before anything is written", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 1, entries: manyEntries(3) });
    const before = readFileSync(adminPaths(root).index);
    const wc = await loadEntries(root);
    wc.entries.set("../escape", fileEntry(1));
    await assert.rejects(saveEntries(root, wc), (e: WcError) => e.code === "invalid-entry");
    assert.ok(readFileSync(adminPaths(root).index).equals(before));
  });
});

describe("crashes while writing", () => {
  test("a write cut at any byte leaves the previous entries, and the next save cuts the torn tail off", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 1, entries: manyEntries(3) });
    const file = adminPaths(root).index;
    const before = readFileSync(file);
    const wc = await loadEntries(root);
    wc.entries.set("d/f1.txt", fileEntry(1, 2));
    wc.entries.set("d/new.txt", fileEntry(9, 2));
    wc.revision = 2;
    await saveEntries(root, wc);
    const full = readFileSync(file);
    const beforeState = plain(manyEntries(3));
    for (let cut = before.length; cut < full.length; cut++) {
      writeFileSync(file, full.subarray(0, cut));
      const read = await loadEntries(root);
      assert.equal(read.revision, 1, `cut at ${cut}`);
      assert.equal(plain(read.entries), beforeState, `cut at ${cut}: the batch is all or nothing`);
      read.entries.set("d/f2.txt", fileEntry(2, 3));
      read.revision = 3;
      await saveEntries(root, read);
      const again = await loadEntries(root);
      assert.equal(again.revision, 3);
      assert.equal(again.entries.get("d/f2.txt")!.revision, 3);
      assert.equal(again.entries.has("d/new.txt"), false);
      assert.ok(readFileSync(file).subarray(0, before.length).equals(before));
    }
  });

  test("kill -9 of a process saving entries in a loop leaves an index that reads as one of its saves", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 0, entries: manyEntries(200) });
    const script = fileURLToPath(new URL("./index-writer.fixture.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", script, root], { stdio: ["ignore", "pipe", "inherit"] });
    // Kill once it reports a number of saves (a compaction happens every ~460 of them).
    const saves = 300 + (Date.now() % 700);
    await new Promise<void>((resolve) => {
      let text = "";
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk: string) => {
        text += chunk;
        if (text.split("\n").length > saves) {
          child.kill("SIGKILL");
          resolve();
        }
      });
      child.once("exit", () => resolve());
    });
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once("exit", resolve)));
    const read = await loadEntries(root);
    assert.ok(read.revision >= saves - 1, `revision ${read.revision} after ${saves} reported saves`);
    // Each save sets the revision and the entry of one file to the same number: they go together.
    const k = read.revision;
    assert.equal(read.entries.get(`d/f${k % 200}.txt`)!.revision, k);
    assert.equal(read.entries.size, 202);
    // …and the checkout goes on.
    read.revision = k + 1;
    await saveEntries(root, read);
    assert.equal((await loadEntries(root)).revision, k + 1);
  });
});

describe("upgrade from entries.json", () => {
  const legacy = (entries: Map<string, Entry>, revision: number) => JSON.stringify({ format: 1, revision, entries: Object.fromEntries(entries) });

  test("the first load writes the index and removes entries.json; the entries are the same", async () => {
    const root = await makeRoot();
    const entries = manyEntries(20);
    entries.set("d/f1.txt", { ...fileEntry(1), conflict: { kind: "text", artifacts: ["d/f1.txt.mine", "d/f1.txt.r1", "d/f1.txt.r2"] } });
    entries.set("d/added.txt", { kind: "file", schedule: "added" });
    entries.set("d/f2.txt", { ...fileEntry(2), schedule: "removed" });
    await writeFile(adminPaths(root).entries, legacy(entries, 7));
    const read = await loadEntries(root);
    assert.equal(read.revision, 7);
    assert.equal(plain(read.entries), plain(entries));
    assert.ok(existsSync(adminPaths(root).index));
    assert.ok(!existsSync(adminPaths(root).entries));
    assert.equal(plain((await loadEntries(root)).entries), plain(entries));
  });

  test("every state a kill -9 can leave mid-upgrade is usable", async () => {
    const entries = manyEntries(20);
    // 1. Killed while writing the temp file: entries.json and a stray temp file.
    {
      const root = await makeRoot();
      await writeFile(adminPaths(root).entries, legacy(entries, 3));
      await writeFile(join(adminPaths(root).admin, ".index.zsync-tmp-0123456789ab"), "half an ind");
      assert.equal(plain((await loadEntries(root)).entries), plain(entries));
    }
    // 2. Killed after the rename, before entries.json was removed: the index wins.
    {
      const root = await makeRoot();
      await saveEntries(root, { revision: 3, entries });
      const wc = await loadEntries(root);
      wc.entries.set("d/f0.txt", fileEntry(0, 4));
      await saveEntries(root, wc);
      await writeFile(adminPaths(root).entries, legacy(entries, 3));
      assert.equal((await loadEntries(root)).entries.get("d/f0.txt")!.revision, 4);
    }
  });
});

describe("kill -9 during the upgrade", () => {
  test("a process upgrading over and over, killed at any moment, leaves a checkout that loads with the same entries", async () => {
    const entries = manyEntries(2000);
    entries.set("d/added.txt", { kind: "file", schedule: "added" });
    entries.set("d/f1.txt", { ...fileEntry(1), conflict: { kind: "text", artifacts: ["d/f1.txt.mine"] } });
    const legacyFile = join(work, `legacy-${counter}.json`);
    await writeFile(legacyFile, JSON.stringify({ format: 1, revision: 9, entries: Object.fromEntries(entries) }));
    const script = fileURLToPath(new URL("./index-upgrader.fixture.ts", import.meta.url));
    for (const rounds of [1, 3, 7]) {
      const root = await makeRoot();
      const child = spawn(process.execPath, ["--import", "tsx", script, root, legacyFile], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((resolve) => {
        let text = "";
        child.stdout.setEncoding("utf8");
        child.stdout.on("data", (chunk: string) => {
          text += chunk;
          if (text.split("\n").length > rounds) child.kill("SIGKILL");
        });
        child.once("exit", () => resolve());
      });
      const read = await loadEntries(root);
      assert.equal(read.revision, 9);
      assert.equal(plain(read.entries), plain(entries), `killed after ${rounds} rounds`);
    }
  });
});

/** Every shape an entry takes: only the first two are plain files (`f` records). */
function entriesOfEveryShape(): Map<string, Entry> {
  const h = (s: string) => sha(s);
  const cache = (hash: string) => ({ size: 3, mtimeNs: "1700000000123456789", ino: 42, hash });
  return new Map<string, Entry>([
    ["", { kind: "folder", revision: 4, listing: { mtimeNs: "1", ctimeNs: "2", ino: 3, children: 9 } }],
    ["plain.txt", { kind: "file", revision: 3, hash: h("a"), size: 3, cache: cache(h("a")) }],
    ["dir/na\u00efve \"quoted\" name.txt", { kind: "file", revision: 2, hash: h("b"), size: 0, cache: { ...cache(h("b")), mtimeNs: "0" } }],
    ["dir", { kind: "folder", revision: 2 }],
    ["edited.txt", { kind: "file", revision: 3, hash: h("c"), size: 3, cache: cache(h("edited")) }],
    ["uncached.txt", { kind: "file", revision: 3, hash: h("d"), size: 3 }],
    ["added.txt", { kind: "file", schedule: "added", cache: cache(h("e")) }],
    ["removed.txt", { kind: "file", revision: 1, hash: h("f"), size: 3, schedule: "removed" }],
    ["meta.txt", { kind: "file", revision: 3, hash: h("g"), size: 3, meta: { contentType: "text/plain", extra: { title: "T" } }, cache: cache(h("g")) }],
    [
      "conflicted.txt",
      { kind: "file", revision: 3, hash: h("h"), size: 3, cache: cache(h("h")), conflict: { kind: "text", artifacts: ["conflicted.txt.mine"], versions: { base: h("h"), theirs: h("i") } } },
    ],
    ["metacached.txt", { kind: "file", revision: 3, hash: h("j"), size: 3, cache: cache(h("j")), metaCache: { size: 20, mtimeNs: "5", ino: 6, meta: { extra: { title: "M" } } } }],
  ]);
}

describe("index format 3", () => {
  test("plain files are `f` records, every other entry JSON, and all of them read back unchanged", async () => {
    const root = await makeRoot();
    const entries = entriesOfEveryShape();
    await saveEntries(root, { revision: 4, entries });
    const lines = readFileSync(adminPaths(root).index, "utf8").split("\n");
    assert.match(lines[0], /^[0-9a-f]{8}\tv\t3$/);
    const kinds = Object.fromEntries(lines.filter((l) => /^[0-9a-f]{8}\t[ef]\t/.test(l)).map((l) => [JSON.parse(l.split("\t")[2]) as string, l[9]]));
    const plainFiles = ["plain.txt", "dir/na\u00efve \"quoted\" name.txt"];
    for (const path of entries.keys()) assert.equal(kinds[path], plainFiles.includes(path) ? "f" : "e", path);
    const read = await loadEntries(root);
    assert.deepEqual(read.entries, entries);
    assert.equal(read.revision, 4);
    // A change is appended in the same form, and saving what was read writes nothing.
    const size = statSync(adminPaths(root).index).size;
    await saveEntries(root, read);
    assert.equal(statSync(adminPaths(root).index).size, size);
    read.entries.set("plain.txt", { ...read.entries.get("plain.txt")!, revision: 5 });
    await saveEntries(root, read, { changed: ["plain.txt"] });
    const tail = readFileSync(adminPaths(root).index).subarray(size).toString("utf8");
    assert.match(tail, /^[0-9a-f]{8}\tf\t"plain\.txt"\t5\t[0-9a-f]{64}\t3\t3\t1700000000123456789\t42\n[0-9a-f]{8}\tc\t4\t[0-9a-f]{8}\n$/);
    assert.deepEqual((await loadEntries(root)).entries.get("plain.txt"), read.entries.get("plain.txt"));
  });

  test("an index in format 2 is read as it is; the first save rewrites it in format 3 with the same entries", async () => {
    const root = await makeRoot();
    const entries = entriesOfEveryShape();
    for (const [path, entry] of manyEntries(50)) if (path !== "") entries.set(path, entry);
    const file = adminPaths(root).index;
    const old = formatTwoIndex(7, entries);
    await writeFile(file, old);
    const read = await loadEntries(root);
    assert.deepEqual(read.entries, entries);
    assert.equal(read.revision, 7);
    assert.equal(readFileSync(file, "utf8"), old, "reading leaves it as it is");

    read.entries.set("edited.txt", { ...read.entries.get("edited.txt")!, revision: 8 });
    await saveEntries(root, read, { changed: ["edited.txt"] });
    const text = readFileSync(file, "utf8");
    assert.match(text, /^[0-9a-f]{8}\tv\t3\n/, "rewritten whole in format 3");
    assert.equal(text.split("\n").filter((l) => l.slice(9, 11) === "f\t").length, 52, "plain files as f records, those only the save did not touch too");
    const expected = new Map(entries).set("edited.txt", read.entries.get("edited.txt")!);
    assert.deepEqual((await loadEntries(root)).entries, expected);
    // From then on, changes are appended.
    const again = await loadEntries(root);
    again.revision = 9;
    await saveEntries(root, again);
    assert.ok(readFileSync(file, "utf8").startsWith(text));
  });

  test("an index from a newer zsync is refused as it is, by every load and by `zsync cleanup`", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 1, entries: manyEntries(3) });
    const file = adminPaths(root).index;
    const header = `v\t4`;
    const text = readFileSync(file, "utf8").replace(/^.*\n/, `${crc32(header).toString(16).padStart(8, "0")}\t${header}\n`);
    await writeFile(file, text);
    const newer = (e: WcError) => e.code === "newer-index" && e.message.includes(".zsync/index") && /index format 4, written by a newer zsync/.test(e.message) && /Nothing was changed/.test(e.message);
    await assert.rejects(loadEntries(root), newer);
    await assert.rejects(rebuildIndexIfDamaged(root), newer);
    assert.equal(readFileSync(file, "utf8"), text);
    assert.ok(!existsSync(join(root, ".zsync/index.damaged")));
  });
});

describe("a damaged index", () => {
  async function damaged(): Promise<{ root: string; entries: Map<string, Entry> }> {
    const root = await makeRoot();
    const entries = manyEntries(30);
    await saveEntries(root, { revision: 4, entries });
    const wc = await loadEntries(root);
    wc.entries.set("d/f5.txt", fileEntry(5, 5));
    wc.revision = 5;
    await saveEntries(root, wc);
    // Flip one character inside the appended record of d/f5.txt (its first record stays intact).
    const file = adminPaths(root).index;
    const text = await readFile(file, "utf8");
    const at = text.lastIndexOf('"d/f5.txt"');
    await writeFile(file, text.slice(0, at + 3) + "X" + text.slice(at + 4));
    return { root, entries: wc.entries };
  }

  test("is refused with an error that names the file and `zsync cleanup`", async () => {
    const { root } = await damaged();
    await assert.rejects(loadEntries(root), (e: WcError) => e.code === "corrupt-admin" && e.message.includes(".zsync/index") && /zsync cleanup/.test(e.message) && /untouched/.test(e.message));
  });

  test("is rebuilt from every intact record; only the damaged one is lost, and the stat caches are dropped", async () => {
    const { root, entries } = await damaged();
    entries.set("d/f5.txt", fileEntry(5, 1)); // the record before the damaged one
    const report = await rebuildIndexIfDamaged(root);
    assert.ok(report);
    assert.equal(report.dropped, 1);
    assert.ok(existsSync(join(root, report.damagedCopy)));
    const read = await loadEntries(root);
    const expected = new Map(entries);
    for (const [path, entry] of expected) {
      const { cache: _ignored, ...rest } = entry;
      expected.set(path, rest);
    }
    assert.equal(plain(read.entries), plain(expected));
    // The last seal before the damage: older than the truth is safe (an update re-sends what
    // the checkout may already have, which merges as a no-op); newer could skip a change.
    assert.equal(read.revision, 4);
    assert.equal(await rebuildIndexIfDamaged(root), undefined, "an intact index is left alone");
  });

  test("a missing index (and no entries.json) is an error, and is rebuilt as an empty checkout", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 2, entries: manyEntries(2) });
    await rm(adminPaths(root).index);
    await assert.rejects(loadEntries(root), (e: WcError) => e.code === "corrupt-admin" && /zsync cleanup/.test(e.message));
    assert.ok(await rebuildIndexIfDamaged(root));
    assert.deepEqual([...(await loadEntries(root)).entries.keys()], [""]);
  });

  test("a torn tail is not damage, but a damaged complete line after the last seal is", async () => {
    const root = await makeRoot();
    await saveEntries(root, { revision: 1, entries: manyEntries(3) });
    const file = adminPaths(root).index;
    const size = statSync(file).size;
    await writeFile(file, Buffer.concat([readFileSync(file), Buffer.from("0000000\te\t\"d/x\"\t{}\n")]));
    await assert.rejects(loadEntries(root), (e: WcError) => e.code === "corrupt-admin");
    await truncate(file, size);
    await writeFile(file, Buffer.concat([readFileSync(file), Buffer.from("0000000\te\t\"d/x")]));
    assert.equal((await loadEntries(root)).entries.size, 5);
  });

  test("seals are found by their place in a line: batches after multi-byte paths, and a seal mark elsewhere", async () => {
    const root = await makeRoot();
    const entries = manyEntries(3);
    entries.set("d/é日本.txt", fileEntry(7));
    await saveEntries(root, { revision: 1, entries });
    const wc = await loadEntries(root);
    wc.entries.set("d/ü.txt", fileEntry(8, 2));
    wc.revision = 2;
    await saveEntries(root, wc);
    const file = adminPaths(root).index;
    const intact = readFileSync(file);
    assert.ok(intact.toString("utf8").length < intact.length, "the index holds multi-byte characters");
    const read = await loadEntries(root);
    assert.equal(read.revision, 2);
    assert.equal(plain(read.entries), plain(wc.entries));
    // A torn tail holding TAB c TAB away from a seal's place, then at it but without its newline.
    for (const tail of ["0123\tc\t2\t", "01234567\tc\t9\t0123"]) {
      await writeFile(file, Buffer.concat([intact, Buffer.from(tail)]));
      const torn = await loadEntries(root, { lazy: true });
      assert.equal(torn.revision, 2, JSON.stringify(tail));
      assert.equal(plain(new Map(torn.entries)), plain(wc.entries));
    }
    // The same mark at a seal's place on a complete line is a seal, and a damaged one.
    await writeFile(file, Buffer.concat([intact, Buffer.from("01234567\tc\t9\t01234567\n")]));
    await assert.rejects(loadEntries(root), (e: WcError) => e.code === "corrupt-admin");
  });
});

describe("settled: when a stat time is old enough to trust", () => {
  const nowMs = 1_800_000_000_123;
  const ns = (ms: number) => BigInt(ms) * 1_000_000n;
  test("sub-second times: 100 ms; whole-second times (a file system that keeps seconds): 2 s", () => {
    const table: [string, bigint, boolean][] = [
      ["written just now", ns(nowMs) - 1n, false],
      ["99 ms ago", ns(nowMs - 99), false],
      ["100 ms ago", ns(nowMs - 100), true],
      ["an hour ago", ns(nowMs - 3_600_000), true],
      ["in the future (clock skew)", ns(nowMs + 5_000), false],
      ["on a whole second, 1.9 s ago", ns(1_799_999_998_000), false],
      ["on a whole second, 2.1 s ago", ns(1_799_999_998_000), true],
    ];
    for (const [what, timeNs, expected] of table) {
      const at = what.includes("2.1 s") ? 1_800_000_000_100 : what.includes("1.9 s") ? 1_799_999_999_900 : nowMs;
      assert.equal(settled(timeNs, at), expected, what);
    }
  });
});

describe("status skips reading folders that cannot have changed", () => {
  const later = () => Date.now() + 10_000; // every folder is old enough to trust

  async function checkout(): Promise<{ root: string; entries: Map<string, Entry> }> {
    const root = await makeRoot();
    await mkdir(join(root, "d"));
    const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }], ["d", { kind: "folder", revision: 1 }]]);
    for (const name of ["a.txt", "b.txt"]) {
      await writeFile(join(root, "d", name), name);
      entries.set(`d/${name}`, { kind: "file", revision: 1, hash: sha(name), size: name.length });
    }
    const first = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    assert.deepEqual(first.items, []);
    assert.ok(first.refreshedListings.has("d"), "a folder holding only tracked names gets a listing cache");
    entries.get("d")!.listing = first.refreshedListings.get("d")!;
    return { root, entries };
  }

  test("an unchanged folder is not listed again, and its files are still checked", async () => {
    const { root, entries } = await checkout();
    const again = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    assert.deepEqual(again.items, []);
    assert.equal(again.refreshedListings.has("d"), false, "the folder was not read");
    await writeFile(join(root, "d/a.txt"), "edited, longer");
    assert.deepEqual((await scanWorkingCopy(root, entries, { changedOnly: true, now: later })).items.map((i) => [i.path, i.content]), [["d/a.txt", "M"]]);
  });

  test("a new name, a deleted file, or an entry dropped while its file stays are all seen", async () => {
    {
      const { root, entries } = await checkout();
      await writeFile(join(root, "d/new.txt"), "new");
      const scan = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
      assert.deepEqual(scan.items.map((i) => [i.path, i.content]), [["d/new.txt", "?"]]);
      assert.equal(scan.refreshedListings.has("d"), false, "no cache for a folder with an unversioned name");
    }
    {
      const { root, entries } = await checkout();
      await rm(join(root, "d/b.txt"));
      assert.deepEqual((await scanWorkingCopy(root, entries, { changedOnly: true, now: later })).items.map((i) => [i.path, i.content]), [["d/b.txt", "!"]]);
    }
    {
      const { root, entries } = await checkout();
      entries.delete("d/b.txt"); // `revert` of an add, `remove --keep-local`: the folder's names stay the same
      assert.deepEqual((await scanWorkingCopy(root, entries, { changedOnly: true, now: later })).items.map((i) => [i.path, i.content]), [["d/b.txt", "?"]]);
    }
  });

  test("a folder changed within the last 100 ms gets no listing cache", async () => {
    const root = await makeRoot();
    await mkdir(join(root, "d"));
    const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }], ["d", { kind: "folder", revision: 1 }]]);
    const scan = await scanWorkingCopy(root, entries, { changedOnly: true, now: () => statSync(join(root, "d")).mtimeMs + 50 });
    assert.equal(scan.refreshedListings.has("d"), false);
  });
});

describe("missing paths (what update restores)", () => {
  const later = () => Date.now() + 10_000;

  async function tree(): Promise<{ root: string; entries: Map<string, Entry> }> {
    const root = await makeRoot();
    const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
    for (const dir of ["a", "a/b", "c"]) {
      await mkdir(join(root, dir));
      entries.set(dir, { kind: "folder", revision: 1 });
    }
    for (const file of ["a/1.txt", "a/b/2.txt", "c/3.txt", "top.txt"]) {
      await writeFile(join(root, file), file);
      entries.set(file, { kind: "file", revision: 1, hash: sha(file), size: file.length });
    }
    return { root, entries };
  }

  /** The answer without any cache: an lstat of every entry. */
  const naive = (root: string, entries: Map<string, Entry>) => [...entries.keys()].filter((p) => p !== "" && !existsSync(join(root, p)) && !isSymlink(join(root, p))).sort();
  const isSymlink = (path: string) => {
    try {
      return lstatSync(path).isSymbolicLink();
    } catch {
      return false;
    }
  };

  test("with and without listing caches, the same paths as an lstat of every entry", async () => {
    for (const damage of [async () => {}, (root: string) => rm(join(root, "a/1.txt")), (root: string) => rm(join(root, "a"), { recursive: true }), (root: string) => rm(join(root, "top.txt"))]) {
      for (const cached of [false, true]) {
        const { root, entries } = await tree();
        if (cached) {
          const scan = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
          for (const [path, listing] of scan.refreshedListings) entries.get(path)!.listing = listing;
          assert.equal(scan.refreshedListings.size, 4, "every folder got a listing cache");
        }
        await damage(root);
        assert.deepEqual(missingPaths(root, entries).sort(), naive(root, entries), `cached: ${cached}, ${damage.toString()}`);
        // The same answer from entries read lazily, as `update` reads them.
        await saveEntries(root, { revision: 1, entries });
        assert.deepEqual(missingPaths(root, (await loadEntries(root, { lazy: true })).entries).sort(), naive(root, entries));
      }
    }
  });

  test("while the listings hold, entries read lazily are decoded for folders only", async () => {
    const { root, entries } = await tree();
    const scan = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    for (const [path, listing] of scan.refreshedListings) entries.get(path)!.listing = listing;
    await saveEntries(root, { revision: 1, entries });
    const lazy = (await loadEntries(root, { lazy: true })).entries;
    assert.deepEqual(missingPaths(root, lazy), []);
    const decoded = [...lazy.keys()].filter((path) => typeof Map.prototype.get.call(lazy, path) !== "string");
    assert.deepEqual(decoded.sort(), ["", "a", "a/b", "c"]);
  });
});

describe("entries read lazily", () => {
  async function saved(): Promise<{ root: string; entries: Map<string, Entry> }> {
    const root = await makeRoot();
    const entries = entriesOfEveryShape();
    await saveEntries(root, { revision: 4, entries });
    return { root, entries };
  }
  const undecoded = (map: Map<string, Entry>) => [...map.keys()].filter((path) => typeof Map.prototype.get.call(map, path) === "string").length;

  test("read as the same map as an eager load; has, keys, size, set and delete decode nothing", async () => {
    const { root, entries } = await saved();
    const lazy = (await loadEntries(root, { lazy: true })).entries;
    assert.equal(lazy.size, entries.size);
    assert.deepEqual([...lazy.keys()], [...(await loadEntries(root)).entries.keys()]);
    assert.ok(lazy.has("plain.txt") && !lazy.has("nope"));
    lazy.set("new.txt", { kind: "file", schedule: "added" });
    lazy.delete("removed.txt");
    assert.equal(undecoded(lazy), entries.size - 1, "nothing decoded yet");
    const first = lazy.get("plain.txt");
    assert.equal(lazy.get("plain.txt"), first, "decoded once: the same object after");
    assert.equal(undecoded(lazy), entries.size - 2);
    const expected = new Map(entries);
    expected.set("new.txt", { kind: "file", schedule: "added" });
    expected.delete("removed.txt");
    assert.deepEqual(new Map(lazy), expected);
    assert.deepEqual([...lazy.values()], [...lazy.keys()].map((path) => expected.get(path)));
    const seen: string[] = [];
    lazy.forEach((entry, path, map) => {
      assert.equal(map, lazy);
      assert.deepEqual(entry, expected.get(path));
      seen.push(path);
    });
    assert.deepEqual(seen, [...lazy.keys()]);
  });

  test("a save writes only what changed; a journal changes the entries in place, and puts them back when its save fails", async () => {
    const { root, entries } = await saved();
    const wc = await loadEntries(root, { lazy: true });
    const size = statSync(adminPaths(root).index).size;
    wc.entries.set("plain.txt", { ...wc.entries.get("plain.txt")!, revision: 9 });
    await saveEntries(root, wc, { changed: ["plain.txt"] });
    assert.equal(undecoded(wc.entries), entries.size - 1);
    assert.ok(statSync(adminPaths(root).index).size - size < 300);
    assert.equal((await loadEntries(root)).entries.get("plain.txt")!.revision, 9);

    // An unsaved change of the caller's stays unsaved; the journal's own changes are written.
    const holder = { root, entries: wc };
    wc.entries.set("unsaved.txt", { kind: "file", schedule: "added" });
    const onDisk = readFileSync(adminPaths(root).index);
    const view = () => JSON.stringify([...holder.entries.entries].sort(([a], [b]) => (a < b ? -1 : 1)));
    const beforeFailure = view();
    // A save that fails (an invalid entry is refused before anything is written) leaves the
    // caller's entries as they were, and the index untouched.
    await assert.rejects(
      runJournalOn(holder, { command: "test", steps: [], entries: { "plain.txt": null, "new.txt": { kind: "file", schedule: "added" }, "bad\u0000name": { kind: "file", schedule: "added" } } }),
      (e: WcError) => e.code === "invalid-entry",
    );
    assert.equal(holder.entries, wc);
    assert.equal(view(), beforeFailure);
    assert.deepEqual(readFileSync(adminPaths(root).index), onDisk);

    await runJournalOn(holder, { command: "test", steps: [], entries: { "plain.txt": null, "new.txt": { kind: "file", schedule: "added" } } });
    assert.equal(holder.entries.entries, wc.entries, "the same map, not a copy");
    assert.ok(!holder.entries.entries.has("plain.txt") && holder.entries.entries.has("new.txt") && holder.entries.entries.has("unsaved.txt"));
    const reread = (await loadEntries(root)).entries;
    assert.ok(!reread.has("plain.txt") && reread.has("new.txt") && !reread.has("unsaved.txt"));
  });

  test("every entry's kind and revision, as decoded entries have them, without decoding a plain file", async () => {
    const { root, entries } = await saved();
    const lazy = (await loadEntries(root, { lazy: true })).entries;
    const plainFiles = 2; // plain.txt and the naïve one: `f` records (see "index format 3")
    const seen: [string, string, number | undefined][] = [];
    forEachRevision(lazy, (path, kind, revision) => seen.push([path, kind, revision]));
    assert.deepEqual(seen, [...lazy.keys()].map((path) => [path, entries.get(path)!.kind, entries.get(path)!.revision]));
    assert.equal(seen.length, entries.size);
    assert.equal(undecoded(lazy), plainFiles, "plain files stay undecoded");
    const eager: typeof seen = [];
    forEachRevision((await loadEntries(root)).entries, (path, kind, revision) => eager.push([path, kind, revision]));
    assert.deepEqual(eager, seen);
    // A malformed record is not read around: it is decoded, and so reported.
    assert.ok(lazy instanceof LazyEntries);
    lazy.setRecord("bad", "1\tnot six fields");
    assert.throws(() => forEachRevision(lazy, () => {}), (e: WcError) => e.code === "corrupt-admin" && e.message.includes('"bad"'));
  });

  test("a record that does not decode is a corrupt index, named, when it is read", async () => {
    const root = await makeRoot();
    const lazy = new LazyEntries((why) => {
      throw new WcError("corrupt-admin", why);
    });
    lazy.setRecord("bad", "1\tnot six fields");
    lazy.setRecord("not json", "{not json");
    assert.ok(lazy.has("bad"));
    for (const path of ["bad", "not json"]) assert.throws(() => lazy.get(path), (e: WcError) => e.code === "corrupt-admin" && e.message.includes(JSON.stringify(path)));
    await rm(root, { recursive: true });
  });
});

describe("status takes metadata from its cache while the metadata file's stat holds", () => {
  const later = () => Date.now() + 10_000; // every file is old enough to trust
  const meta = { contentType: "text/plain", extra: { title: "A" } };

  async function checkout(): Promise<{ root: string; entries: Map<string, Entry>; metaFile: string }> {
    const root = await makeRoot();
    await mkdir(join(root, "d", "@@meta"), { recursive: true });
    await writeFile(join(root, "d/a.txt"), "a");
    const metaFile = join(root, "d/@@meta/a.txt.json");
    await writeFile(metaFile, formatMeta(meta));
    const entries = new Map<string, Entry>([
      ["", { kind: "folder", revision: 1 }],
      ["d", { kind: "folder", revision: 1 }],
      ["d/a.txt", { kind: "file", revision: 1, hash: sha("a"), size: 1, meta }],
    ]);
    return { root, entries, metaFile };
  }

  test("a settled metadata file is cached; the cache, not the file, answers while the stat holds", async () => {
    const { root, entries } = await checkout();
    const first = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    assert.deepEqual(first.items, []);
    const cache = first.refreshedMetaCaches.get("d/a.txt");
    assert.deepEqual(cache?.meta, meta, "the file's parsed metadata, with its stat");
    entries.get("d/a.txt")!.metaCache = cache;
    const again = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    assert.deepEqual(again.items, []);
    assert.equal(again.refreshedMetaCaches.size, 0, "not read again");
    // Proof that the cache answered: a cache claiming other metadata for the same stat is believed.
    entries.get("d/a.txt")!.metaCache = { ...cache!, meta: { contentType: "text/html" } };
    assert.deepEqual((await scanWorkingCopy(root, entries, { changedOnly: true, now: later })).items.map((i) => [i.path, i.meta]), [["d/a.txt", "M"]]);
  });

  test("an edited metadata file, or new BASE metadata, is seen despite the cache", async () => {
    const { root, entries, metaFile } = await checkout();
    entries.get("d/a.txt")!.metaCache = (await scanWorkingCopy(root, entries, { changedOnly: true, now: later })).refreshedMetaCaches.get("d/a.txt");
    // The cache describes the file, not its relation to BASE: BASE changing under it is seen.
    entries.get("d/a.txt")!.meta = { contentType: "text/plain" };
    assert.deepEqual((await scanWorkingCopy(root, entries, { changedOnly: true, now: later })).items.map((i) => [i.path, i.meta]), [["d/a.txt", "M"]]);
    entries.get("d/a.txt")!.meta = meta;
    await writeFile(metaFile, formatMeta({ ...meta, extra: { title: "B" } }));
    const edited = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    assert.deepEqual(edited.items.map((i) => [i.path, i.meta]), [["d/a.txt", "M"]]);
    assert.deepEqual(edited.refreshedMetaCaches.get("d/a.txt")?.meta, { ...meta, extra: { title: "B" } }, "re-read and cached anew");
  });

  test("no cache for a metadata file written within the last 100 ms, or one that does not parse", async () => {
    const { root, entries, metaFile } = await checkout();
    const recent = await scanWorkingCopy(root, entries, { changedOnly: true, now: () => statSync(metaFile).mtimeMs + 50 });
    assert.equal(recent.refreshedMetaCaches.size, 0);
    await writeFile(metaFile, "{ not json");
    const broken = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    assert.equal(broken.refreshedMetaCaches.size, 0);
    assert.ok(broken.items.find((i) => i.path === "d/a.txt")?.metaError);
  });

  test("the cache survives the index; a malformed one is refused when written", async () => {
    const { root, entries } = await checkout();
    const cache = (await scanWorkingCopy(root, entries, { changedOnly: true, now: later })).refreshedMetaCaches.get("d/a.txt")!;
    entries.get("d/a.txt")!.metaCache = cache;
    await saveEntries(root, { revision: 1, entries });
    assert.deepEqual((await loadEntries(root)).entries.get("d/a.txt")?.metaCache, cache);
    const bad = new Map(entries);
    bad.set("d/a.txt", { ...entries.get("d/a.txt")!, metaCache: { ...cache, meta: { contentType: 7 } as never } });
    await assert.rejects(saveEntries(root, { revision: 2, entries: bad }));
    assert.deepEqual((await loadEntries(root)).entries.get("d/a.txt")?.metaCache, cache, "nothing written");
  });
});
