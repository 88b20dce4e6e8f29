/**
 * The PostgreSQL implementation of the repository store (node-postgres and its pool). Any number
 * of zsync-server processes may open one database: commits serialize on a row lock inside the
 * database (postgres/commit.ts), blobs are written in single transactions (postgres/blobs.ts),
 * and accounts, grants, keys and tokens are rows every server reads per request.
 * The tables live in their own PostgreSQL schema (`?schema=NAME`, default `zsync`), so an
 * application's tables can sit beside them in the same database.
 */
import { DEFAULT_LISTEN_CHECK_MS, REAL_TIMERS, type OpenStoreOptions } from "./options.js";
import { createPool, parsePostgresSpec, redact, translate } from "./postgres/connect.js";
import { commitPausePoint } from "./postgres/fault-injection.js";
import { migratePostgres } from "./postgres/migrate.js";
import { PostgresStore } from "./postgres/store.js";
import type { Store } from "./types.js";

export { isPostgresSpec } from "./postgres/connect.js";

/**
 * Opens the store named by a `postgres://…` / `postgresql://…` spec, creating its schema and
 * migrating it to this code's version. `migrated` learns the versions before and after.
 */
export async function openPostgresStore(spec: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const target = parsePostgresSpec(spec);
  commitPausePoint(); // a misspelt test fault point fails at start, not in the first commit
  const pool = createPool(target);
  try {
    const report = await migratePostgres(pool, target.schema).catch(translate);
    opts.migrated?.(report);
  } catch (err) {
    await pool.end().catch(() => {});
    if (err instanceof Error && err.name === "StoreUnavailableError") {
      throw new Error(`cannot reach PostgreSQL at ${redact(spec)}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    }
    throw err;
  }
  return new PostgresStore(pool, target, {
    timers: opts.timers ?? REAL_TIMERS,
    log: opts.log ?? (() => {}),
    checkMs: opts.listenCheckMs ?? DEFAULT_LISTEN_CHECK_MS,
  });
}
