/** Running queries: `?` placeholders (as paths.ts writes them) numbered for pg, errors translated. */
import type pg from "pg";
import { translate } from "./connect.js";

/** Anything that runs queries: the pool, or one client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

/** Rewrites each `?` into `$1`, `$2`, … (our SQL text never has a literal `?`). */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** Runs `sql` (with `?` placeholders) and returns its rows; unreachable-database errors become StoreUnavailableError. */
export async function rows<T extends pg.QueryResultRow>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  try {
    return (await db.query<T>(numbered(sql), params)).rows;
  } catch (err) {
    return translate(err);
  }
}

/** Runs `sql` and returns how many rows it changed. */
export async function run(db: Queryable, sql: string, params: unknown[] = []): Promise<number> {
  try {
    return (await db.query(numbered(sql), params)).rowCount ?? 0;
  } catch (err) {
    return translate(err);
  }
}

const guarded = new WeakSet<pg.PoolClient>();

/**
 * A pooled connection for a transaction. A connection lost while checked out emits "error"
 * besides failing its query; without a listener that event would crash the process, so each
 * client gets one (the failed query reports the problem).
 */
export async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect().catch(translate);
  if (!guarded.has(client)) {
    guarded.add(client);
    client.on("error", () => {});
  }
  return client;
}

/** Runs `work` in a transaction on one pooled connection: COMMIT when it returns, ROLLBACK when it throws. */
export async function transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await checkout(pool);
  let broken = false;
  try {
    await run(client, "BEGIN");
    const result = await work(client);
    await run(client, "COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    // A connection that could not even roll back is dropped rather than reused.
    client.release(broken);
  }
}

/** The SQLSTATE of a driver error, if any. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
