/**
 * `zsync status` of a checkout large enough (40k files, `PARALLEL_FROM` in src/wc/stat-check.ts)
 * that the bundled client checks the stat caches on two threads. The worker must really answer
 * in the bundle (its source is built from the functions' text), and changes in either thread's
 * part must be reported as from a walk that checks each file itself.
 */
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { adminPaths, FORMAT_VERSION } from "../../src/wc/admin.js";
import { saveEntries, type Entry } from "../../src/wc/entries.js";
import { PARALLEL_FROM } from "../../src/wc/stat-check.js";
import { zsync } from "../helpers/cli.js";
import { tempDir } from "../helpers/server.js";

const FOLDERS = 40;
const PER_FOLDER = Math.ceil(PARALLEL_FROM / FOLDERS);

test("a status of 40k files checks their stat caches on two threads and reports what changed in either part", async () => {
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
  assert.deepEqual(changed.stdout.trim().split("\n").map((line) => line.replace(/\s+/g, " ")), [
    "M f00/1.txt",
    `! f${FOLDERS - 2}/7.txt`,
    `M f${FOLDERS - 1}/5.txt`,
    `? f${FOLDERS - 1}/new.txt`,
  ]);
});
