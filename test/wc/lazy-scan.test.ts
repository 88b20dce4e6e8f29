/**
 * `status` and `commit` scan entries read lazily (src/wc/lazy-entries.ts): a plain file's stat
 * cache is checked straight from its undecoded `f` record. Every state must come out as from
 * entries decoded up front, and a clean scan must decode no plain file.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { adminPaths, FORMAT_VERSION } from "../../src/wc/admin.js";
import { loadEntries, saveEntries, type Entry } from "../../src/wc/entries.js";
import { fileRecordCacheInto, fileRecordStat } from "../../src/wc/index-records.js";
import { adoptScanCaches, scanWorkingCopy, type ScanResult } from "../../src/wc/scan.js";
import { mtimeMsOf } from "../../src/wc/stat-check.js";
import { tempDir } from "../helpers/server.js";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
/** Every file is old enough for its stat cache to be trusted. */
const later = () => Date.now() + 10_000;

let work: string;
before(async () => {
  work = await tempDir("zsync-lazy-scan-");
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

const FILES = ["a.txt", "b.txt", "d/c.txt", "d/e.txt", "d/f.txt", "d/g.txt", "d/h.txt", "d/i.txt", "d/sub/j.txt"];

/** A checkout of plain files whose stat caches and listings are in the index, as after a first status. */
async function cachedCheckout(name: string): Promise<string> {
  const root = join(work, name);
  await mkdir(adminPaths(root).admin, { recursive: true });
  await writeFile(adminPaths(root).format, `${FORMAT_VERSION}\n`);
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }], ["d", { kind: "folder", revision: 1 }], ["d/sub", { kind: "folder", revision: 1 }]]);
  await mkdir(join(root, "d/sub"), { recursive: true });
  for (const file of FILES) {
    await writeFile(join(root, file), `text of ${file}\n`);
    entries.set(file, { kind: "file", revision: 1, hash: sha(`text of ${file}\n`), size: `text of ${file}\n`.length });
  }
  // An entry that is no plain file stays JSON: a scheduled addition, a removal kept on disk.
  await writeFile(join(root, "d/new.txt"), "new\n");
  entries.set("d/new.txt", { kind: "file", schedule: "added" });
  await writeFile(join(root, "d/kept.txt"), "kept\n");
  entries.set("d/kept.txt", { kind: "file", revision: 1, hash: sha("kept\n"), size: 5, schedule: "removed" });
  // Written a minute ago, as far as the stat caches can tell: settled, so they are cached.
  const past = new Date(Date.now() - 60_000);
  for (const file of [...FILES, "d/new.txt", "d/kept.txt"]) await utimes(join(root, file), past, past);
  const scan = await scanWorkingCopy(root, entries, { now: later });
  adoptScanCaches(entries, scan);
  await saveEntries(root, { revision: 1, entries });
  return root;
}

/** The edits after the caches were written: one of each state a scan tells apart. */
async function edit(root: string): Promise<void> {
  await writeFile(join(root, "b.txt"), "changed, other size\n"); // M
  await writeFile(join(root, "d/c.txt"), "text of d/X.txt\n"); // M, same size
  const touched = new Date(Date.now() - 120_000);
  await utimes(join(root, "d/e.txt"), touched, touched); // =, a new cache
  await rm(join(root, "d/f.txt")); // !
  await rm(join(root, "d/g.txt"));
  await mkdir(join(root, "d/g.txt")); // ~
  await mkdir(join(root, "d/@@meta"));
  await writeFile(join(root, "d/@@meta/h.txt.json"), '{"contentType": "text/plain"}\n'); // metadata now: M in the second column
  await writeFile(join(root, "d/sub/unversioned.txt"), "?\n"); // ?
  await mkdir(join(root, "d/sub/unversioned-folder")); // ?, a folder
  await writeFile(join(root, "d/new.txt"), "new, edited\n"); // still A; an entry stored as JSON, with a stat cache
}

const shape = (scan: ScanResult) => ({
  items: scan.items.map((i) => [i.path, i.kind, i.content, i.meta, i.workingHash ?? "", i.workingSize ?? -1, JSON.stringify(i.workingMeta ?? null), i.metaError ?? ""].join(" ")),
  caches: [...scan.refreshedCaches].map(([path, cache]) => `${path} ${cache.hash} ${cache.size}`).sort(),
  listings: [...scan.refreshedListings.keys()].sort(),
  metaCaches: [...scan.refreshedMetaCaches.keys()].sort(),
});

/** Paths whose value in a lazy map is still the stored record. */
const undecoded = (map: Map<string, Entry>) => [...map.keys()].filter((path) => typeof Map.prototype.get.call(map, path) === "string");

describe("a scan of entries read lazily", () => {
  test("gives every state as a scan of entries decoded up front, in every mode and scope, with the stat caches checked on two threads or not", async () => {
    const root = await cachedCheckout("states");
    await edit(root);
    const modes = [{ changedOnly: true }, { changedOnly: false }, { changedOnly: true, hashOnlyToDecide: true }, { within: ["d"] }, { within: ["d/c.txt", "a.txt"], changedOnly: true }];
    for (const mode of modes) {
      const eager = await scanWorkingCopy(root, (await loadEntries(root)).entries, { ...mode, now: later });
      const lazy = await scanWorkingCopy(root, (await loadEntries(root, { lazy: true })).entries, { ...mode, now: later });
      assert.deepEqual(shape(lazy), shape(eager), JSON.stringify(mode));
      // stat-check.ts: the caches checked up front, this thread and a worker each taking a part.
      for (const lazily of [false, true]) {
        const parallel = await scanWorkingCopy(root, (await loadEntries(root, { lazy: lazily })).entries, { ...mode, now: later, parallelFrom: 0 });
        assert.deepEqual(shape(parallel), shape(eager), `${JSON.stringify(mode)}, checked up front${lazily ? ", lazily" : ""}`);
      }
    }
    const scan = await scanWorkingCopy(root, (await loadEntries(root, { lazy: true })).entries, { changedOnly: true, now: later });
    assert.deepEqual(
      scan.items.map((i) => `${i.content}${i.meta} ${i.kind} ${i.path}`),
      ["M  file b.txt", "M  file d/c.txt", "!  file d/f.txt", "~  folder d/g.txt", "=M file d/h.txt", "R  file d/kept.txt", "A  file d/new.txt", "?  folder d/sub/unversioned-folder", "?  file d/sub/unversioned.txt"],
    );
  });

  test("a clean scan decodes folders and entries that are no plain file, never a plain file", async () => {
    const root = await cachedCheckout("clean");
    const entries = (await loadEntries(root, { lazy: true })).entries;
    const plainFiles = [...FILES].sort();
    assert.deepEqual(undecoded(entries).filter((path) => FILES.includes(path)).sort(), plainFiles, "every plain file starts undecoded");
    const scan = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
    assert.deepEqual(scan.items.map((i) => [i.path, i.content]), [["d/kept.txt", "R"], ["d/new.txt", "A"]]);
    assert.deepEqual(undecoded(entries).filter((path) => FILES.includes(path)).sort(), plainFiles, "no plain file was decoded");
  });
});

describe("the stat cache of an f record", () => {
  test("read as numbers, is the cache its fields give, for any stat; other forms are not read, and a field that is no number matches nothing", () => {
    const out = new Float64Array(3);
    // Seconds from 1970 to ~2100, nanoseconds with leading zeros; sizes and inodes up to 2^45.
    // fast-check prints the seed of a failing run, and `seed` in its options replays it.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4_100_000_000 }), fc.integer({ min: 0, max: 999_999_999 }), fc.maxSafeNat(), fc.maxSafeNat(), (seconds, nanoseconds, a, b) => {
        const mtimeNs = `${seconds}${String(nanoseconds).padStart(9, "0")}`;
        const size = a % 2 ** 45;
        const ino = b % 2 ** 45;
        const record = `7\t${"b".repeat(64)}\t${size}\t${size}\t${mtimeNs}\t${ino}`;
        assert.equal(fileRecordCacheInto(record, out, 0), true);
        const cache = fileRecordStat(record)!;
        assert.deepEqual([...out], [cache.size, cache.ino, mtimeMsOf(cache.mtimeNs)], record);
        assert.equal(out[2], Number(mtimeNs.slice(0, -9)) * 1e3 + Number(mtimeNs.slice(-9)) / 1e6, "the double Node computes");
      }),
      { numRuns: 2000 },
    );
    for (const record of ['{"kind":"folder","revision":1}', "3\tfive\tfields\tonly\there", "3\ttoo\tmany\tfields\tin\tthis\trecord", ""]) {
      assert.equal(fileRecordCacheInto(record, out, 0), false, record);
    }
    for (const [record, field] of [
      [`3\t${"a".repeat(64)}\t10\t1e1\t1700000000123456789\t42`, 0],
      [`3\t${"a".repeat(64)}\t10\t11\t1700000000123456789\t 42`, 1],
      [`3\t${"a".repeat(64)}\t10\t11\t-1700000000123456789\t42`, 2],
      [`3\t${"a".repeat(64)}\t10\t11\t123456789\t42`, 2],
      [`3\t${"a".repeat(64)}\t10\t\t1700000000123456789\t42`, 0],
    ] as const) {
      assert.equal(fileRecordCacheInto(record, out, 0), true);
      assert.ok(Number.isNaN(out[field]), `${JSON.stringify(record)}: field ${field} is NaN`);
    }
  });

  test("is read from its fields; any other stored form gives undefined", () => {
    assert.deepEqual(fileRecordStat(`3\t${"a".repeat(64)}\t10\t11\t1700000000123456789\t42`), { size: 11, mtimeNs: "1700000000123456789", ino: 42 });
    for (const record of ['{"kind":"folder","revision":1}', "3\tfive\tfields\tonly\there", "3\ttoo\tmany\tfields\tin\tthis\trecord", ""]) {
      assert.equal(fileRecordStat(record), undefined, record);
    }
  });
});
