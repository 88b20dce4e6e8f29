/**
 * What opening a SQLite store does to its blob files: finish what a crash interrupted (trash of
 * a gc, staging files of an upload) and move large blobs still held as chunk rows (stores made
 * before schema version 5) into files, one blob per transaction, so an interrupted move simply
 * continues at the next open.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { CHUNK_SIZE } from "../rows.js";
import { FILE_BLOB_MIN } from "./blob-files.js";
import type { SqliteConnection } from "./connection.js";

/** Counts of what the open found and did. */
export interface BlobOpenReport {
  /** Trash files of an interrupted gc put back (their rows were kept) or deleted. */
  restored: number;
  deleted: number;
  /** Staging files of interrupted uploads removed. */
  staging: number;
  /** Blobs moved from chunk rows to files. */
  moved: number;
}

/** Recovers the blob folder after a crash and moves chunk-row blobs to files. */
export async function openBlobFiles(conn: SqliteConnection): Promise<BlobOpenReport> {
  const report: BlobOpenReport = { restored: 0, deleted: 0, staging: 0, moved: 0 };
  // Under the write lock: a gc of another process has either committed or not.
  conn.db
    .transaction(() => {
      for (const hash of conn.files.trashedSync()) {
        if (conn.blobRow(hash)?.in_file && !fs.existsSync(conn.files.pathOf(hash))) {
          conn.files.untrashSync([hash]);
          report.restored++;
        } else {
          fs.rmSync(join(conn.files.trash, hash), { force: true });
          report.deleted++;
        }
      }
    })
    .immediate();
  report.staging = await conn.files.removeStaleStaging();
  report.moved = await moveChunkBlobsToFiles(conn);
  return report;
}

/**
 * Moves every blob of at least {@link FILE_BLOB_MIN} bytes still stored as chunk rows into a
 * file: the chunks are copied to a staging file (checked against the blob's size and SHA-256
 * name) and fsynced, then one transaction renames the file into place, marks the row and deletes
 * the chunks. A blob whose chunks do not add up stays as it is. Returns how many moved.
 */
export async function moveChunkBlobsToFiles(conn: SqliteConnection): Promise<number> {
  const pending = conn.stmt("SELECT hash, size FROM blobs WHERE in_file = 0 AND size >= ? ORDER BY hash").all(FILE_BLOB_MIN) as { hash: string; size: number }[];
  let moved = 0;
  for (const { hash, size } of pending) {
    const staged = conn.files.stagingName();
    try {
      if (!copyChunksTo(conn, hash, size, staged)) continue;
      const done = conn.db
        .transaction((): boolean => {
          const row = conn.blobRow(hash);
          if (!row || row.in_file) return false;
          conn.files.placeSync(staged, hash);
          conn.stmt("UPDATE blobs SET in_file = 1 WHERE hash = ?").run(hash);
          conn.stmt("DELETE FROM blob_chunks WHERE hash = ?").run(hash);
          return true;
        })
        .immediate();
      if (done) moved++;
    } finally {
      await rm(staged, { force: true });
    }
    // Let the event loop breathe between blobs.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return moved;
}

/** Writes the chunks of blob `hash` to `file` and fsyncs it; false when they are not the blob's bytes. */
function copyChunksTo(conn: SqliteConnection, hash: string, size: number, file: string): boolean {
  const chunk = conn.stmt("SELECT data FROM blob_chunks WHERE hash = ? AND seq = ?");
  const hasher = createHash("sha256");
  const fd = fs.openSync(file, "wx");
  try {
    let written = 0;
    for (let seq = 0; written < size; seq++) {
      const row = chunk.get(hash, seq) as { data: Buffer } | undefined;
      if (!row || row.data.length === 0 || row.data.length > CHUNK_SIZE) return false;
      hasher.update(row.data);
      for (let at = 0; at < row.data.length; ) at += fs.writeSync(fd, row.data, at, row.data.length - at);
      written += row.data.length;
    }
    if (written !== size || hasher.digest("hex") !== hash) return false;
    fs.fsyncSync(fd);
    return true;
  } finally {
    fs.closeSync(fd);
  }
}
