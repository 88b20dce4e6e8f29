/**
 * Stat caches checked up front on two threads (src/wc/stat-check.ts `checkStatCaches`): this
 * thread takes the first part of the files, a worker the rest. Every kind of mismatch must be
 * told apart in both parts, and the scan must still decide which paths it visits: a file the
 * check vouched for under a folder that became a symlink is not reached.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstatSync } from "node:fs";
import { mkdir, rename, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { adminPaths, FORMAT_VERSION } from "../../src/wc/admin.js";
import { saveEntries, loadEntries, type Entry } from "../../src/wc/entries.js";
import { adoptScanCaches, scanWorkingCopy } from "../../src/wc/scan.js";
import { checkStatCaches, mtimeMsOf, statNumbers } from "../../src/wc/stat-check.js";
import { tempDir } from "../helpers/server.js";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const later = () => Date.now() + 10_000; // every file is old enough to trust

/** What a stat cache of `file` as it is now expects. */
function expectedOf(file: string): [number, number, number] {
  const s = lstatSync(file, { bigint: true });
  return [Number(s.size), Number(s.ino), mtimeMsOf(String(s.mtimeNs))];
}

/** Every kind of mismatch, and a match, twice: the first copy falls to this thread, the second to the worker. */
async function mismatchCases(root: string): Promise<{ files: string[]; expected: number[]; want: number[] }> {
  const files: string[] = [];
  const expected: number[] = [];
  const want: number[] = [];
  // The same cases twice: the first copy falls to this thread, the second to the worker.
  for (const part of ["main", "worker"]) {
    const dir = join(root, part);
    await mkdir(dir);
    const add = (file: string, cache: [number, number, number], hit: number) => {
      files.push(file);
      expected.push(...cache);
      want.push(hit);
    };
    await writeFile(join(dir, "same"), "same\n");
    add(join(dir, "same"), expectedOf(join(dir, "same")), 1);
    await writeFile(join(dir, "bigger"), "one\n");
    const bigger = expectedOf(join(dir, "bigger"));
    await writeFile(join(dir, "bigger"), "one more\n");
    await utimes(join(dir, "bigger"), new Date(bigger[2]), new Date(bigger[2]));
    add(join(dir, "bigger"), bigger, 0);
    await writeFile(join(dir, "touched"), "touched\n");
    const touched = expectedOf(join(dir, "touched"));
    await utimes(join(dir, "touched"), new Date(touched[2] + 2000), new Date(touched[2] + 2000));
    add(join(dir, "touched"), touched, 0);
    // Replaced by another file of the same size and time: only the inode tells.
    await writeFile(join(dir, "replaced"), "first\n");
    const replaced = expectedOf(join(dir, "replaced"));
    await writeFile(join(dir, "other"), "other\n");
    await utimes(join(dir, "other"), new Date(replaced[2]), new Date(replaced[2]));
    await rename(join(dir, "other"), join(dir, "replaced"));
    add(join(dir, "replaced"), replaced, 0);
    await writeFile(join(dir, "gone"), "gone\n");
    const gone = expectedOf(join(dir, "gone"));
    await rm(join(dir, "gone"));
    add(join(dir, "gone"), gone, 0);
    // A symlink to a file its cache matches: lstat sees the link, not a file.
    await writeFile(join(dir, "target"), "target\n");
    await symlink("target", join(dir, "link"));
    add(join(dir, "link"), expectedOf(join(dir, "target")), 0);
    await mkdir(join(dir, "folder"));
    add(join(dir, "folder"), expectedOf(join(dir, "folder")), 0);
    add(join(dir, "same", "below-a-file"), expectedOf(join(dir, "same")), 0); // ENOTDIR
    add(join(dir, "same"), [...expectedOf(join(dir, "same")).slice(0, 2), NaN] as [number, number, number], 0); // a time told only exactly
  }
  return { files, expected, want };
}

test("every mismatch is told apart, on this thread and in the worker alike", async () => {
  const { files, expected, want } = await mismatchCases(await tempDir("zsync-stat-check-"));
  const hits = await checkStatCaches({ files, expected: Float64Array.from(expected) });
  assert.equal(Math.floor(files.length * 0.55), files.length / 2, "this thread takes the first copy, the worker the second");
  assert.deepEqual([...hits], want);
});

test("without the stat numbers (no fs binding), this thread tells every mismatch apart with lstatSync", async () => {
  const { files, expected, want } = await mismatchCases(await tempDir("zsync-stat-check-"));
  const binding = Object.getOwnPropertyDescriptor(process, "binding")!;
  Object.defineProperty(process, "binding", { value: undefined, configurable: true, writable: true });
  try {
    assert.equal(statNumbers((path) => lstatSync(path), "."), undefined);
    const hits = await checkStatCaches({ files, expected: Float64Array.from(expected) });
    assert.deepEqual([...hits], want);
  } finally {
    Object.defineProperty(process, "binding", binding);
  }
});

test("the stat numbers are lstat's own, and are not used when they disagree with lstatSync", async () => {
  const root = await tempDir("zsync-stat-numbers-");
  const file = join(root, "f");
  await writeFile(file, "some bytes\n");
  const numbers = statNumbers((path) => lstatSync(path), root);
  assert.ok(numbers, "Node.js 20 has the binding");
  const r = numbers(file)!;
  const s = lstatSync(file);
  assert.deepEqual([r[0], r[1], r[7], r[8], r[12] * 1e3 + r[13] / 1e6], [s.dev, s.mode, s.ino, s.size, s.mtimeMs]);
  assert.equal(numbers(join(root, "missing")), undefined);
  assert.throws(() => numbers(join(file, "below-a-file")), { code: "ENOTDIR" });
  // A probe whose answer differs (here: another inode) turns them off.
  assert.equal(statNumbers((path) => ({ ...lstatSync(path), ino: lstatSync(path).ino + 1 }), root), undefined);
});

test("a file vouched for under a folder that became a symlink is not reached: the folder and its files are missing", async () => {
  const root = await tempDir("zsync-stat-check-");
  await mkdir(adminPaths(root).admin, { recursive: true });
  await writeFile(adminPaths(root).format, `${FORMAT_VERSION}\n`);
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }], ["d", { kind: "folder", revision: 1 }]]);
  await mkdir(join(root, "d"));
  for (const name of ["d/a.txt", "d/b.txt", "top.txt"]) {
    await writeFile(join(root, name), `${name}\n`);
    entries.set(name, { kind: "file", revision: 1, hash: sha(`${name}\n`), size: `${name}\n`.length });
    const past = new Date(Date.now() - 60_000);
    await utimes(join(root, name), past, past);
  }
  adoptScanCaches(entries, await scanWorkingCopy(root, entries, { now: later }));
  await saveEntries(root, { revision: 1, entries });
  // The same files, same inodes and times, now reached through a symlink: `lstat("d/a.txt")` matches.
  await rename(join(root, "d"), join(root, "elsewhere"));
  await symlink("elsewhere", join(root, "d"));
  const states = async (parallelFrom: number) =>
    (await scanWorkingCopy(root, (await loadEntries(root, { lazy: true })).entries, { changedOnly: true, now: later, parallelFrom })).items.map((i) => `${i.content} ${i.path}`);
  const walked = await states(Infinity);
  assert.deepEqual(walked, ["! d", "! d/a.txt", "! d/b.txt", "? elsewhere"]);
  assert.deepEqual(await states(0), walked, "checked up front: the same states");
});
