/**
 * The SQLite implementation of the repository store (better-sqlite3).
 *
 * Several processes may open the same database file: WAL mode lets readers run beside a writer,
 * every write is a `BEGIN IMMEDIATE` transaction (writers queue for the lock, up to the busy
 * timeout), and all reads bounded by a revision read history rows, which are never changed once
 * written. See schema.ts for the table design.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import { Readable } from "node:stream";
import Database from "better-sqlite3";
import type { ObjectKind } from "../../protocol/types.js";
import { comparePaths, sortByPath, subtreeCondition } from "./paths.js";
import { checkCommitInput, planCommit } from "./plan.js";
import {
  CHUNK_SIZE,
  HASH_RE,
  isSafeNonNegative,
  toStored,
  toToken,
  toSyncState,
  syncStateValues,
  type SyncStateRow,
  type BlobRow,
  type HistoryRow,
  type ObjectRow,
  type TokenRow,
} from "./rows.js";
import { NewerSchemaError, type MigrationReport } from "./migration-report.js";
import { MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_TABLE } from "./schema.js";
import {
  InvalidChangeError,
  type Account,
  type AccountKey,
  type Grant,
  type TokenRecord,
  type CommitInput,
  type RevisionInfo,
  type Store,
  type StoredObject,
  type SyncState,
} from "./types.js";

/** Chunks written per transaction by `putBlobFromFile` (64 MiB), yielding in between. */
const CHUNKS_PER_TRANSACTION = 64;
const BUSY_TIMEOUT_MS = 5000;

type Db = Database.Database;




/**
 * Opens (creating if needed) the store in the SQLite database `file`, migrating its schema and
 * deleting blob chunks left over by interrupted uploads.
 */
export async function openSqliteStore(file: string, opts: { migrated?: (report: MigrationReport) => void } = {}): Promise<Store> {
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    // Blob uploads make the WAL grow by up to 64 MiB per transaction; shrink it back after checkpoints.
    db.pragma(`journal_size_limit = ${CHUNK_SIZE * CHUNKS_PER_TRANSACTION}`);
    db.pragma("foreign_keys = ON");
    const report = migrateAndInitialize(db);
    deleteOrphanChunks(db);
    opts.migrated?.(report);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStore(db);
}

function migrateAndInitialize(db: Db): MigrationReport {
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
function deleteOrphanChunks(db: Db): void {
  db.transaction(() => {
    db.prepare(
      `DELETE FROM blob_chunks WHERE hash IN (
         SELECT DISTINCT c.hash FROM blob_chunks c
         WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.hash = c.hash))`,
    ).run();
  }).immediate();
}






class SqliteStore implements Store {
  private readonly db: Db;
  private readonly cache = new Map<string, Database.Statement>();
  /** In-process commit notifications (other processes on the same file are not seen). */
  private readonly commits = new EventEmitter().setMaxListeners(0);
  private closed = false;

  constructor(db: Db) {
    this.db = db;
  }

  /** A prepared statement, cached by its SQL text. */
  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private head(): number {
    return (this.stmt("SELECT MAX(revision) AS head FROM revisions").get() as { head: number }).head;
  }

  /** Throws a RangeError unless `revision` is an existing revision (0..head). */
  private checkRevision(revision: number, head: number, what = "revision"): void {
    if (!isSafeNonNegative(revision) || revision > head) {
      throw new RangeError(`no such ${what}: ${String(revision)} (head is ${head})`);
    }
  }

  private objectRow(path: string): ObjectRow | undefined {
    return this.stmt("SELECT path, kind, revision, hash, size, meta FROM objects WHERE path = ?").get(path) as
      | ObjectRow
      | undefined;
  }

  private blobRow(hash: string): BlobRow | undefined {
    return this.stmt("SELECT hash, size FROM blobs WHERE hash = ?").get(hash) as BlobRow | undefined;
  }

  async info(): Promise<{ uuid: string; head: number }> {
    const uuid = (this.stmt("SELECT value FROM meta WHERE key = 'uuid'").get() as { value: string }).value;
    return { uuid, head: this.head() };
  }

  async getObject(path: string, opts?: { revision?: number }): Promise<StoredObject | undefined> {
    if (opts?.revision === undefined) {
      const row = this.objectRow(path);
      return row && toStored(row);
    }
    this.checkRevision(opts.revision, this.head());
    const row = this.stmt(
      `SELECT path, kind, revision, hash, size, meta, deleted FROM history
       WHERE path = ? AND revision <= ? ORDER BY revision DESC LIMIT 1`,
    ).get(path, opts.revision) as HistoryRow | undefined;
    return row && !row.deleted ? toStored(row) : undefined;
  }

  async listTree(path: string, opts?: { revision?: number }): Promise<StoredObject[]> {
    let rows: ObjectRow[];
    if (opts?.revision === undefined) {
      const cond = subtreeCondition("path", path);
      rows = this.stmt(`SELECT path, kind, revision, hash, size, meta FROM objects WHERE ${cond.sql}`).all(
        ...cond.params,
      ) as ObjectRow[];
    } else {
      this.checkRevision(opts.revision, this.head());
      const cond = subtreeCondition("h.path", path);
      rows = this.stmt(
        `SELECT h.path, h.kind, h.revision, h.hash, h.size, h.meta FROM history h
         WHERE ${cond.sql} AND h.deleted = 0 AND h.revision = (
           SELECT MAX(m.revision) FROM history m WHERE m.path = h.path AND m.revision <= ?)`,
      ).all(...cond.params, opts.revision) as ObjectRow[];
    }
    return sortByPath(rows, (r) => r.path).map(toStored);
  }

  async changesSince(
    path: string,
    since: number,
    opts?: { until?: number },
  ): Promise<{ changed: StoredObject[]; deleted: string[] }> {
    const head = this.head();
    const until = opts?.until ?? head;
    this.checkRevision(until, head, "revision (until)");
    this.checkRevision(since, until, "revision (since)");
    const cond = subtreeCondition("h.path", path);
    // Every path with a history row in (since, until], as it is at `until`, plus whether it
    // existed at `since` (1 = deleted there, 0 = present, null = never existed before).
    const rows = this.stmt(
      `SELECT h.path, h.kind, h.revision, h.hash, h.size, h.meta, h.deleted,
         (SELECT s.deleted FROM history s WHERE s.path = h.path AND s.revision <= ?
          ORDER BY s.revision DESC LIMIT 1) AS deleted_at_since
       FROM history h
       WHERE ${cond.sql} AND h.revision > ? AND h.revision <= ? AND h.revision = (
         SELECT MAX(m.revision) FROM history m WHERE m.path = h.path AND m.revision <= ?)`,
    ).all(since, ...cond.params, since, until, until) as (HistoryRow & { deleted_at_since: number | null })[];
    const changed: StoredObject[] = [];
    const deleted: string[] = [];
    for (const row of rows) {
      if (!row.deleted) changed.push(toStored(row));
      else if (row.deleted_at_since === 0) deleted.push(row.path);
    }
    sortByPath(changed, (o) => o.path);
    deleted.sort(comparePaths);
    return { changed, deleted };
  }

  /** Renews an existing blob's storage date (see `deleteUnreferencedBlobs`); false when absent. */
  private touchBlob(hash: string): boolean {
    return this.stmt("UPDATE blobs SET stored_at = ? WHERE hash = ?").run(new Date().toISOString(), hash).changes > 0;
  }

  async deleteUnreferencedBlobs(storedBefore: string): Promise<{ blobs: number; bytes: number }> {
    return this.db
      .transaction(() => {
        const gone = this.stmt(
          `SELECT hash, size FROM blobs b WHERE (b.stored_at IS NULL OR b.stored_at < ?)
           AND NOT EXISTS (SELECT 1 FROM history h WHERE h.hash = b.hash)`,
        ).all(storedBefore) as BlobRow[];
        for (const b of gone) {
          this.stmt("DELETE FROM blob_chunks WHERE hash = ?").run(b.hash);
          this.stmt("DELETE FROM blobs WHERE hash = ?").run(b.hash);
        }
        return { blobs: gone.length, bytes: gone.reduce((n, b) => n + b.size, 0) };
      })
      .immediate();
  }

  async hasBlob(hash: string): Promise<boolean> {
    return this.blobRow(hash) !== undefined;
  }

  async putBlobFromFile(hash: string, size: number, file: string): Promise<void> {
    if (typeof hash !== "string" || !HASH_RE.test(hash)) throw new Error(`not a SHA-256 hex hash: ${String(hash)}`);
    if (!isSafeNonNegative(size)) throw new Error(`invalid blob size: ${String(size)}`);
    if (this.touchBlob(hash)) return;
    // A store opening the same database in another process may delete our chunks as orphans
    // while we write them; the completion check notices, and we write them again.
    for (let attempt = 1; ; attempt++) {
      await this.writeChunks(hash, size, file);
      if (this.completeBlob(hash, size)) return;
      if (attempt >= 3) throw new Error(`blob ${hash}: chunks vanished while storing it`);
    }
  }

  /** Copies `file` into `blob_chunks`, 1 MiB per chunk, several transactions of ≤ 64 MiB. */
  private async writeChunks(hash: string, size: number, file: string): Promise<void> {
    const insert = this.stmt(
      `INSERT INTO blob_chunks (hash, seq, data) VALUES (?, ?, ?)
       ON CONFLICT (hash, seq) DO UPDATE SET data = excluded.data`,
    );
    const fd = fs.openSync(file, "r");
    try {
      const actual = fs.fstatSync(fd).size;
      if (actual !== size) throw new Error(`blob ${hash}: file ${file} has ${actual} bytes, expected ${size}`);
      const buf = Buffer.allocUnsafe(CHUNK_SIZE);
      let offset = 0;
      let seq = 0;
      const batch = this.db.transaction(() => {
        for (let i = 0; i < CHUNKS_PER_TRANSACTION && offset < size; i++) {
          const want = Math.min(CHUNK_SIZE, size - offset);
          const got = readFully(fd, buf, want, offset);
          if (got !== want) throw new Error(`blob ${hash}: file ${file} shrank while reading it`);
          insert.run(hash, seq, buf.subarray(0, got));
          offset += got;
          seq++;
        }
      });
      while (offset < size) {
        batch.immediate();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (fs.readSync(fd, buf, 0, 1, size) !== 0) throw new Error(`blob ${hash}: file ${file} grew while reading it`);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Marks the blob complete by inserting its `blobs` row, after checking its chunks are all
   * there (dropping stray chunks past the end). False when chunks are missing.
   */
  private completeBlob(hash: string, size: number): boolean {
    const count = Math.ceil(size / CHUNK_SIZE);
    return this.db
      .transaction((): boolean => {
        if (this.touchBlob(hash)) return true;
        this.stmt("DELETE FROM blob_chunks WHERE hash = ? AND seq >= ?").run(hash, count);
        const got = this.stmt(
          "SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(data)), 0) AS bytes FROM blob_chunks WHERE hash = ?",
        ).get(hash) as { n: number; bytes: number };
        if (got.n !== count || got.bytes !== size) return false;
        this.stmt("INSERT INTO blobs (hash, size, stored_at) VALUES (?, ?, ?)").run(hash, size, new Date().toISOString());
        return true;
      })
      .immediate();
  }

  readBlob(hash: string): Readable {
    return new BlobReadable(
      hash,
      (h) => this.blobRow(h),
      (h, seq) => this.stmt("SELECT data FROM blob_chunks WHERE hash = ? AND seq = ?").get(h, seq) as
        | { data: Buffer }
        | undefined,
    );
  }

  async commit(input: CommitInput): Promise<{ revision: number; objects: StoredObject[]; deleted: string[] }> {
    const result = this.db.transaction((i: CommitInput) => this.commitInTransaction(i)).immediate(input);
    this.commits.emit("commit", result.revision);
    return result;
  }

  subscribeCommits(listener: (revision: number) => void): () => void {
    let last = -1;
    const wrapped = (revision: number) => {
      if (revision > last) {
        last = revision;
        listener(revision);
      }
    };
    this.commits.on("commit", wrapped);
    // The first call reports the head at subscription time, as PostgreSQL's does.
    setImmediate(() => {
      if (!this.closed && this.commits.listeners("commit").includes(wrapped)) wrapped(this.head());
    });
    return () => this.commits.off("commit", wrapped);
  }

  private commitInTransaction(input: CommitInput): { revision: number; objects: StoredObject[]; deleted: string[] } {
    checkCommitInput(input);
    const head = this.head();
    const plan = planCommit(input.changes, head, {
      objectRow: (path) => this.objectRow(path),
      blobSize: (hash) => this.blobRow(hash)?.size,
      changedInside: (folder, baseRevision) => {
        const cond = subtreeCondition("path", folder, { includeSelf: false });
        const rows = this.stmt(`SELECT DISTINCT path FROM history WHERE ${cond.sql} AND revision > ?`).all(
          ...cond.params,
          baseRevision,
        ) as { path: string }[];
        return rows.map((r) => r.path);
      },
    });

    const revision = head + 1;
    this.stmt("INSERT INTO revisions (revision, author, date, note) VALUES (?, ?, ?, ?)").run(
      revision,
      input.author,
      new Date().toISOString(),
      input.note,
    );
    const insertChange = this.stmt("INSERT INTO changes (revision, path, action) VALUES (?, ?, ?)");
    const insertHistory = this.stmt(
      "INSERT INTO history (path, revision, kind, hash, size, meta, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    const objects: StoredObject[] = [];
    const deleted: string[] = [];
    for (const p of plan) {
      if (p.op === "add") {
        const size = p.hash === null ? null : this.blobRow(p.hash)!.size;
        const row: ObjectRow = { path: p.path, kind: p.kind, revision, hash: p.hash, size, meta: p.meta };
        this.stmt("INSERT INTO objects (path, kind, revision, hash, size, meta) VALUES (?, ?, ?, ?, ?, ?)").run(
          row.path,
          row.kind,
          revision,
          row.hash,
          row.size,
          row.meta,
        );
        insertHistory.run(row.path, revision, row.kind, row.hash, row.size, row.meta, 0);
        objects.push(toStored(row));
      } else if (p.op === "modify") {
        const cur = p.current;
        const hash = p.hash ?? cur.hash;
        const size = p.hash === undefined ? cur.size : this.blobRow(p.hash)!.size;
        const meta = p.meta === undefined ? cur.meta : p.meta;
        const row: ObjectRow = { path: p.path, kind: cur.kind, revision, hash, size, meta };
        this.stmt("UPDATE objects SET revision = ?, hash = ?, size = ?, meta = ? WHERE path = ?").run(
          revision,
          hash,
          size,
          meta,
          p.path,
        );
        insertHistory.run(row.path, revision, row.kind, row.hash, row.size, row.meta, 0);
        objects.push(toStored(row));
      } else {
        const cond = subtreeCondition("path", p.path);
        const gone = this.stmt(`SELECT path, kind FROM objects WHERE ${cond.sql}`).all(...cond.params) as {
          path: string;
          kind: ObjectKind;
        }[];
        sortByPath(gone, (g) => g.path);
        this.stmt(`DELETE FROM objects WHERE ${cond.sql}`).run(...cond.params);
        for (const g of gone) {
          insertHistory.run(g.path, revision, g.kind, null, null, null, 1);
          deleted.push(g.path);
        }
      }
      insertChange.run(revision, p.path, p.op === "add" ? "A" : p.op === "modify" ? "M" : "D");
    }
    return { revision, objects, deleted };
  }


  async log(path: string, opts?: { limit?: number; from?: number }): Promise<RevisionInfo[]> {
    const head = this.head();
    const from = opts?.from ?? head;
    this.checkRevision(from, head, "revision (from)");
    const limit = opts?.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new RangeError(`invalid limit: ${String(limit)}`);
    }
    const limitSql = limit === undefined ? "" : " LIMIT ?";
    const limitParams = limit === undefined ? [] : [limit];
    let revisions: number[];
    if (path === "") {
      revisions = (
        this.stmt(`SELECT revision FROM revisions WHERE revision <= ? ORDER BY revision DESC${limitSql}`).all(
          from,
          ...limitParams,
        ) as { revision: number }[]
      ).map((r) => r.revision);
    } else {
      const cond = subtreeCondition("path", path);
      revisions = (
        this.stmt(
          `SELECT DISTINCT revision FROM changes WHERE ${cond.sql} AND revision <= ? ORDER BY revision DESC${limitSql}`,
        ).all(...cond.params, from, ...limitParams) as { revision: number }[]
      ).map((r) => r.revision);
    }
    return revisions.map((revision) => {
      const r = this.stmt("SELECT author, date, note FROM revisions WHERE revision = ?").get(revision) as {
        author: string;
        date: string;
        note: string;
      };
      const changes = this.stmt("SELECT path, action FROM changes WHERE revision = ?").all(revision) as {
        path: string;
        action: "A" | "M" | "D";
      }[];
      return { revision, author: r.author, date: r.date, note: r.note, changes: sortByPath(changes, (c) => c.path) };
    });
  }

  async addAccount(name: string, passwordHash: string, role: string): Promise<void> {
    this.db
      .transaction(() => {
        if (this.stmt("SELECT 1 FROM accounts WHERE name = ?").get(name)) {
          throw new InvalidChangeError(`account ${name} exists already`, []);
        }
        this.stmt("INSERT INTO accounts (name, password_hash, role) VALUES (?, ?, ?)").run(name, passwordHash, role);
      })
      .immediate();
  }

  async getAccount(name: string): Promise<(Account & { passwordHash: string }) | undefined> {
    const row = this.stmt("SELECT name, password_hash, role FROM accounts WHERE name = ?").get(name) as
      | { name: string; password_hash: string; role: string }
      | undefined;
    return row && { name: row.name, role: row.role, passwordHash: row.password_hash };
  }

  async countAccounts(): Promise<number> {
    return (this.stmt("SELECT COUNT(*) AS n FROM accounts").get() as { n: number }).n;
  }

  async listAccounts(): Promise<Account[]> {
    return this.stmt("SELECT name, role FROM accounts ORDER BY name").all() as Account[];
  }

  async updateAccount(name: string, change: { passwordHash?: string; role?: string }): Promise<void> {
    this.db
      .transaction(() => {
        this.requireAccount(name);
        if (change.passwordHash !== undefined) this.stmt("UPDATE accounts SET password_hash = ? WHERE name = ?").run(change.passwordHash, name);
        if (change.role !== undefined) this.stmt("UPDATE accounts SET role = ? WHERE name = ?").run(change.role, name);
      })
      .immediate();
  }

  async removeAccount(name: string): Promise<void> {
    this.db
      .transaction(() => {
        this.requireAccount(name);
        // Explicit deletes rather than relying on ON DELETE CASCADE: older databases may lack it.
        for (const table of ["account_keys", "grants", "tokens"]) this.stmt(`DELETE FROM ${table} WHERE account = ?`).run(name);
        this.stmt("DELETE FROM accounts WHERE name = ?").run(name);
      })
      .immediate();
  }

  async addAccountKey(key: AccountKey): Promise<void> {
    this.db
      .transaction(() => {
        this.requireAccount(key.account);
        if (this.stmt("SELECT 1 FROM account_keys WHERE account = ? AND fingerprint = ?").get(key.account, key.fingerprint)) {
          throw new InvalidChangeError(`account ${key.account} has key ${key.fingerprint} already`, []);
        }
        this.stmt("INSERT INTO account_keys (account, fingerprint, key_type, key_data, comment) VALUES (?, ?, ?, ?, ?)").run(
          key.account,
          key.fingerprint,
          key.type,
          key.data,
          key.comment,
        );
      })
      .immediate();
  }

  async removeAccountKey(account: string, fingerprint: string): Promise<boolean> {
    return this.stmt("DELETE FROM account_keys WHERE account = ? AND fingerprint = ?").run(account, fingerprint).changes > 0;
  }

  async listAccountKeys(account?: string): Promise<AccountKey[]> {
    const rows = (
      account === undefined
        ? this.stmt("SELECT * FROM account_keys ORDER BY account, fingerprint").all()
        : this.stmt("SELECT * FROM account_keys WHERE account = ? ORDER BY fingerprint").all(account)
    ) as { account: string; fingerprint: string; key_type: string; key_data: string; comment: string }[];
    return rows.map((r) => ({ account: r.account, fingerprint: r.fingerprint, type: r.key_type, data: r.key_data, comment: r.comment }));
  }

  async setGrant(grant: Grant): Promise<void> {
    this.db
      .transaction(() => {
        this.requireAccount(grant.account);
        this.stmt("DELETE FROM grants WHERE account = ? AND path = ?").run(grant.account, grant.path);
        this.stmt("INSERT INTO grants (account, path, role) VALUES (?, ?, ?)").run(grant.account, grant.path, grant.role);
      })
      .immediate();
  }

  async removeGrant(account: string, path: string): Promise<boolean> {
    return this.stmt("DELETE FROM grants WHERE account = ? AND path = ?").run(account, path).changes > 0;
  }

  async listGrants(account?: string): Promise<Grant[]> {
    return (
      account === undefined
        ? this.stmt("SELECT account, path, role FROM grants ORDER BY account, path").all()
        : this.stmt("SELECT account, path, role FROM grants WHERE account = ? ORDER BY path").all(account)
    ) as Grant[];
  }

  async addToken(token: TokenRecord): Promise<void> {
    this.db
      .transaction(() => {
        this.requireAccount(token.account);
        if (this.stmt("SELECT 1 FROM tokens WHERE id = ?").get(token.id)) throw new InvalidChangeError(`token ${token.id} exists already`, []);
        this.stmt(
          "INSERT INTO tokens (id, secret_hash, account, label, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ).run(token.id, token.secretHash, token.account, token.label, token.createdAt, token.expiresAt, token.revoked ? 1 : 0);
      })
      .immediate();
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = this.stmt("SELECT * FROM tokens WHERE id = ?").get(id) as TokenRow | undefined;
    return row && toToken(row);
  }

  async listTokens(account?: string): Promise<TokenRecord[]> {
    const rows = (
      account === undefined
        ? this.stmt("SELECT * FROM tokens ORDER BY created_at, id").all()
        : this.stmt("SELECT * FROM tokens WHERE account = ? ORDER BY created_at, id").all(account)
    ) as TokenRow[];
    return rows.map(toToken);
  }

  async revokeToken(id: string): Promise<boolean> {
    return this.stmt("UPDATE tokens SET revoked = 1 WHERE id = ?").run(id).changes > 0;
  }

  async getSyncState(account: string, device: string, datastore: string): Promise<SyncState | undefined> {
    const row = this.stmt("SELECT * FROM syncml_state WHERE account = ? AND device = ? AND datastore = ?").get(account, device, datastore) as SyncStateRow | undefined;
    return row && toSyncState(row);
  }

  async putSyncState(state: SyncState): Promise<void> {
    this.db
      .transaction(() => {
        this.requireAccount(state.account);
        this.stmt(
          `INSERT INTO syncml_state (account, device, datastore, client_anchor, server_anchor, items, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (account, device, datastore) DO UPDATE SET client_anchor = excluded.client_anchor, server_anchor = excluded.server_anchor,
           items = excluded.items, updated_at = excluded.updated_at`,
        ).run(...syncStateValues(state));
      })
      .immediate();
  }

  private requireAccount(name: string): void {
    if (!this.stmt("SELECT 1 FROM accounts WHERE name = ?").get(name)) throw new InvalidChangeError(`no account ${name}`, []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.commits.removeAllListeners();
    this.cache.clear();
    this.db.close();
  }
}


/** Reads exactly `length` bytes at `position` unless the file ends first; returns bytes read. */
function readFully(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * Streams a blob one chunk per `_read`, each fetched by its own single-row query, so no
 * statement stays open between reads and at most about one chunk is buffered.
 */
class BlobReadable extends Readable {
  private seq = 0;
  private count: number | undefined;
  private size = 0;
  private sent = 0;

  constructor(
    private readonly hash: string,
    private readonly getBlob: (hash: string) => BlobRow | undefined,
    private readonly getChunk: (hash: string, seq: number) => { data: Buffer } | undefined,
  ) {
    super({ highWaterMark: CHUNK_SIZE });
  }

  override _read(): void {
    try {
      if (this.count === undefined) {
        const blob = this.getBlob(this.hash);
        if (!blob) {
          this.destroy(Object.assign(new Error(`unknown blob ${this.hash}`), { code: "ENOENT" }));
          return;
        }
        this.size = blob.size;
        this.count = Math.ceil(blob.size / CHUNK_SIZE);
      }
      if (this.seq >= this.count) {
        if (this.sent !== this.size) throw new Error(`blob ${this.hash} is corrupt: ${this.sent} of ${this.size} bytes`);
        this.push(null);
        return;
      }
      const chunk = this.getChunk(this.hash, this.seq);
      if (!chunk) throw new Error(`blob ${this.hash} is corrupt: chunk ${this.seq} is missing`);
      this.seq++;
      this.sent += chunk.data.length;
      this.push(chunk.data);
    } catch (err) {
      this.destroy(err as Error);
    }
  }
}
