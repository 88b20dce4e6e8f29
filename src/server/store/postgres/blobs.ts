/**
 * Blobs in PostgreSQL: content-addressed (`blobs` row per SHA-256), bytes in 1 MiB `blob_chunks`
 * rows, streamed in and out a chunk at a time.
 *
 * A blob is written in ONE transaction (its chunks and then its `blobs` row), so an upload cut
 * off by a crash, a kill or a lost connection leaves nothing behind: there are no orphan chunks
 * to clean up, and no clean-up that could delete chunks another server is writing. Two servers
 * storing the same blob at once serialize on the chunk keys; the second finds them present
 * (ON CONFLICT DO NOTHING) and both succeed.
 */
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import type pg from "pg";
import { CHUNK_SIZE, HASH_RE, isSafeNonNegative, oneChunkBody } from "../rows.js";
import { translate } from "./connect.js";
import { checkout, rows, run, transaction } from "./sql.js";

/** Stores the file as blob `hash` unless present. See `Store.putBlobFromFile`. */
export async function putBlobFromFile(pool: pg.Pool, hash: string, size: number, file: string): Promise<void> {
  if (typeof hash !== "string" || !HASH_RE.test(hash)) throw new Error(`not a SHA-256 hex hash: ${String(hash)}`);
  if (!isSafeNonNegative(size)) throw new Error(`invalid blob size: ${String(size)}`);
  if (size <= CHUNK_SIZE) return putSmallBlob(pool, hash, size, file);
  // Already stored: renew its date, so a garbage collection cannot take it before our commit.
  if ((await run(pool, "UPDATE blobs SET stored_at = ? WHERE hash = ?", [new Date().toISOString(), hash])) > 0) return;
  const fh = await open(file, "r");
  let client: pg.PoolClient | undefined;
  try {
    const actual = (await fh.stat()).size;
    if (actual !== size) throw new Error(`blob ${hash}: file ${file} has ${actual} bytes, expected ${size}`);
    client = await checkout(pool);
    await client.query("BEGIN");
    const buf = Buffer.allocUnsafe(CHUNK_SIZE);
    for (let offset = 0, seq = 0; offset < size; seq++) {
      const want = Math.min(CHUNK_SIZE, size - offset);
      const got = await readFully(fh, buf, want, offset);
      if (got !== want) throw new Error(`blob ${hash}: file ${file} shrank while reading it`);
      await client.query("INSERT INTO blob_chunks (hash, seq, data) VALUES ($1, $2, $3) ON CONFLICT (hash, seq) DO NOTHING", [
        hash,
        seq,
        buf.subarray(0, got),
      ]);
      offset += got;
    }
    if ((await fh.read(buf, 0, 1, size)).bytesRead !== 0) throw new Error(`blob ${hash}: file ${file} grew while reading it`);
    const chunks = await client.query<{ n: number }>("SELECT COUNT(*) AS n FROM blob_chunks WHERE hash = $1", [hash]);
    if (chunks.rows[0]!.n !== Math.ceil(size / CHUNK_SIZE)) throw new Error(`blob ${hash}: chunks vanished while storing it`);
    await client.query(
      "INSERT INTO blobs (hash, size, stored_at) VALUES ($1, $2, $3) ON CONFLICT (hash) DO UPDATE SET stored_at = excluded.stored_at",
      [hash, size, new Date().toISOString()],
    );
    await client.query("COMMIT");
  } catch (err) {
    let broken = false;
    await client?.query("ROLLBACK").catch(() => {
      broken = true;
    });
    client?.release(broken);
    client = undefined;
    translate(err);
  } finally {
    client?.release();
    await fh.close();
  }
}

/**
 * A blob of at most one chunk (most files) in ONE statement, so one round trip: the chunk and
 * the `blobs` row together, or, when the blob exists, only its storage date renewed.
 */
async function putSmallBlob(pool: pg.Pool, hash: string, size: number, file: string): Promise<void> {
  const fh = await open(file, "r");
  let data: Buffer;
  try {
    const actual = (await fh.stat()).size;
    if (actual !== size) throw new Error(`blob ${hash}: file ${file} has ${actual} bytes, expected ${size}`);
    const buf = Buffer.allocUnsafe(size + 1);
    const got = await readFully(fh, buf, size + 1, 0);
    if (got !== size) throw new Error(`blob ${hash}: file ${file} changed size while reading it`);
    data = buf.subarray(0, size);
  } finally {
    await fh.close();
  }
  await run(
    pool,
    `WITH chunk AS (
       INSERT INTO blob_chunks (hash, seq, data) SELECT ?, 0, ?::bytea WHERE ?::bigint > 0
       ON CONFLICT (hash, seq) DO NOTHING)
     INSERT INTO blobs (hash, size, stored_at) VALUES (?, ?, ?)
     ON CONFLICT (hash) DO UPDATE SET stored_at = excluded.stored_at`,
    [hash, data, size, hash, size, new Date().toISOString()],
  );
}

/** See `Store.deleteUnreferencedBlobs`: under the commit lock, so no commit is between its checks and its writes. */
export async function deleteUnreferencedBlobs(pool: pg.Pool, storedBefore: string): Promise<{ blobs: number; bytes: number }> {
  return transaction(pool, async (client) => {
    await rows(client, "SELECT 1 FROM meta WHERE key = 'uuid' FOR UPDATE");
    const gone = await rows<{ hash: string; size: number }>(
      client,
      `DELETE FROM blobs b WHERE (b.stored_at IS NULL OR b.stored_at < ?)
       AND NOT EXISTS (SELECT 1 FROM history h WHERE h.hash = b.hash) RETURNING hash, size`,
      [storedBefore],
    );
    await run(client, "DELETE FROM blob_chunks WHERE hash = ANY(?::text[])", [gone.map((b) => b.hash)]);
    return { blobs: gone.length, bytes: gone.reduce((n, b) => n + b.size, 0) };
  });
}

/** The size of blob `hash`, or undefined when it is not stored. */
export async function blobSize(pool: pg.Pool, hash: string): Promise<number | undefined> {
  const res = await pool.query<{ size: number }>("SELECT size FROM blobs WHERE hash = $1", [hash]).catch(translate);
  return res.rows[0]?.size;
}

async function readFully(fh: import("node:fs/promises").FileHandle, buf: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/** `Store.readSmallBlobs`: one round trip for the whole batch. */
export async function readSmallBlobs(pool: pg.Pool, hashes: readonly string[]): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  if (hashes.length === 0) return found;
  const got = await rows<{ hash: string; size: string | number; data: Buffer | null }>(
    pool,
    `SELECT b.hash, b.size, c.data FROM blobs b LEFT JOIN blob_chunks c ON c.hash = b.hash AND c.seq = 0
     WHERE b.hash = ANY(?::text[]) AND b.size <= ?`,
    [hashes, CHUNK_SIZE],
  );
  for (const row of got) {
    const body = oneChunkBody(Number(row.size), row.data);
    if (body) found.set(row.hash, body);
  }
  return found;
}

/** Bytes per piece when reading a chunk (see `PostgresBlobReadable.next`). */
const PIECE = 64 * 1024;

/**
 * Streams blob `hash`, one chunk per `_read`, each fetched by its own query on any pooled
 * connection: nothing is held open between reads, and about one chunk is buffered.
 */
export class PostgresBlobReadable extends Readable {
  private seq = 0;
  private count: number | undefined;
  private size = 0;
  private sent = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly hash: string,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
  }

  override _read(): void {
    this.next().then(
      (chunk) => this.push(chunk),
      (err: unknown) => this.destroy(err as Error),
    );
  }

  private async next(): Promise<Buffer | null> {
    try {
      if (this.count !== undefined && this.seq >= this.count) {
        if (this.sent !== this.size) throw new Error(`blob ${this.hash} is corrupt: ${this.sent} of ${this.size} bytes`);
        return null;
      }
      // The blob's size and one chunk in one round trip (most blobs are one chunk). The chunk
      // comes as 64 KiB pieces of base64 text: each piece is a small string that dies young (a
      // whole chunk as one hex string, twice its size, lingers until a full GC and makes the
      // server's memory grow with the blob it sends).
      const res = await this.pool.query<{ size: number; piece: string | null }>(
        `SELECT b.size, encode(substring(c.data FROM s FOR ${PIECE}), 'base64') AS piece
         FROM blobs b
         LEFT JOIN blob_chunks c ON c.hash = b.hash AND c.seq = $2
         LEFT JOIN LATERAL generate_series(1, GREATEST(length(c.data), 1), ${PIECE}) AS s ON true
         WHERE b.hash = $1 ORDER BY s`,
        [this.hash, this.seq],
      );
      if (res.rows.length === 0) throw Object.assign(new Error(`unknown blob ${this.hash}`), { code: "ENOENT" });
      if (this.count === undefined) {
        this.size = res.rows[0]!.size;
        this.count = Math.ceil(this.size / CHUNK_SIZE);
        if (this.count === 0) return null;
      }
      if (res.rows[0]!.piece === null) throw new Error(`blob ${this.hash} is corrupt: chunk ${this.seq} is missing`);
      const data = Buffer.concat(res.rows.map((r) => Buffer.from(r.piece!, "base64")));
      this.seq++;
      this.sent += data.length;
      return data;
    } catch (err) {
      return translate(err);
    }
  }
}
