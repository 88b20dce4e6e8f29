/**
 * Creating and migrating the store's schema in SQLite, in one `BEGIN IMMEDIATE` transaction (a
 * second process opening the same new file waits, then finds it migrated), and the clean-up of
 * chunks an interrupted upload left behind.
 */
import { randomUUID } from "node:crypto";
import { NewerSchemaError, type MigrationReport } from "../migration-report.js";
import { MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_TABLE } from "../schema.js";
import type { Db } from "./connection.js";

/**
 * Applies the migrations the database lacks and creates revision 0 of a new repository.
 * Refuses (NewerSchemaError) a schema newer than this code knows.
 */
export function migrateAndInitialize(db: Db): MigrationReport {
  return db.transaction((): MigrationReport => {
    db.exec(SCHEMA_VERSION_TABLE);
    const row = db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
    const from = row?.version ?? 0;
    let version = from;
    if (!row) db.prepare("INSERT INTO schema_version (version) VALUES (0)").run();
    if (version > SCHEMA_VERSION) throw new NewerSchemaError(version, SCHEMA_VERSION);
    for (const m of MIGRATIONS) {
      if (m.version <= version) continue;
      for (const sql of m.statements("sqlite")) db.exec(sql);
      db.prepare("UPDATE schema_version SET version = ?").run(m.version);
      version = m.version;
    }
    const uuid = db.prepare("SELECT value FROM meta WHERE key = 'uuid'").get();
    if (!uuid) {
      const date = new Date().toISOString();
      db.prepare("INSERT INTO meta (key, value) VALUES ('uuid', ?)").run(randomUUID());
      db.prepare("INSERT INTO revisions (revision, author, date, note) VALUES (0, 'system', ?, 'repository created')").run(date);
      db.prepare("INSERT INTO changes (revision, path, action) VALUES (0, '', 'A')").run();
      db.prepare("INSERT INTO objects (path, kind, revision) VALUES ('', 'folder', 0)").run();
      db.prepare("INSERT INTO history (path, revision, kind, deleted) VALUES ('', 0, 'folder', 0)").run();
    }
    return { from, to: version };
  }).immediate();
}

/**
 * Deletes chunks that have no `blobs` row: leftovers of an upload interrupted by a crash. (If
 * another process is uploading that blob right now, its final check notices and rewrites them.)
 */
export function deleteOrphanChunks(db: Db): void {
  db.transaction(() => {
    db.prepare(
      `DELETE FROM blob_chunks WHERE hash IN (
         SELECT DISTINCT c.hash FROM blob_chunks c
         WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.hash = c.hash))`,
    ).run();
  }).immediate();
}
