/** Table-level access to a PostgreSQL store for `copy-store`. */
import type pg from "pg";
import { createPool, parsePostgresSpec } from "../postgres/connect.js";
import { checkout } from "../postgres/sql.js";
import type { Row, TableSource, TableSpec, TableTarget } from "./tables.js";
import { TABLES } from "./tables.js";

/** Most parameters one INSERT carries (PostgreSQL allows 65535). */
const MAX_PARAMS = 30_000;

async function connect(spec: string): Promise<{ pool: pg.Pool; client: pg.PoolClient }> {
  const pool = createPool({ ...parsePostgresSpec(spec), poolSize: 1 });
  try {
    return { pool, client: await checkout(pool) };
  } catch (err) {
    await pool.end();
    throw err;
  }
}

/** Reads the store from one REPEATABLE READ snapshot, so concurrent commits do not tear the copy. */
export async function postgresSource(spec: string): Promise<TableSource> {
  const { pool, client } = await connect(spec);
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  return {
    async *rows(table: TableSpec): AsyncIterable<Row[]> {
      const sql = `SELECT ${table.columns.join(", ")} FROM ${table.name} ORDER BY ${table.orderBy} LIMIT $1 OFFSET $2`;
      for (let offset = 0; ; offset += table.batch) {
        const batch = (await client.query<Row>({ text: sql, values: [table.batch, offset], rowMode: "array" })).rows;
        if (batch.length === 0) return;
        yield batch;
        if (batch.length < table.batch) return;
      }
    },
    async close() {
      await client.query("COMMIT").catch(() => {});
      client.release();
      await pool.end();
    },
  };
}

/** Writes into the store in one transaction. */
export async function postgresTarget(spec: string): Promise<TableTarget> {
  const { pool, client } = await connect(spec);
  return {
    async begin() {
      await client.query("BEGIN");
      // Exclusive: no server on this database may commit into a store being replaced.
      await client.query(`LOCK TABLE ${TABLES.map((t) => t.name).join(", ")} IN EXCLUSIVE MODE`);
      for (const t of [...TABLES].reverse()) await client.query(`DELETE FROM ${t.name}`);
    },
    async insert(table: TableSpec, rows: Row[]) {
      const perInsert = Math.max(1, Math.floor(MAX_PARAMS / table.columns.length));
      for (let i = 0; i < rows.length; i += perInsert) {
        const part = rows.slice(i, i + perInsert);
        const n = table.columns.length;
        const values = part.map((_, r) => `(${table.columns.map((__, c) => `$${r * n + c + 1}`).join(", ")})`).join(", ");
        await client.query(`INSERT INTO ${table.name} (${table.columns.join(", ")}) VALUES ${values}`, part.flat());
      }
    },
    async commit() {
      await client.query("COMMIT");
    },
    async rollback() {
      await client.query("ROLLBACK").catch(() => {});
    },
    async close() {
      client.release();
      await pool.end();
    },
  };
}
