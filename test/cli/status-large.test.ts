/**
 * `zsync status` of a checkout large enough (40k files, `PARALLEL_FROM` in src/wc/stat-check.ts)
 * that the bundled client checks the stat caches on two threads. The worker must really answer
 * in the bundle (its source is built from the functions' text), and changes in either thread's
 * part must be reported as from a walk that checks each file itself, also when the worker
 * cannot start or fails (a preload replaces the Worker class: no real fault makes it fail).
 */
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { adminPaths, FORMAT_VERSION } from "../../src/wc/admin.js";
import { saveEntries, type Entry } from "../../src/wc/entries.js";
import { PARALLEL_FROM } from "../../src/wc/stat-check.js";
import { zsync } from "../helpers/cli.js";
import { tempDir } from "../helpers/server.js";

/** `zsync status` output as lines with their columns' spacing made one space. */
const lines = (stdout: string) => stdout.trim().split("\n").map((line) => line.replace(/\s+/g, " "));

const FOLDERS = 40;
// A margin above the threshold: files whose cache no longer holds their BASE content stop counting.
const PER_FOLDER = Math.ceil(PARALLEL_FROM / FOLDERS) + 10;

test("a status of 40k files checks their stat caches on two threads and reports what changed in either part, also when the worker fails", async () => {
  const root = await tempDir("zsync-status-large-");
  mkdirSync(adminPaths(root).admin, { recursive: true });
  writeFileSync(adminPaths(root).format, `${FORMAT_VERSION}\n`);
  writeFileSync(adminPaths(root).config, JSON.stringify({ origin: "http://127.0.0.1:9", path: "big", repository: randomUUID(), depth: "infinity" }));
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (let f = 0; f < FOLDERS; f++) {
    const folder = `f${String(f).padStart(2, "0")}`;
    mkdirSync(join(root, folder));
    entries.set(folder, { kind: "folder", revision: 1 });
    for (let i = 0; i < PER_FOLDER; i++) {
      const path = `${folder}/${i}.txt`;
      const text = `${path}\n`;
      writeFileSync(join(root, path), text);
      utimesSync(join(root, path), hourAgo, hourAgo);
      entries.set(path, { kind: "file", revision: 1, hash: createHash("sha256").update(text).digest("hex"), size: text.length });
    }
  }
  await saveEntries(root, { revision: 1, entries });
  // A preload that reports each worker's answer: the bundle then runs with the real Worker class.
  const spy = join(await tempDir("zsync-status-large-spy-"), "spy.cjs");
  writeFileSync(
    spy,
    `const wt = require("node:worker_threads");
const Real = wt.Worker;
wt.Worker = class extends Real { constructor(...args) { super(...args); this.once("message", () => process.stderr.write("worker answered\\n")); } };
`,
  );
  const env = { NODE_OPTIONS: `--require ${spy}` };

  // The first status hashes every file and records the stat caches; the second trusts them.
  const first = await zsync(["status"], { cwd: root, env });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout, "");
  const clean = await zsync(["status"], { cwd: root, env });
  assert.equal(clean.code, 0, clean.stderr);
  assert.equal(clean.stdout, "");
  assert.match(clean.stderr, /worker answered/, "the stat caches were checked on two threads");

  // Changes at the start and at the end of the files: this thread's part and the worker's.
  writeFileSync(join(root, "f00/1.txt"), "longer than it was\n");
  writeFileSync(join(root, `f${FOLDERS - 1}/5.txt`), `f${FOLDERS - 1}/X.txt\n`); // same size, new mtime
  rmSync(join(root, `f${FOLDERS - 2}/7.txt`));
  writeFileSync(join(root, `f${FOLDERS - 1}/new.txt`), "new\n");
  const changed = await zsync(["status"], { cwd: root, env });
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stderr, /worker answered/);
  assert.deepEqual(lines(changed.stdout), [
    "M f00/1.txt",
    `! f${FOLDERS - 2}/7.txt`,
    `M f${FOLDERS - 1}/5.txt`,
    `? f${FOLDERS - 1}/new.txt`,
  ]);

  // A worker that cannot be created, and one that fails: the walk stats their part itself, and
  // finds a change made in each part since (a file edited in place: its folder's listing still
  // holds, so only the stat of the file itself can tell), with nothing said about the worker.
  const faults = {
    "cannot be created": `wt.Worker = class { constructor() { throw new Error("no threads here"); } };`,
    "fails": `wt.Worker = class extends Real { constructor(_source, opts) { super("throw new Error('failed on purpose')", opts); } };`,
  };
  const edited = lines(changed.stdout);
  for (const [n, [name, replacement]] of Object.entries(faults).entries()) {
    for (const path of [`f01/${n}.txt`, `f${FOLDERS - 3}/${n}.txt`]) {
      writeFileSync(join(root, path), "edited in place, longer\n", { flag: "r+" });
      edited.push(`M ${path}`);
    }
    edited.sort((a, b) => (a.slice(2) < b.slice(2) ? -1 : 1));
    const dir = await tempDir("zsync-status-large-fault-");
    const preload = join(dir, "fault.cjs");
    const tried = join(dir, "tried");
    // The replacement notes in a file (stderr must stay empty) that a worker was asked for.
    writeFileSync(
      preload,
      `const wt = require("node:worker_threads");\nconst Real = wt.Worker;\n${replacement}\nconst Faulty = wt.Worker;\nwt.Worker = function (...args) { require("node:fs").writeFileSync(${JSON.stringify(tried)}, "yes"); return new Faulty(...args); };\n`,
    );
    const faulty = await zsync(["status"], { cwd: root, env: { NODE_OPTIONS: `--require ${preload}` } });
    assert.equal(faulty.code, 0, `${name}: ${faulty.stderr}`);
    assert.deepEqual(lines(faulty.stdout), edited, `a worker that ${name}`);
    assert.equal(faulty.stderr, "", `a worker that ${name}: nothing said`);
    assert.ok(existsSync(tried), `a worker that ${name} was asked for`);
  }
});
