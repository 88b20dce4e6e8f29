/**
 * The early writer (src/wc/early-writes.ts): a new checkout's working files, created on a worker
 * thread as their bodies arrive. It creates a file only where nothing is and only in real
 * folders, reports each file it created whole with the stat the journal caches, and removes only
 * its own writes, unchanged, when they are not wanted after all.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { EARLY_WRITE_MIN_FILES, EarlyWriter } from "../../src/wc/early-writes.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "zsync-early-"));
  made.push(root);
  return root;
}

/** `count` files spread over three folders (one nested), each body different. */
function files(count: number, size = 100): { path: string; bytes: Buffer }[] {
  return Array.from({ length: count }, (_, i) => ({ path: `d${i % 3}/${i % 3 === 2 ? "inner/" : ""}f${i}.txt`, bytes: Buffer.alloc(size + (i % 7), `${i};`) }));
}
const FOLDERS = ["d0", "d1", "d2", "d2/inner"];

/** Feeds every file to the writer as receiving does (waiting when it says so). */
async function feed(writer: EarlyWriter, list: { path: string; bytes: Buffer }[]): Promise<void> {
  for (const f of list) {
    const behind = writer.add(f.path, sha256(f.bytes), f.bytes);
    if (behind) await behind;
  }
}

test("below the threshold there is no writer; above it every file is created whole, with the stat the journal caches", async () => {
  const root = tempRoot();
  assert.equal(EarlyWriter.forCheckout(root, EARLY_WRITE_MIN_FILES - 1, FOLDERS), undefined);
  const list = files(700); // more than one batch by count
  const writer = EarlyWriter.forCheckout(root, list.length, FOLDERS)!;
  await feed(writer, list);
  const written = await writer.finish();
  assert.equal(written.size, list.length);
  for (const f of list) {
    assert.deepEqual(readFileSync(join(root, f.path)), f.bytes, f.path);
    const s = lstatSync(join(root, f.path), { bigint: true });
    const w = written.get(f.path)!;
    assert.equal(w.hash, sha256(f.bytes));
    assert.deepEqual([w.size, w.ino, w.mtimeNs], [s.size, s.ino, s.mtimeNs], f.path);
  }
});

test("it never replaces what is there, never writes through a symbolic link, and leaves those paths to the journal", async () => {
  const root = tempRoot();
  const outside = tempRoot();
  mkdirSync(join(root, "d0"));
  writeFileSync(join(root, "d0", "f0.txt"), "the user's\n");
  symlinkSync(outside, join(root, "d1")); // d1/… would land outside
  mkdirSync(join(root, "d2"));
  writeFileSync(join(root, "d2", "inner"), "a file where a folder goes\n");
  const list = files(300);
  const writer = EarlyWriter.forCheckout(root, list.length, FOLDERS)!;
  await feed(writer, list);
  const written = await writer.finish();
  assert.equal(readFileSync(join(root, "d0", "f0.txt"), "utf8"), "the user's\n");
  assert.equal(written.has("d0/f0.txt"), false);
  assert.deepEqual(readdirSync(outside), [], "nothing through the link");
  assert.equal(readFileSync(join(root, "d2", "inner"), "utf8"), "a file where a folder goes\n");
  for (const f of list) {
    const expected = f.path !== "d0/f0.txt" && !f.path.startsWith("d1/") && !f.path.startsWith("d2/inner/");
    assert.equal(written.has(f.path), expected, f.path);
    if (expected) assert.deepEqual(readFileSync(join(root, f.path)), f.bytes);
  }
});

test("more bytes than it holds in flight (32 MiB): receiving waits for the worker, and every file arrives", async () => {
  const root = tempRoot();
  const list = files(160, 300 * 1024); // ~47 MiB
  const writer = EarlyWriter.forCheckout(root, list.length, FOLDERS)!;
  await feed(writer, list);
  const written = await writer.finish();
  assert.equal(written.size, list.length);
  for (const f of list) assert.equal(sha256(readFileSync(join(root, f.path))), sha256(f.bytes), f.path);
});

test("removeUntaken removes only files still exactly as written; undo also removes the folders it made, unless something else is in them", async () => {
  const root = tempRoot();
  const list = files(200);
  const writer = EarlyWriter.forCheckout(root, list.length, FOLDERS)!;
  await feed(writer, list);
  const written = await writer.finish();
  // The journal took these (they stay); the user edited one of the rest meanwhile.
  for (const f of list.slice(0, 50)) written.delete(f.path);
  writeFileSync(join(root, list[60].path), "edited by the user\n");
  writer.removeUntaken();
  for (const f of list.slice(0, 50)) assert.ok(existsSync(join(root, f.path)), f.path);
  assert.equal(readFileSync(join(root, list[60].path), "utf8"), "edited by the user\n");
  for (const f of list.slice(50)) if (f !== list[60]) assert.equal(existsSync(join(root, f.path)), false, f.path);

  const again = tempRoot();
  const second = EarlyWriter.forCheckout(again, list.length, FOLDERS)!;
  await feed(second, list);
  await second.finish();
  writeFileSync(join(again, "d1", "mine.txt"), "the user's own file\n");
  await second.undo();
  assert.deepEqual(readdirSync(again), ["d1"], "only the folder with the user's file stays");
  assert.deepEqual(readdirSync(join(again, "d1")), ["mine.txt"]);
});

test("undo before any file was queued changes nothing", async () => {
  const root = tempRoot();
  const writer = EarlyWriter.forCheckout(root, 500, FOLDERS)!;
  await writer.undo();
  assert.deepEqual(readdirSync(root), []);
});
