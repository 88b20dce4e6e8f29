/**
 * Large blobs of the SQLite store as files beside the database (`<db>-blobs/ab/<hash>`): round
 * trip, dedup, hard-linked uploads, leftovers of crashes cleaned at open, the migration of a
 * store whose large blobs are chunk rows (resumable, and a reader in the middle of a blob keeps
 * reading), and gc.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import Database from "better-sqlite3";
import { openStore } from "../../src/server/store/open.js";
import type { Store } from "../../src/server/store/types.js";
import { tempDir } from "../helpers/server.js";

const MiB = 1024 * 1024;
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
/** Deterministic bytes for a seed (each test names its seeds). */
function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i += 4) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.writeUInt32LE(x, i > size - 4 ? size - 4 : i);
  }
  return out;
}
async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid!;
}

describe("SQLite blob files", { timeout: 120_000 }, () => {
  async function setup() {
    const dir = await tempDir("zsync-blob-files-");
    const db = join(dir, "store.sqlite");
    const blobs = `${db}-blobs`;
    let n = 0;
    const fileOf = (data: Buffer) => {
      const file = join(dir, `upload-${++n}`);
      writeFileSync(file, data);
      return file;
    };
    const put = async (store: Store, data: Buffer, take = false) => {
      const hash = sha256(data);
      await store.putBlobFromFile(hash, data.length, fileOf(data), { take });
      return hash;
    };
    const sql = <T>(text: string, ...params: unknown[]): T[] => {
      const conn = new Database(db);
      try {
        const stmt = conn.prepare(text);
        return (stmt.reader ? stmt.all(...params) : (stmt.run(...params), [])) as T[];
      } finally {
        conn.close();
      }
    };
    const chunkCount = (hash: string) => sql<{ n: number }>("SELECT COUNT(*) AS n FROM blob_chunks WHERE hash = ?", hash)[0]!.n;
    const pathOf = (hash: string) => join(blobs, hash.slice(0, 2), hash);
    return { dir, spec: `sqlite:${db}`, db, blobs, fileOf, put, sql, chunkCount, pathOf };
  }

  test("a blob over 1 MiB round-trips as a file, no chunk rows; one of 1 MiB stays in rows", async () => {
    const t = await setup();
    const store = await openStore(t.spec);
    try {
      const big = bytes(3 * MiB + 5, 1);
      const hash = await t.put(store, big);
      assert.deepEqual(readFileSync(t.pathOf(hash)), big);
      assert.equal(t.chunkCount(hash), 0);
      assert.deepEqual(t.sql("SELECT size, in_file FROM blobs WHERE hash = ?", hash), [{ size: big.length, in_file: 1 }]);
      assert.equal(await store.hasBlob(hash), true);
      const read = await readAll(store.readBlob(hash));
      assert.ok(read.equals(big));
      const { revision } = await store.commit({ author: "ann", note: "big", changes: [{ op: "add", path: "big.bin", kind: "file", hash }] });
      assert.equal((await store.getObject("big.bin", { revision }))?.size, big.length);

      const oneChunk = bytes(MiB, 2);
      const small = await t.put(store, oneChunk);
      assert.equal(existsSync(t.pathOf(small)), false);
      assert.equal(t.chunkCount(small), 1);
      assert.ok((await readAll(store.readBlob(small))).equals(oneChunk));
      assert.deepEqual(readdirSync(join(t.blobs, "staging")), [], "no staging file left");
    } finally {
      await store.close();
    }
  });

  test("the same bytes stored twice are one file; an upload given away is hard-linked, others copied", async () => {
    const t = await setup();
    const store = await openStore(t.spec);
    try {
      const data = bytes(2 * MiB + 1, 3);
      const copied = t.fileOf(data);
      const hash = sha256(data);
      await store.putBlobFromFile(hash, data.length, copied);
      assert.notEqual(statSync(t.pathOf(hash)).ino, statSync(copied).ino, "a file not given away is copied");
      t.sql("UPDATE blobs SET stored_at = ?", "2020-01-01T00:00:00.000Z");
      await store.putBlobFromFile(hash, data.length, t.fileOf(data), { take: true });
      assert.notEqual(t.sql<{ stored_at: string }>("SELECT stored_at FROM blobs")[0]!.stored_at, "2020-01-01T00:00:00.000Z", "storing again renews the date");
      assert.deepEqual(readdirSync(join(t.blobs, hash.slice(0, 2))), [hash]);
      assert.deepEqual(t.sql("SELECT COUNT(*) AS n FROM blobs"), [{ n: 1 }]);

      const other = bytes(2 * MiB + 2, 4);
      const given = t.fileOf(other);
      const otherHash = sha256(other);
      await store.putBlobFromFile(otherHash, other.length, given, { take: true });
      assert.equal(statSync(t.pathOf(otherHash)).ino, statSync(given).ino, "an upload given away is linked, not copied");
      rmSync(given);
      assert.ok((await readAll(store.readBlob(otherHash))).equals(other), "the blob outlives the upload's name");

      const third = bytes(2 * MiB + 3, 15);
      await assert.rejects(store.putBlobFromFile(sha256(third), third.length + 1, t.fileOf(third), { take: true }), /expected/);
      assert.equal(await store.hasBlob(sha256(third)), false);
      await assert.rejects(store.putBlobFromFile(sha256(bytes(2 * MiB, 5)), 2 * MiB, join(t.dir, "no-such-file")), { code: "ENOENT" });
      assert.deepEqual(readdirSync(join(t.blobs, "staging")), [], "a refused put leaves no staging file");
    } finally {
      await store.close();
    }
  });

  test("leftovers of crashes are cleaned at open: staging files of dead processes, trash of an unfinished gc", async () => {
    const t = await setup();
    let store = await openStore(t.spec);
    const kept = bytes(2 * MiB + 3, 6);
    const keptHash = await t.put(store, kept);
    const gone = bytes(2 * MiB + 4, 7);
    const goneHash = await t.put(store, gone);
    await store.close();

    // A crash during an upload: a staging file of a process that is gone; a running process's
    // staging file (this one's) is not touched.
    const staging = join(t.blobs, "staging");
    const dead = join(staging, `${deadPid()}-0123abcd`);
    const live = join(staging, `${process.pid}-4567ef01`);
    writeFileSync(dead, "partial upload");
    writeFileSync(live, "an upload of this process");
    // A crash during gc, before its transaction committed: the file of `kept` is in the trash
    // but its row is still there (put back); `gone`'s row was deleted (the file is deleted).
    mkdirSync(join(t.blobs, "trash"), { recursive: true });
    t.sql("DELETE FROM blobs WHERE hash = ?", goneHash);
    for (const hash of [keptHash, goneHash]) {
      writeFileSync(join(t.blobs, "trash", hash), readFileSync(t.pathOf(hash)));
      rmSync(t.pathOf(hash));
    }
    // A crash between placing a file and committing its row: a file no row names.
    const unnamed = bytes(2 * MiB + 9, 8);
    const unnamedHash = sha256(unnamed);
    mkdirSync(join(t.blobs, unnamedHash.slice(0, 2)), { recursive: true });
    writeFileSync(t.pathOf(unnamedHash), unnamed);

    store = await openStore(t.spec);
    try {
      assert.equal(existsSync(dead), false, "the dead process's staging file is removed");
      assert.equal(existsSync(live), true, "a running process's staging file is kept");
      assert.deepEqual(readdirSync(join(t.blobs, "trash")), []);
      assert.ok((await readAll(store.readBlob(keptHash))).equals(kept), "the trashed file of a kept row is back");
      assert.equal(existsSync(t.pathOf(goneHash)), false);
      assert.equal(await store.hasBlob(unnamedHash), false, "a file without a row is no blob");
      // Storing those bytes puts the file in place again and makes it a blob.
      await t.put(store, unnamed);
      assert.ok((await readAll(store.readBlob(unnamedHash))).equals(unnamed));
    } finally {
      await store.close();
      rmSync(live);
    }
  });

  test("gc deletes unreferenced blob files (and files no row names) through the trash; referenced ones stay", async () => {
    const t = await setup();
    const store = await openStore(t.spec);
    try {
      const used = bytes(2 * MiB + 10, 9);
      const usedHash = await t.put(store, used);
      const orphan = bytes(2 * MiB + 11, 10);
      const orphanHash = await t.put(store, orphan);
      const smallHash = await t.put(store, Buffer.from("small and unreferenced"));
      await store.commit({ author: "ann", note: "use one", changes: [{ op: "add", path: "used.bin", kind: "file", hash: usedHash }] });
      const stray = bytes(2 * MiB + 12, 11);
      const strayHash = sha256(stray);
      mkdirSync(join(t.blobs, strayHash.slice(0, 2)), { recursive: true });
      writeFileSync(t.pathOf(strayHash), stray);

      assert.deepEqual(await store.deleteUnreferencedBlobs("2000-01-01T00:00:00.000Z"), { blobs: 0, bytes: 0 }, "nothing old enough");
      assert.equal(existsSync(t.pathOf(orphanHash)), true);
      const freed = await store.deleteUnreferencedBlobs(new Date(Date.now() + 3_600_000).toISOString());
      assert.deepEqual(freed, { blobs: 2, bytes: orphan.length + "small and unreferenced".length });
      assert.equal(existsSync(t.pathOf(orphanHash)), false);
      assert.equal(existsSync(t.pathOf(strayHash)), false, "a file no row names is deleted too");
      assert.equal(await store.hasBlob(orphanHash), false);
      assert.equal(await store.hasBlob(smallHash), false);
      assert.deepEqual(readdirSync(join(t.blobs, "trash")), [], "the trash is emptied");
      assert.ok((await readAll(store.readBlob(usedHash))).equals(used));
      // The deleted bytes can be stored and committed again.
      await t.put(store, orphan);
      await store.commit({ author: "ann", note: "again", changes: [{ op: "add", path: "again.bin", kind: "file", hash: orphanHash }] });
      assert.ok((await readAll(store.readBlob(orphanHash))).equals(orphan));
    } finally {
      await store.close();
    }
  });

  /** Turns the store's file blobs back into chunk rows and the schema into version 4 (no `in_file`). */
  function makeVersion4(t: Awaited<ReturnType<typeof setup>>, keepFileOf?: string): void {
    const conn = new Database(t.db);
    try {
      const insert = conn.prepare("INSERT INTO blob_chunks (hash, seq, data) VALUES (?, ?, ?)");
      for (const { hash } of conn.prepare("SELECT hash FROM blobs WHERE in_file = 1").all() as { hash: string }[]) {
        const data = readFileSync(t.pathOf(hash));
        for (let seq = 0; seq * MiB < data.length; seq++) insert.run(hash, seq, data.subarray(seq * MiB, (seq + 1) * MiB));
        if (hash !== keepFileOf) rmSync(t.pathOf(hash));
      }
      conn.exec("ALTER TABLE blobs DROP COLUMN in_file");
      conn.exec("UPDATE schema_version SET version = 4");
    } finally {
      conn.close();
    }
  }

  test("a store whose large blobs are chunk rows (schema 4) is migrated: they move to files, resumably", async () => {
    const t = await setup();
    let store = await openStore(t.spec);
    const first = bytes(3 * MiB + 1, 12);
    const second = bytes(2 * MiB + 7, 13);
    const firstHash = await t.put(store, first);
    const secondHash = await t.put(store, second);
    const smallHash = await t.put(store, Buffer.from("small"));
    await store.commit({ author: "ann", note: "blobs", changes: [
      { op: "add", path: "first.bin", kind: "file", hash: firstHash },
      { op: "add", path: "second.bin", kind: "file", hash: secondHash },
      { op: "add", path: "small.txt", kind: "file", hash: smallHash },
    ] });
    await store.close();
    // An earlier move was interrupted: `first`'s file was renamed into place but its row not yet
    // marked; a staging file of the killed process is left.
    makeVersion4(t, firstHash);
    writeFileSync(join(t.blobs, "staging", `${deadPid()}-89abcdef`), first.subarray(0, MiB));
    assert.equal(t.chunkCount(secondHash), 3);

    let migrated: { from: number; to: number } | undefined;
    store = await openStore(t.spec, { migrated: (r) => (migrated = r) });
    try {
      assert.deepEqual(migrated, { from: 4, to: 5 });
      for (const [hash, data] of [[firstHash, first], [secondHash, second]] as const) {
        assert.equal(t.chunkCount(hash), 0, "chunk rows are gone");
        assert.deepEqual(readFileSync(t.pathOf(hash)), data);
        assert.ok((await readAll(store.readBlob(hash))).equals(data));
      }
      assert.deepEqual(t.sql("SELECT hash, in_file FROM blobs ORDER BY in_file, hash"), [
        { hash: smallHash, in_file: 0 },
        ...[firstHash, secondHash].sort().map((hash) => ({ hash, in_file: 1 })),
      ]);
      assert.equal(t.chunkCount(smallHash), 1, "a small blob stays a chunk row");
      assert.deepEqual(readdirSync(join(t.blobs, "staging")), []);
    } finally {
      await store.close();
    }
  });

  test("a blob moved to a file while it is being read is read on from the file", async () => {
    const t = await setup();
    const data = bytes(3 * MiB + 3, 14);
    let reader = await openStore(t.spec);
    const hash = await t.put(reader, data);
    await reader.close();
    // Schema 5 with the blob still in rows: a reader that opened before the move, as a server
    // running beside the one that migrates.
    makeVersion4(t);
    const conn = new Database(t.db);
    conn.exec("ALTER TABLE blobs ADD COLUMN in_file INTEGER NOT NULL DEFAULT 0");
    conn.exec("UPDATE schema_version SET version = 5");
    conn.close();
    // Its open must not move the blob: hide it behind a size the move skips, then restore it.
    t.sql("UPDATE blobs SET size = 1 WHERE hash = ?", hash);
    reader = await openStore(t.spec);
    t.sql("UPDATE blobs SET size = ? WHERE hash = ?", data.length, hash);
    try {
      const iterator = reader.readBlob(hash)[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal((first.value as Buffer).length, MiB, "the first chunk comes from its row");
      assert.equal(t.chunkCount(hash), 4);
      const mover = await openStore(t.spec); // another process's open moves the blob
      await mover.close();
      assert.equal(t.chunkCount(hash), 0);
      const parts = [first.value as Buffer];
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) parts.push(next.value as Buffer);
      assert.ok(Buffer.concat(parts).equals(data));
    } finally {
      await reader.close();
    }
  });
});
