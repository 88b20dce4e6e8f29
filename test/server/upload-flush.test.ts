/**
 * The background flush of staged uploads (src/server/http/upload.ts `backgroundFlusher`): once
 * per FLUSH_EVERY bytes, one at a time, only while the file is open, and awaited before the
 * staged file is used or removed. A fake flush stands in for fdatasync, so the test sees each call.
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { backgroundFlusher, FLUSH_EVERY } from "../../src/server/http/upload.js";
import { tempDir } from "../helpers/server.js";

test("flushes once per FLUSH_EVERY bytes, one at a time, with the stream's descriptor, never after it closed", async () => {
  const out = new EventEmitter();
  const calls: { fd: number; done: () => void }[] = [];
  const flusher = backgroundFlusher(out, (fd, done) => calls.push({ fd, done }));

  flusher.wrote(FLUSH_EVERY); // not open yet: nothing to flush
  assert.equal(calls.length, 0);
  out.emit("open", 42);
  flusher.wrote(FLUSH_EVERY - 1);
  assert.equal(calls.length, 1, "the bytes written before the open count too");
  assert.equal(calls[0]!.fd, 42);

  flusher.wrote(2 * FLUSH_EVERY); // one flush at a time
  assert.equal(calls.length, 1);
  let settled = false;
  const waiting = flusher.settled().then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false, "settled() waits for the flush in flight");
  calls[0]!.done();
  await waiting;

  flusher.wrote(1); // the bytes written during the first flush start the next
  assert.equal(calls.length, 2);
  calls[1]!.done();
  await flusher.settled();
  flusher.wrote(FLUSH_EVERY - 1);
  assert.equal(calls.length, 2, "fewer than FLUSH_EVERY bytes since the last flush");

  out.emit("close");
  flusher.wrote(4 * FLUSH_EVERY);
  assert.equal(calls.length, 2, "no flush of a closed descriptor");
  await flusher.settled();
});

test("with the real fdatasync, on a real write stream, the file's bytes are all there", async () => {
  const file = join(await tempDir("zsync-flush-"), "staged");
  const out = createWriteStream(file);
  const flusher = backgroundFlusher(out);
  const chunk = Buffer.alloc(1 << 20, 7);
  await new Promise((resolve) => out.once("open", resolve));
  for (let written = 0; written <= FLUSH_EVERY; written += chunk.length) {
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
    flusher.wrote(chunk.length);
  }
  await flusher.settled();
  await new Promise<void>((resolve) => out.end(() => resolve()));
  const bytes = await readFile(file);
  assert.equal(bytes.length, FLUSH_EVERY + chunk.length);
  assert.ok(bytes.every((b) => b === 7));
});
