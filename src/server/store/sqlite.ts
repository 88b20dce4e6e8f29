/**
 * The SQLite implementation of the repository store (better-sqlite3); the code is in sqlite/.
 *
 * Several processes may open the same database file: WAL mode lets readers run beside a writer,
 * every write is a `BEGIN IMMEDIATE` transaction (writers queue for the lock, up to the busy
 * timeout), and all reads bounded by a revision read history rows, which are never changed once
 * written. See schema.ts for the table design.
 */
import Database from "better-sqlite3";
import { DEFAULT_SQLITE_POLL_MS, REAL_TIMERS, type OpenStoreOptions } from "./options.js";
import { CHUNK_SIZE } from "./rows.js";
import { BlobFiles } from "./sqlite/blob-files.js";
import { openBlobFiles } from "./sqlite/blob-open.js";
import { CHUNKS_PER_TRANSACTION } from "./sqlite/blobs.js";
import { SqliteConnection } from "./sqlite/connection.js";
import { deleteOrphanChunks, migrateAndInitialize } from "./sqlite/migrate.js";
import { SqliteStore } from "./sqlite/store.js";
import type { Store } from "./types.js";

const BUSY_TIMEOUT_MS = 5000;

/**
 * Opens (creating if needed) the store in the SQLite database `file`, migrating its schema,
 * deleting blob chunks and files left over by interrupted uploads or gc runs, and moving large
 * blobs still held as chunk rows into files beside the database (`<file>-blobs/`).
 */
export async function openSqliteStore(file: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  const conn = new SqliteConnection(db, BlobFiles.beside(file));
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    // Blob uploads make the WAL grow by up to 64 MiB per transaction; shrink it back after checkpoints.
    db.pragma(`journal_size_limit = ${CHUNK_SIZE * CHUNKS_PER_TRANSACTION}`);
    db.pragma("foreign_keys = ON");
    const report = migrateAndInitialize(db);
    deleteOrphanChunks(db);
    await openBlobFiles(conn);
    opts.migrated?.(report);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStore(conn, { timers: opts.timers ?? REAL_TIMERS, pollMs: opts.sqlitePollMs ?? DEFAULT_SQLITE_POLL_MS });
}
