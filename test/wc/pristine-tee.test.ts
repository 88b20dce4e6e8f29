/**
 * The pristine tee of commit: a working file read once gives the hash, the pristine copy and
 * the uploaded bytes, all the same bytes; an edit during the read keeps the stat cache out; a
 * failure part-way leaves no partial pristine copy behind.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { appendFile, mkdir, open, truncate, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, test } from "node:test";
import { adminPaths, FORMAT_VERSION } from "../../src/wc/admin.js";
import type { Entry } from "../../src/wc/entries.js";
import { pristineTee } from "../../src/wc/pristine-tee.js";
import { pristinePath } from "../../src/wc/pristine.js";
import { scanWorkingCopy } from "../../src/wc/scan.js";
import { tempDir } from "../helpers/server.js";

const hashOf = (data: Buffer) => createHash("sha256").update(data).digest("hex");
/** Pseudo-random bytes from a fixed seed (logged by name: the content is the same every run). */
function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
/** An hour ago: old enough for the stat cache (which refuses files written in the last 2 s). */
const anHourAgo = () => new Date(Date.now() - 3_600_000);
const tempFiles = (root: string) => (existsSync(adminPaths(root).tmp) ? readdirSync(adminPaths(root).tmp) : []);

describe("pristine tee", { timeout: 60_000 }, () => {
  let root: string;
  beforeEach(async () => {
    root = await tempDir("zsync-tee-");
    await mkdir(adminPaths(root).pristine, { recursive: true });
  });

  async function workingFile(name: string, data: Buffer): Promise<string> {
    const file = join(root, name);
    await writeFile(file, data);
    await utimes(file, anHourAgo(), anHourAgo());
    return file;
  }

  for (const [label, size, chunkSize] of [
    ["a large file read in several chunks", 200_000, 16_384],
    ["a small file read at once", 5_000, 1 << 20],
    ["an empty file", 0, 16_384],
  ] as const) {
    test(`${label}: hash, pristine copy and sent bytes are the same bytes; the stat cache is kept`, async () => {
      const data = bytes(size, 11);
      const file = await workingFile("f.bin", data);
      const tee = await pristineTee(root, file, { chunkSize });
      assert.equal(tee.size, size);
      assert.equal(tee.result, undefined, "nothing is known before the read");
      const sent: Buffer[] = [];
      for await (const chunk of tee.body()) sent.push(Buffer.from(chunk));
      const result = tee.result!;
      assert.equal(result.hash, hashOf(data));
      assert.equal(result.size, size);
      assert.deepEqual(Buffer.concat(sent), data);
      assert.deepEqual(readFileSync(pristinePath(root, result.hash)), data);
      assert.equal(result.cache?.hash, result.hash);
      assert.equal(result.cache?.size, size);
      assert.deepEqual(tempFiles(root), []);
    });
  }

  test("a file edited during the read (same size): sent bytes are the pristine bytes, no stat cache", async () => {
    const data = bytes(100_000, 12);
    const file = await workingFile("edited.bin", data);
    const tee = await pristineTee(root, file, { chunkSize: 10_000 });
    const sent: Buffer[] = [];
    let edited = false;
    for await (const chunk of tee.body()) {
      sent.push(Buffer.from(chunk));
      if (!edited) {
        // Overwrite the whole file in place (no truncation) with other bytes while it is read.
        const handle = await open(file, "r+");
        await handle.write(bytes(100_000, 13), 0, 100_000, 0);
        await handle.close();
        edited = true;
      }
    }
    const result = tee.result!;
    const body = Buffer.concat(sent);
    assert.equal(body.length, 100_000);
    assert.equal(result.hash, hashOf(body), "the hash is that of the bytes sent");
    assert.deepEqual(readFileSync(pristinePath(root, result.hash)), body, "the pristine copy holds the bytes sent");
    assert.equal(result.cache, undefined, "no stat cache for a file that changed during the read");
  });

  test("a file that grew during the read: the declared size is sent, no stat cache", async () => {
    const data = bytes(50_000, 14);
    const file = await workingFile("grows.bin", data);
    const tee = await pristineTee(root, file, { chunkSize: 8_192 });
    const sent: Buffer[] = [];
    for await (const chunk of tee.body()) {
      if (sent.length === 0) await appendFile(file, "more bytes");
      sent.push(Buffer.from(chunk));
    }
    assert.deepEqual(Buffer.concat(sent), data);
    assert.equal(tee.result!.hash, hashOf(data));
    assert.deepEqual(readFileSync(pristinePath(root, tee.result!.hash)), data);
    assert.equal(tee.result!.cache, undefined);
  });

  test("a file that shrank during the read: a clear error, no partial pristine copy", async () => {
    const data = bytes(80_000, 15);
    const file = await workingFile("shrinks.bin", data);
    const tee = await pristineTee(root, file, { chunkSize: 8_192 });
    await assert.rejects(async () => {
      let first = true;
      for await (const _ of tee.body()) {
        if (first) await truncate(file, 20_000);
        first = false;
      }
    }, /shrank while it was being committed/);
    assert.equal(tee.result, undefined);
    assert.deepEqual(tempFiles(root), [], "the temp file is gone");
    assert.equal(existsSync(pristinePath(root, hashOf(data))), false);
    assert.deepEqual(readdirSync(adminPaths(root).pristine), [], "no pristine copy at all");
  });

  test("an upload that stops part-way: no partial pristine copy", async () => {
    const data = bytes(80_000, 16);
    const file = await workingFile("stopped.bin", data);
    const tee = await pristineTee(root, file, { chunkSize: 8_192 });
    let taken = 0;
    for await (const _ of tee.body()) {
      if (++taken === 3) break; // the consumer (the request body) goes away
    }
    assert.equal(tee.result, undefined);
    assert.deepEqual(tempFiles(root), []);
    assert.deepEqual(readdirSync(adminPaths(root).pristine), []);
  });

  test("a consumer that fails part-way: no partial pristine copy", async () => {
    const data = bytes(80_000, 17);
    const file = await workingFile("failed.bin", data);
    const tee = await pristineTee(root, file, { chunkSize: 8_192 });
    await assert.rejects(async () => {
      let taken = 0;
      for await (const _ of tee.body()) if (++taken === 2) throw new Error("connection reset");
    }, /connection reset/);
    assert.deepEqual(tempFiles(root), []);
    assert.deepEqual(readdirSync(adminPaths(root).pristine), []);
  });
});

describe("commit's scan", { timeout: 60_000 }, () => {
  test("a large file whose state is settled without its hash is not read (the tee hashes it)", async () => {
    const root = await tempDir("zsync-tee-scan-");
    await mkdir(adminPaths(root).admin, { recursive: true });
    await writeFile(adminPaths(root).format, `${FORMAT_VERSION}\n`);
    const big = 2 << 20; // over the size hashed in line
    const base = bytes(big, 21);
    await writeFile(join(root, "added.bin"), bytes(big, 22));
    await writeFile(join(root, "grown.bin"), bytes(big, 23));
    await writeFile(join(root, "same-size.bin"), bytes(big, 24));
    await writeFile(join(root, "unchanged.bin"), base);
    const entries = new Map<string, Entry>([
      ["", { kind: "folder", revision: 1 }],
      ["added.bin", { kind: "file", schedule: "added" }],
      ["grown.bin", { kind: "file", revision: 1, hash: hashOf(Buffer.from("short")), size: 5 }],
      ["same-size.bin", { kind: "file", revision: 1, hash: hashOf(base), size: big }],
      ["unchanged.bin", { kind: "file", revision: 1, hash: hashOf(base), size: big }],
    ]);
    const scan = await scanWorkingCopy(root, entries, { changedOnly: true, hashOnlyToDecide: true, now: () => Date.now() + 10_000 });
    assert.deepEqual(
      scan.items.map((i) => [i.path, i.content, i.workingHash === undefined ? "not hashed" : "hashed"]),
      [
        ["added.bin", "A", "not hashed"],
        ["grown.bin", "M", "not hashed"],
        ["same-size.bin", "M", "hashed"],
        ["unchanged.bin", "=", "hashed"], // same size: only its hash can tell
      ],
    );
    // Plain status still hashes every file it cannot settle by its stat cache.
    const status = await scanWorkingCopy(root, entries, { changedOnly: true, now: () => Date.now() + 10_000 });
    assert.deepEqual(status.items.map((i) => [i.path, i.content, i.workingHash === undefined ? "not hashed" : "hashed"]), [
      ["added.bin", "A", "hashed"],
      ["grown.bin", "M", "hashed"],
      ["same-size.bin", "M", "hashed"],
      ["unchanged.bin", "=", "hashed"],
    ]);
  });
});
