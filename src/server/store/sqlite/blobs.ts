/**
 * Blobs in SQLite: content-addressed rows of `blobs`. A small blob's bytes are 1 MiB
 * `blob_chunks` rows, written in transactions of at most 64 MiB (yielding in between), and it
 * becomes visible only when its `blobs` row is inserted after a check that every chunk is there.
 * A large blob (`in_file` = 1) is a file beside the database, see blob-files.ts: written once,
 * not through the WAL and its checkpoint.
 */
import * as fs from "node:fs";
import { rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { CHUNK_SIZE, HASH_RE, isSafeNonNegative, oneChunkBody, type BlobRow } from "../rows.js";
import { FILE_BLOB_MIN, type BlobFiles } from "./blob-files.js";
import type { SqliteConnection } from "./connection.js";

/** Chunks written per transaction by `putBlobFromFile` (64 MiB), yielding in between. */
export const CHUNKS_PER_TRANSACTION = 64;

/** Renews an existing blob's storage date (see `Store.deleteUnreferencedBlobs`); false when absent. */
function touchBlob(conn: SqliteConnection, hash: string): boolean {
  return conn.stmt("UPDATE blobs SET stored_at = ? WHERE hash = ?").run(new Date().toISOString(), hash).changes > 0;
}

/**
 * `Store.deleteUnreferencedBlobs`. Files of deleted rows move to the trash inside the
 * transaction (back out if it fails) and are deleted once it has committed; blob files no row
 * names (a crash between placing a file and committing its row) go with them.
 */
export async function deleteUnreferencedBlobs(conn: SqliteConnection, storedBefore: string): Promise<{ blobs: number; bytes: number }> {
  const trashed: string[] = [];
  let freed: { blobs: number; bytes: number };
  try {
    freed = conn.db
      .transaction(() => {
        const gone = conn
          .stmt(
            `SELECT hash, size, in_file FROM blobs b WHERE (b.stored_at IS NULL OR b.stored_at < ?)
             AND NOT EXISTS (SELECT 1 FROM history h WHERE h.hash = b.hash)`,
          )
          .all(storedBefore) as (BlobRow & { in_file: number })[];
        for (const b of gone) {
          if (b.in_file && conn.files.trashSync(b.hash)) trashed.push(b.hash);
          conn.stmt("DELETE FROM blob_chunks WHERE hash = ?").run(b.hash);
          conn.stmt("DELETE FROM blobs WHERE hash = ?").run(b.hash);
        }
        for (const hash of conn.files.placedSync()) {
          if (!conn.blobRow(hash)?.in_file && conn.files.trashSync(hash)) trashed.push(hash);
        }
        return { blobs: gone.length, bytes: gone.reduce((n, b) => n + b.size, 0) };
      })
      .immediate();
  } catch (error) {
    conn.files.untrashSync(trashed);
    throw error;
  }
  await conn.files.emptyTrash(trashed);
  return freed;
}

/** `Store.putBlobFromFile`. */
export async function putBlobFromFile(conn: SqliteConnection, hash: string, size: number, file: string, take = false): Promise<void> {
  if (typeof hash !== "string" || !HASH_RE.test(hash)) throw new Error(`not a SHA-256 hex hash: ${String(hash)}`);
  if (!isSafeNonNegative(size)) throw new Error(`invalid blob size: ${String(size)}`);
  if (touchBlob(conn, hash)) return;
  if (size >= FILE_BLOB_MIN) return putBlobFile(conn, hash, size, file, take);
  // A store opening the same database in another process may delete our chunks as orphans
  // while we write them; the completion check notices, and we write them again.
  for (let attempt = 1; ; attempt++) {
    await writeChunks(conn, hash, size, file);
    if (completeBlob(conn, hash, size)) return;
    if (attempt >= 3) throw new Error(`blob ${hash}: chunks vanished while storing it`);
  }
}

/**
 * Stores a large blob as a file: staged and fsynced first (outside any transaction), then
 * renamed into place in the transaction that inserts its row.
 */
async function putBlobFile(conn: SqliteConnection, hash: string, size: number, file: string, take: boolean): Promise<void> {
  let staged: string;
  try {
    staged = await conn.files.stage(file, size, take);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === undefined) (error as Error).message = `blob ${hash}: ${(error as Error).message}`;
    throw error;
  }
  try {
    conn.db
      .transaction(() => {
        if (touchBlob(conn, hash)) return;
        conn.files.placeSync(staged, hash);
        // Chunks an interrupted upload of the same bytes left behind are no longer needed.
        conn.stmt("DELETE FROM blob_chunks WHERE hash = ?").run(hash);
        conn.stmt("INSERT INTO blobs (hash, size, stored_at, in_file) VALUES (?, ?, ?, 1)").run(hash, size, new Date().toISOString());
      })
      .immediate();
  } finally {
    // Gone once renamed; still there when another upload stored the blob first.
    await rm(staged, { force: true });
  }
}

/** Copies `file` into `blob_chunks`, 1 MiB per chunk, several transactions of ≤ 64 MiB. */
async function writeChunks(conn: SqliteConnection, hash: string, size: number, file: string): Promise<void> {
  const insert = conn.stmt(
    `INSERT INTO blob_chunks (hash, seq, data) VALUES (?, ?, ?)
     ON CONFLICT (hash, seq) DO UPDATE SET data = excluded.data`,
  );
  const fd = fs.openSync(file, "r");
  try {
    const actual = fs.fstatSync(fd).size;
    if (actual !== size) throw new Error(`blob ${hash}: file ${file} has ${actual} bytes, expected ${size}`);
    const buf = Buffer.allocUnsafe(CHUNK_SIZE);
    let offset = 0;
    let seq = 0;
    const batch = conn.db.transaction(() => {
      for (let i = 0; i < CHUNKS_PER_TRANSACTION && offset < size; i++) {
        const want = Math.min(CHUNK_SIZE, size - offset);
        const got = readFully(fd, buf, want, offset);
        if (got !== want) throw new Error(`blob ${hash}: file ${file} shrank while reading it`);
        insert.run(hash, seq, buf.subarray(0, got));
        offset += got;
        seq++;
      }
    });
    while (offset < size) {
      batch.immediate();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (fs.readSync(fd, buf, 0, 1, size) !== 0) throw new Error(`blob ${hash}: file ${file} grew while reading it`);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Marks the blob complete by inserting its `blobs` row, after checking its chunks are all
 * there (dropping stray chunks past the end). False when chunks are missing.
 */
function completeBlob(conn: SqliteConnection, hash: string, size: number): boolean {
  const count = Math.ceil(size / CHUNK_SIZE);
  return conn.db
    .transaction((): boolean => {
      if (touchBlob(conn, hash)) return true;
      conn.stmt("DELETE FROM blob_chunks WHERE hash = ? AND seq >= ?").run(hash, count);
      const got = conn.stmt("SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(data)), 0) AS bytes FROM blob_chunks WHERE hash = ?").get(hash) as {
        n: number;
        bytes: number;
      };
      if (got.n !== count || got.bytes !== size) return false;
      conn.stmt("INSERT INTO blobs (hash, size, stored_at) VALUES (?, ?, ?)").run(hash, size, new Date().toISOString());
      return true;
    })
    .immediate();
}

/** `Store.readBlob`. */
export function readBlob(conn: SqliteConnection, hash: string): Readable {
  return new BlobReadable(
    hash,
    conn.files,
    (h) =>
      conn
        .stmt("SELECT b.size, b.in_file, c.data FROM blobs b LEFT JOIN blob_chunks c ON c.hash = b.hash AND c.seq = 0 WHERE b.hash = ?")
        .get(h) as BlobHead | undefined,
    (h) => conn.blobRow(h),
    (h, seq) => conn.stmt("SELECT data FROM blob_chunks WHERE hash = ? AND seq = ?").get(h, seq) as { data: Buffer } | undefined,
  );
}

/** `Store.readSmallBlobs`: one query for the whole batch (json_each drives the index lookups). */
export function readSmallBlobs(conn: SqliteConnection, hashes: readonly string[]): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  if (hashes.length === 0) return found;
  const rows = conn
    .stmt(
      "SELECT b.hash, b.size, b.in_file, c.data FROM json_each(?) AS j JOIN blobs b ON b.hash = j.value LEFT JOIN blob_chunks c ON c.hash = b.hash AND c.seq = 0",
    )
    .all(JSON.stringify(hashes)) as (BlobHead & { hash: string })[];
  for (const row of rows) {
    const body = row.in_file ? undefined : oneChunkBody(row.size, row.data);
    if (body) found.set(row.hash, body);
  }
  return found;
}

/** Reads exactly `length` bytes at `position` unless the file ends first; returns bytes read. */
function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/** A blob's row with its first chunk's bytes (null when the blob is in a file, or empty). */
interface BlobHead {
  size: number;
  in_file: number;
  data: Buffer | null;
}

/**
 * Streams a blob one chunk per `_read`: a chunk row, each fetched by its own single-row query (so
 * no statement stays open between reads), or 1 MiB of its file; at most about one chunk is
 * buffered. A blob moved from chunk rows to a file while it is read continues from its file.
 */
class BlobReadable extends Readable {
  private seq = 0;
  private count: number | undefined;
  private size = 0;
  private sent = 0;
  private fd: number | undefined;
  private reading = false;
  private closeWhenRead: (() => void) | undefined;

  constructor(
    private readonly hash: string,
    private readonly files: BlobFiles,
    private readonly getHead: (hash: string) => BlobHead | undefined,
    private readonly getBlob: (hash: string) => (BlobRow & { in_file: number }) | undefined,
    private readonly getChunk: (hash: string, seq: number) => { data: Buffer } | undefined,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
  }

  override _read(): void {
    try {
      if (this.count === undefined) {
        // The row and its first chunk in one query: most blobs are one chunk (two queries for
        // one blob took ~40% longer; snapshots read small blobs in batches, readSmallBlobs).
        const blob = this.getHead(this.hash);
        if (!blob) {
          this.destroy(Object.assign(new Error(`unknown blob ${this.hash}`), { code: "ENOENT" }));
          return;
        }
        this.size = blob.size;
        this.count = Math.ceil(blob.size / CHUNK_SIZE);
        if (blob.in_file) this.openFile();
        else if (blob.data !== null && this.count > 0) {
          this.seq = 1;
          this.sent = blob.data.length;
          this.push(blob.data);
          return;
        }
      }
      if (this.fd !== undefined) return this.readFile();
      if (this.seq >= this.count) {
        if (this.sent !== this.size) throw new Error(`blob ${this.hash} is corrupt: ${this.sent} of ${this.size} bytes`);
        this.push(null);
        return;
      }
      const chunk = this.getChunk(this.hash, this.seq);
      if (!chunk) {
        // Moved to a file meanwhile (the move at open of another process)?
        if (!this.getBlob(this.hash)?.in_file) throw new Error(`blob ${this.hash} is corrupt: chunk ${this.seq} is missing`);
        this.openFile();
        return this.readFile();
      }
      this.seq++;
      this.sent += chunk.data.length;
      this.push(chunk.data);
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  private openFile(): void {
    try {
      this.fd = fs.openSync(this.files.pathOf(this.hash), "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      throw new Error(`blob ${this.hash} is corrupt: its file ${this.files.pathOf(this.hash)} is missing`);
    }
  }

  private readFile(): void {
    if (this.sent >= this.size) {
      this.push(null);
      return;
    }
    const want = Math.min(CHUNK_SIZE, this.size - this.sent);
    const buf = Buffer.allocUnsafe(want);
    this.reading = true;
    fs.read(this.fd!, buf, 0, want, this.sent, (error, n) => {
      this.reading = false;
      if (this.closeWhenRead) return this.closeWhenRead();
      if (error) return this.destroy(error);
      if (n === 0) return this.destroy(new Error(`blob ${this.hash} is corrupt: its file ends at ${this.sent} of ${this.size} bytes`));
      this.sent += n;
      this.push(n === want ? buf : buf.subarray(0, n));
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fd = this.fd;
    if (fd === undefined) return callback(error);
    this.fd = undefined;
    const close = () => fs.close(fd, () => callback(error));
    // Never close the descriptor under a read still running on it.
    if (this.reading) this.closeWhenRead = close;
    else close();
  }
}
