/** Table-level access to a SQLite store for `copy-store`. */
import Database from "better-sqlite3";
import type { Row, TableSource, TableSpec, TableTarget } from "./tables.js";
import { TABLES } from "./tables.js";

/** Reads the store in `file` inside one read transaction (a WAL snapshot). */
export function sqliteSource(file: string): TableSource {
  const db = new Database(file, { readonly: true, timeout: 5000 });
  db.exec("BEGIN");
  return {
    async *rows(table: TableSpec): AsyncIterable<Row[]> {
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
