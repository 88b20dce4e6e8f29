/**
 * The store backends the contract suite runs against: each makes fresh store specs and can
 * count raw rows (for tests that check what is physically stored). A third backend only has to
 * be added here to run every contract test.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { postgresCluster } from "./postgres.js";
import { removeAtExit } from "./server.js";

export interface StoreBackend {
  name: "sqlite" | "postgres";
  /** A `--store` spec naming a new, empty store. */
  newSpec(): Promise<string>;
  /** Runs an SQL statement (`?` placeholders) directly on the store named by `spec`; returns its rows. */
  query<T>(spec: string, sql: string, params?: unknown[]): Promise<T[]>;
}

let sqliteDir: string | undefined;
let sqliteCount = 0;

const sqlite: StoreBackend = {
  name: "sqlite",
  async newSpec() {
    if (sqliteDir === undefined) {
      sqliteDir = mkdtempSync(join(tmpdir(), "zsync-store-sqlite-"));
      removeAtExit(sqliteDir);
    }
    return `sqlite:${join(sqliteDir, `store${++sqliteCount}.db`)}`;
  },
  async query<T>(spec: string, sql: string, params: unknown[] = []) {
    const db = new Database(spec.slice("sqlite:".length));
    try {
      const stmt = db.prepare(sql);
      return (stmt.reader ? stmt.all(...params) : (stmt.run(...params), [])) as T[];
    } finally {
      db.close();
    }
  },
};

const postgres: StoreBackend = {
  name: "postgres",
  async newSpec() {
    return (await postgresCluster()).newSpec();
  },
  async query<T>(spec: string, sql: string, params: unknown[] = []) {
    const url = new URL(spec);
    const schema = url.searchParams.get("schema")!;
    url.searchParams.delete("schema");
    const client = new pg.Client({ connectionString: url.toString(), options: `-c search_path=${schema}` });
    await client.connect();
    try {
      let n = 0;
      return (await client.query(sql.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
    } finally {
      await client.end();
    }
  },
};

/** Every backend, SQLite first. */
export const STORE_BACKENDS: readonly StoreBackend[] = [sqlite, postgres];
