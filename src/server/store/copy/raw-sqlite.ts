/**
 * Table-level access to a SQLite store for `copy-store`. Blobs kept as files beside the database
 * are read out as `blob_chunks` rows, so every store is copied in the one row format; a SQLite
 * destination moves its large blobs back into files when it is next opened (the verification).
 */
import * as fs from "node:fs";
import Database from "better-sqlite3";
import { CHUNK_SIZE } from "../rows.js";
import { BlobFiles } from "../sqlite/blob-files.js";
import type { Row, TableSource, TableSpec, TableTarget } from "./tables.js";
import { TABLES } from "./tables.js";

/** Reads the store in `file` inside one read transaction (a WAL snapshot). */
export function sqliteSource(file: string): TableSource {
  const db = new Database(file, { readonly: true, timeout: 5000 });
  db.exec("BEGIN");
  const files = BlobFiles.beside(file);
  return {
    async *rows(table: TableSpec): AsyncIterable<Row[]> {
      if (table.name === "blob_chunks") {
        yield* chunkRows(db, files, table);
        return;
      }
      const stmt = db.prepare(`SELECT ${table.columns.join(", ")} FROM ${table.name} ORDER BY ${table.orderBy} LIMIT ? OFFSET ?`).raw(true);
      for (let offset = 0; ; offset += table.batch) {
        const batch = stmt.all(table.batch, offset) as Row[];
        if (batch.length === 0) return;
        yield batch;
        if (batch.length < table.batch) return;
      }
    },
    async close() {
      if (db.inTransaction) db.exec("COMMIT");
      db.close();
    },
  };
}

/** `blob_chunks` rows: those in the table, then those of each file-backed blob, read from its file. */
async function* chunkRows(db: Database.Database, files: BlobFiles, table: TableSpec): AsyncIterable<Row[]> {
  const stored = db
    .prepare(`SELECT ${table.columns.join(", ")} FROM blob_chunks ORDER BY ${table.orderBy} LIMIT ? OFFSET ?`)
    .raw(true);
  for (let offset = 0; ; offset += table.batch) {
    const batch = stored.all(table.batch, offset) as Row[];
    if (batch.length > 0) yield batch;
    if (batch.length < table.batch) break;
  }
  const inFiles = db.prepare("SELECT hash, size FROM blobs WHERE in_file = 1 ORDER BY hash").all() as { hash: string; size: number }[];
  for (const { hash, size } of inFiles) {
    const fd = fs.openSync(files.pathOf(hash), "r");
    try {
      let batch: Row[] = [];
      for (let seq = 0, at = 0; at < size; seq++) {
        const data = Buffer.allocUnsafe(Math.min(CHUNK_SIZE, size - at));
        for (let got = 0; got < data.length; ) {
          const n = fs.readSync(fd, data, got, data.length - got, at + got);
          if (n === 0) throw new Error(`blob ${hash}: its file ${files.pathOf(hash)} ends at ${at + got} of ${size} bytes`);
          got += n;
        }
        batch.push([hash, seq, data]);
        at += data.length;
        if (batch.length === table.batch) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Writes into the store in `file` in one immediate transaction. */
export function sqliteTarget(file: string): TableTarget {
  const db = new Database(file, { timeout: 5000 });
  db.pragma("foreign_keys = ON");
  return {
    async begin() {
      db.exec("BEGIN IMMEDIATE");
      for (const t of [...TABLES].reverse()) db.exec(`DELETE FROM ${t.name}`);
    },
    async insert(table: TableSpec, rows: Row[]) {
      const stmt = db.prepare(`INSERT INTO ${table.name} (${table.columns.join(", ")}) VALUES (${table.columns.map(() => "?").join(", ")})`);
      for (const row of rows) stmt.run(...row);
    },
    async commit() {
      db.exec("COMMIT");
    },
    async rollback() {
      if (db.inTransaction) db.exec("ROLLBACK");
    },
    async close() {
      db.close();
    },
  };
}
