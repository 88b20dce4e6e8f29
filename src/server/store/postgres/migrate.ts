/**
 * Creating and migrating the store's schema in PostgreSQL. Several servers may start at once on
 * an empty database, so everything runs in one transaction holding an advisory lock named after
 * the schema: the first creates the tables, the others then find them migrated.
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_TABLE } from "../schema.js";
import { checkout } from "./sql.js";
import { NewerSchemaError, type MigrationReport } from "../migration-report.js";

/** Advisory-lock namespace for migrations (any constant; the schema name is the second key). */
const MIGRATION_LOCK = 0x7a73796e; // "zsyn"

/**
 * Creates `schema` if needed, applies the migrations it lacks and creates revision 0 of a new
 * repository. Refuses (NewerSchemaError) a schema newer than this code knows.
 */
export async function migratePostgres(pool: pg.Pool, schema: string): Promise<MigrationReport> {
  const client = await checkout(pool);
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1, hashtext($2))", [MIGRATION_LOCK, schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(SCHEMA_VERSION_TABLE);
    const row = (await client.query<{ version: number }>("SELECT version FROM schema_version")).rows[0];
    const from = row?.version ?? 0;
    if (!row) await client.query("INSERT INTO schema_version (version) VALUES (0)");
    if (from > SCHEMA_VERSION) throw new NewerSchemaError(from, SCHEMA_VERSION);
    let version = from;
    for (const m of MIGRATIONS) {
      if (m.version <= version) continue;
      for (const sql of m.statements("postgres")) await client.query(sql);
      await client.query("UPDATE schema_version SET version = $1", [m.version]);
      version = m.version;
    }
    const uuid = await client.query("SELECT value FROM meta WHERE key = 'uuid'");
    if (uuid.rowCount === 0) {
      await client.query("INSERT INTO meta (key, value) VALUES ('uuid', $1)", [randomUUID()]);
      await client.query("INSERT INTO revisions (revision, author, date, note) VALUES (0, 'system', $1, 'repository created')", [
        new Date().toISOString(),
      ]);
      await client.query("INSERT INTO changes (revision, path, action) VALUES (0, '', 'A')");
      await client.query("INSERT INTO objects (path, kind, revision) VALUES ('', 'folder', 0)");
      await client.query("INSERT INTO history (path, revision, kind, deleted) VALUES ('', 0, 'folder', 0)");
    }
    await client.query("COMMIT");
    return { from, to: version };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
