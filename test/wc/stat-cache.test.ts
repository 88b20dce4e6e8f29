/**
 * The stat cache check on a plain lstat (scan.ts `lstatAgainst`): the cached nanoseconds give
 * exactly the double Node computes as `mtimeMs`, so an unchanged file matches without a BigInt
 * lstat; a file rewritten with the same size and an mtime a microsecond later does not; a cache
 * whose mtime cannot be told that way (before 1970-01-01T00:00:01) is checked exactly.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { lstatSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { adminPaths, FORMAT_VERSION } from "../../src/wc/admin.js";
import type { Entry } from "../../src/wc/entries.js";
import { adoptScanCaches, scanWorkingCopy } from "../../src/wc/scan.js";
import { mtimeMsOf } from "../../src/wc/stat-check.js";
import { tempDir } from "../helpers/server.js";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const later = () => Date.now() + 10_000; // every file is old enough to trust

/** Sets a file's mtime to `seconds` (a decimal string, to the nanosecond: Node's utimes rounds). */
function setMtime(file: string, seconds: string): void {
  execFileSync("touch", ["-m", "-d", `@${seconds}`, file]);
}

async function checkoutWith(files: Record<string, string>): Promise<{ root: string; entries: Map<string, Entry> }> {
  const root = await tempDir("zsync-stat-cache-");
  await mkdir(adminPaths(root).admin, { recursive: true });
  await writeFile(adminPaths(root).format, `${FORMAT_VERSION}\n`);
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
  for (const [name, text] of Object.entries(files)) {
    await writeFile(join(root, name), text);
    entries.set(name, { kind: "file", revision: 1, hash: sha(text), size: text.length });
  }
  return { root, entries };
}

/** Rewrites `name` with `content` of the same size, dated `mtime` (touch -d @…): status must call it modified. */
async function assertModifiedAfterRewrite(root: string, entries: Map<string, Entry>, name: string, content: string, mtime: string): Promise<void> {
  await writeFile(join(root, name), content);
  setMtime(join(root, name), mtime);
  const after = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
  assert.deepEqual(
    after.items.map((i) => `${i.content} ${i.path}`),
    [`M ${name}`],
  );
}

test("mtimeMsOf gives Node's own mtimeMs for real files, at many times", async () => {
  const { root } = await checkoutWith({ f: "x" });
  const file = join(root, "f");
  // Whole seconds, microseconds, and times the kernel stamped itself.
  const times = ["0.5", "1", "1000000000.25", "1700000000.000001", "1700000000.000000001", "1796581458.877346365", "4102444800.999999999"];
  for (const seconds of times) {
    setMtime(file, seconds);
    const exact = String(lstatSync(file, { bigint: true }).mtimeNs);
    const expected = exact.length <= 9 ? NaN : lstatSync(file).mtimeMs;
    assert.equal(mtimeMsOf(exact), expected, `mtime ${seconds} s (${exact} ns)`);
  }
  for (let i = 0; i < 50; i++) {
    await writeFile(file, String(i));
    assert.equal(mtimeMsOf(String(lstatSync(file, { bigint: true }).mtimeNs)), lstatSync(file).mtimeMs);
  }
  assert.ok(Number.isNaN(mtimeMsOf("-5000000000")), "before 1970: exact check only");
});

test("a file rewritten with the same size and an mtime 1 µs later is modified", async () => {
  const { root, entries } = await checkoutWith({ "a.txt": "aaaa", "b.txt": "bbbb" });
  for (const name of ["a.txt", "b.txt"]) setMtime(join(root, name), "1700000000");
  const first = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
  assert.deepEqual(first.items, []);
  adoptScanCaches(entries, first);
  assert.equal(entries.get("a.txt")?.cache?.mtimeNs, "1700000000000000000");

  // Unchanged: matched from the cache, nothing refreshed.
  const again = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
  assert.deepEqual(again.items, []);
  assert.equal(again.refreshedCaches.size, 0);

  await assertModifiedAfterRewrite(root, entries, "a.txt", "AAAA", "1700000000.000001");
});

test("a cache from before 1970-01-01T00:00:01 is checked exactly", async () => {
  const { root, entries } = await checkoutWith({ old: "old!" });
  setMtime(join(root, "old"), "0.5");
  const first = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
  adoptScanCaches(entries, first);
  assert.equal(entries.get("old")?.cache?.mtimeNs, "500000000");
  const again = await scanWorkingCopy(root, entries, { changedOnly: true, now: later });
  assert.deepEqual(again.items, []);
  assert.equal(again.refreshedCaches.size, 0, "matched exactly, not hashed again");
  await assertModifiedAfterRewrite(root, entries, "old", "new!", "0.6");
});

test("whether a new stat cache is trusted is judged by the scan's clock, not the real one", async () => {
  // Files without a cache are hashed, and cached only when their mtime is settled by `now`:
  // small ones (hashed in the scan) and one over 1 MiB (streamed).
  const big = "x".repeat((1 << 20) + 1);
  const { root, entries } = await checkoutWith({ "small.txt": "small\n", "big.bin": big });
  const hour = 3_600_000;
  const cachedWith = async (now: () => number) => [...(await scanWorkingCopy(root, entries, { now })).refreshedCaches.keys()].sort();
  // Dated an hour ahead: unsettled by the real clock, settled by a clock two hours ahead.
  for (const name of ["small.txt", "big.bin"]) setMtime(join(root, name), String(Math.floor((Date.now() + hour) / 1000)));
  assert.deepEqual(await cachedWith(() => Date.now() + 2 * hour), ["big.bin", "small.txt"]);
  // Dated an hour back: settled by the real clock, unsettled by a clock two hours back.
  for (const name of ["small.txt", "big.bin"]) setMtime(join(root, name), String(Math.floor((Date.now() - hour) / 1000)));
  assert.deepEqual(await cachedWith(() => Date.now() - 2 * hour), []);
  assert.deepEqual(await cachedWith(later), ["big.bin", "small.txt"]);
});
