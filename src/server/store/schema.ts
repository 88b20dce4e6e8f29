/**
 * The repository store's table design, as SQL text plus a list of migrations.
 *
 * Written for SQLite today and meant to be shared with a PostgreSQL implementation later, so
 * it sticks to portable types (INTEGER, BIGINT, TEXT and one binary column) and plain
 * constraints. Only two column types differ between dialects, see `columnTypes`:
 *  - path columns must compare bytewise (the store's prefix queries rely on "p/" <= descendant
 *    < "p0"): SQLite's default BINARY collation does that, PostgreSQL needs COLLATE "C";
 *  - the chunk data column is BLOB in SQLite, BYTEA in PostgreSQL.
 *
 * Tables:
 *  - `meta(key, value)`: repository-wide settings; key "uuid" holds the repository uuid.
 *  - `revisions`: one row per revision; revision 0 is the repository's creation.
 *  - `changes`: the changes a commit made, one row per changed path as the commit named it
 *    (a folder delete is one "D" row; its descendants are only in `history`).
 *  - `objects`: the current (head) state of every object.
 *  - `history`: one row per object per revision in which it was added, modified or deleted
 *    (`deleted` = 1 rows for deletions, written for a deleted folder and each descendant), so the
 *    state of a path at revision R is its latest history row with revision <= R unless deleted.
 *  - `blobs(hash, size, stored_at)`: content-addressed file contents; the row marks a blob complete.
 *    `stored_at` (ISO date, migration 3; null for older rows) is when the blob was last stored or
 *    re-used by an upload: blobs no history row references are deleted by `gc` only once older
 *    than a grace period, so a blob uploaded for a commit still on its way is never taken.
 *    `in_file` (migration 5; SQLite only, always 0 in PostgreSQL) is 1 for a blob whose bytes are
 *    a file beside the database (`<db>-blobs/ab/<hash>`, blobs over 1 MiB) instead of chunk rows.
 *  - `blob_chunks(hash, seq, data)`: blob bytes in 1 MiB pieces, seq 0, 1, …; chunks without
 *    a `blobs` row are leftovers of an interrupted upload and are deleted at startup.
 *  - `accounts`: users (name, scrypt password hash, role manager|editor|reader).
 *  - `account_keys`: ssh public keys that authenticate an account (issue 5), by SHA256 fingerprint.
 *  - `grants`: per-path roles: an account's role on a subtree (the nearest grant above a path wins
 *    over the account's role).
 *  - `tokens`: bearer tokens from `zsync login`; only a SHA-256 of the secret is kept.
 *  - `syncml_state`: per (account, device, datastore) SyncML state (migration 4): the sync anchors
 *    of the last completed session and the items the device holds (JSON, see SyncState in types.ts).
 */

export type Dialect = "sqlite" | "postgres";

export interface Migration {
  /** The schema version this migration brings the database to (1, 2, …, without gaps). */
  version: number;
  description: string;
  /** The statements to run, in order, inside one transaction. */
  statements(dialect: Dialect): string[];
}

/** Dialect-specific column types; everything else in the schema is shared. */
export function columnTypes(dialect: Dialect): { path: string; bytes: string } {
  return dialect === "postgres"
    ? { path: 'TEXT COLLATE "C"', bytes: "BYTEA" }
    : { path: "TEXT", bytes: "BLOB" };
}

/** The single-row table recording which migrations have run (created before any migration). */
export const SCHEMA_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)";

function initialSchema(dialect: Dialect): string[] {
  const t = columnTypes(dialect);
  return [
    `CREATE TABLE meta (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL
    )`,
    `CREATE TABLE revisions (
      revision INTEGER PRIMARY KEY,
      author TEXT NOT NULL,
      date TEXT NOT NULL,
      note TEXT NOT NULL
    )`,
    `CREATE TABLE changes (
      revision INTEGER NOT NULL REFERENCES revisions (revision),
      path ${t.path} NOT NULL,
      action TEXT NOT NULL CHECK (action IN ('A', 'M', 'D')),
      PRIMARY KEY (revision, path)
    )`,
    `CREATE INDEX changes_path ON changes (path, revision)`,
    `CREATE TABLE blobs (
      hash TEXT PRIMARY KEY,
      size BIGINT NOT NULL
    )`,
    `CREATE TABLE blob_chunks (
      hash TEXT NOT NULL,
      seq INTEGER NOT NULL,
      data ${t.bytes} NOT NULL,
      PRIMARY KEY (hash, seq)
    )`,
    `CREATE TABLE objects (
      path ${t.path} PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('file', 'folder')),
      revision INTEGER NOT NULL REFERENCES revisions (revision),
      hash TEXT REFERENCES blobs (hash),
      size BIGINT,
      meta TEXT
    )`,
    `CREATE TABLE history (
      path ${t.path} NOT NULL,
      revision INTEGER NOT NULL REFERENCES revisions (revision),
      kind TEXT NOT NULL CHECK (kind IN ('file', 'folder')),
      hash TEXT REFERENCES blobs (hash),
      size BIGINT,
      meta TEXT,
      deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
      PRIMARY KEY (path, revision)
    )`,
    `CREATE INDEX history_revision ON history (revision)`,
    `CREATE TABLE accounts (
      name TEXT PRIMARY KEY,
      password_hash TEXT NOT NULL,
      role TEXT NOT NULL
    )`,
  ];
}

function accountsSchema(dialect: Dialect): string[] {
  const t = columnTypes(dialect);
  return [
    `CREATE TABLE account_keys (
      account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
      fingerprint TEXT NOT NULL,
      key_type TEXT NOT NULL,
      key_data TEXT NOT NULL,
      comment TEXT NOT NULL DEFAULT '',
      PRIMARY KEY (account, fingerprint)
    )`,
    `CREATE TABLE grants (
      account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
      path ${t.path} NOT NULL,
      role TEXT NOT NULL,
      PRIMARY KEY (account, path)
    )`,
    `CREATE TABLE tokens (
      id TEXT PRIMARY KEY,
      secret_hash TEXT NOT NULL,
      account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
      label TEXT NOT NULL DEFAULT '',
      created_at TEXT NOT NULL,
      expires_at TEXT,
      revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
    )`,
    `CREATE INDEX tokens_account ON tokens (account)`,
  ];
}

function blobAgeSchema(): string[] {
  // The index makes "is this blob referenced?" a lookup instead of a scan of all history.
  return ["ALTER TABLE blobs ADD COLUMN stored_at TEXT", "CREATE INDEX history_hash ON history (hash)"];
}

function syncmlSchema(): string[] {
  return [
    `CREATE TABLE syncml_state (
      account TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
      device TEXT NOT NULL,
      datastore TEXT NOT NULL,
      client_anchor TEXT NOT NULL,
      server_anchor TEXT NOT NULL,
      items TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (account, device, datastore)
    )`,
  ];
}

function blobFilesSchema(): string[] {
  // Moving existing large blobs into files is done by the SQLite store when it opens (one blob
  // per transaction, so an interrupted move continues at the next open), see sqlite/blob-open.ts.
  return ["ALTER TABLE blobs ADD COLUMN in_file INTEGER NOT NULL DEFAULT 0"];
}

/** All migrations, oldest first. Append new ones; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: "initial schema", statements: initialSchema },
  { version: 2, description: "ssh keys, grants, tokens", statements: accountsSchema },
  { version: 3, description: "blob storage dates (garbage collection)", statements: blobAgeSchema },
  { version: 4, description: "SyncML device state (anchors, item maps)", statements: syncmlSchema },
  { version: 5, description: "large blobs as files beside a SQLite database", statements: blobFilesSchema },
];

/** The schema version this code expects. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
