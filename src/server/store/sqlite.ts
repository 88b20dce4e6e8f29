/**
 * The SQLite implementation of the repository store (better-sqlite3).
 *
 * Several processes may open the same database file: WAL mode lets readers run beside a writer,
 * every write is a `BEGIN IMMEDIATE` transaction (writers queue for the lock, up to the busy
 * timeout), and all reads bounded by a revision read history rows, which are never changed once
 * written. See schema.ts for the table design.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { Readable } from "node:stream";
import Database from "better-sqlite3";
import type { ObjectKind, ObjectMeta } from "../../protocol/types.js";
import {
  ancestorPaths,
  comparePaths,
  isValidPath,
  parentPath,
  sortByPath,
  subtreeCondition,
} from "./paths.js";
import { MIGRATIONS, SCHEMA_VERSION, SCHEMA_VERSION_TABLE } from "./schema.js";
import {
  InvalidChangeError,
  OutOfDateError,
  type Account,
  type AccountKey,
  type Grant,
  type TokenRecord,
  type CommitInput,
  type RevisionInfo,
  type StoreChange,
  type Store,
  type StoredObject,
} from "./types.js";

/** Blob bytes are stored in pieces of this size (the last one may be shorter). */
const CHUNK_SIZE = 1024 * 1024;
/** Chunks written per transaction by `putBlobFromFile` (64 MiB), yielding in between. */
const CHUNKS_PER_TRANSACTION = 64;
const BUSY_TIMEOUT_MS = 5000;
const HASH_RE = /^[0-9a-f]{64}$/;

type Db = Database.Database;

interface ObjectRow {
  path: string;
  kind: ObjectKind;
  revision: number;
  hash: string | null;
  size: number | null;
  meta: string | null;
}

interface HistoryRow extends ObjectRow {
  deleted: number;
}

interface BlobRow {
  hash: string;
  size: number;
}

/** A validated change, ready to apply. */
type Planned =
  | { op: "add"; path: string; kind: ObjectKind; hash: string | null; meta: string | null }
  | { op: "modify"; path: string; current: ObjectRow; hash: string | undefined; meta: string | null | undefined }
  | { op: "delete"; path: string };

/**
 * Opens (creating if needed) the store in the SQLite database `file`, migrating its schema and
 * deleting blob chunks left over by interrupted uploads.
 */
export async function openSqliteStore(file: string): Promise<Store> {
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    // Blob uploads make the WAL grow by up to 64 MiB per transaction; shrink it back after checkpoints.
    db.pragma(`journal_size_limit = ${CHUNK_SIZE * CHUNKS_PER_TRANSACTION}`);
    db.pragma("foreign_keys = ON");
    migrateAndInitialize(db);
    deleteOrphanChunks(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return new SqliteStore(db);
}

function migrateAndInitialize(db: Db): void {
  db.transaction(() => {
    db.exec(SCHEMA_VERSION_TABLE);
    const row = db.prepare("SELECT version FROM schema_version").get() as { version: number } | undefined;
    let version = row?.version ?? 0;
    if (!row) db.prepare("INSERT INTO schema_version (version) VALUES (0)").run();
    if (version > SCHEMA_VERSION) {
      throw new Error(`database schema version ${version} is newer than this server supports (${SCHEMA_VERSION})`);
    }
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

interface TokenRow {
  id: string;
  secret_hash: string;
  account: string;
  label: string;
  created_at: string;
  expires_at: string | null;
  revoked: number;
}

function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    account: row.account,
    label: row.label,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revoked: row.revoked === 1,
  };
}

function toStored(row: ObjectRow): StoredObject {
  const out: StoredObject = { path: row.path, kind: row.kind, revision: row.revision };
  if (row.hash !== null) out.hash = row.hash;
  if (row.size !== null) out.size = row.size;
  if (row.meta !== null) out.meta = JSON.parse(row.meta) as ObjectMeta;
  return out;
}

function isSafeNonNegative(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** Serializes metadata for storage; undefined when it is not a plain JSON object. */
function encodeMeta(meta: unknown): string | undefined {
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) return undefined;
  try {
    return JSON.stringify(meta);
  } catch {
    return undefined;
  }
}

class SqliteStore implements Store {
  private readonly db: Db;
  private readonly cache = new Map<string, Database.Statement>();
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

  async hasBlob(hash: string): Promise<boolean> {
    return this.blobRow(hash) !== undefined;
  }

  async putBlobFromFile(hash: string, size: number, file: string): Promise<void> {
    if (typeof hash !== "string" || !HASH_RE.test(hash)) throw new Error(`not a SHA-256 hex hash: ${String(hash)}`);
    if (!isSafeNonNegative(size)) throw new Error(`invalid blob size: ${String(size)}`);
    if (this.blobRow(hash)) return;
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
        if (this.blobRow(hash)) return true;
        this.stmt("DELETE FROM blob_chunks WHERE hash = ? AND seq >= ?").run(hash, count);
        const got = this.stmt(
          "SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(data)), 0) AS bytes FROM blob_chunks WHERE hash = ?",
        ).get(hash) as { n: number; bytes: number };
        if (got.n !== count || got.bytes !== size) return false;
        this.stmt("INSERT INTO blobs (hash, size) VALUES (?, ?)").run(hash, size);
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
    return this.db.transaction((i: CommitInput) => this.commitInTransaction(i)).immediate(input);
  }

  private commitInTransaction(input: CommitInput): { revision: number; objects: StoredObject[]; deleted: string[] } {
    if (!input || !Array.isArray(input.changes) || input.changes.length === 0) {
      throw new InvalidChangeError("a commit needs at least one change", []);
    }
    if (typeof input.author !== "string" || typeof input.note !== "string") {
      throw new InvalidChangeError("a commit needs an author and a note (strings)", []);
    }
    const head = this.head();
    const plan = this.validate(input.changes, head);

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

  /**
   * Checks every change against head (and the earlier changes of the same commit) without
   * writing. Throws InvalidChangeError if any change is malformed or cannot apply, else
   * OutOfDateError listing every stale path, else returns the plan.
   */
  private validate(changes: StoreChange[], head: number): Planned[] {
    const invalid: { path: string; message: string }[] = [];
    const outOfDate = new Set<string>();
    const plan: Planned[] = [];
    const seen = new Set<string>(); // paths of the changes so far
    const containsSeen = new Set<string>(); // strict ancestors of those paths
    const deletedHere = new Set<string>(); // paths deleted by this commit
    const addedKinds = new Map<string, ObjectKind>(); // paths added by this commit so far
    const addPaths = new Set<string>();
    for (const ch of changes) if (ch && ch.op === "add" && typeof ch.path === "string") addPaths.add(ch.path);

    for (const ch of changes) {
      const path = (ch as { path?: unknown } | null)?.path;
      let ok = true;
      const bad = (message: string): void => {
        invalid.push({ path: String(path), message });
        ok = false;
      };
      if (typeof path !== "string" || !isValidPath(path)) {
        bad("invalid path");
        continue;
      }
      if (seen.has(path)) {
        bad("the path appears more than once in the commit");
        continue;
      }
      // Structure within the commit: nothing may change inside a folder the commit deletes.
      const ancestors = ancestorPaths(path);
      const deletedAncestor = ancestors.find((a) => deletedHere.has(a));
      if (deletedAncestor !== undefined) bad(`inside "${deletedAncestor}", which this commit deletes`);
      if (ch.op === "delete" && containsSeen.has(path)) bad("this commit also changes paths inside it");
      seen.add(path);
      for (const a of ancestors) containsSeen.add(a);
      if (ch.op === "delete") deletedHere.add(path);

      switch (ch.op) {
        case "add": {
          if (path === "") bad("the root folder cannot be added");
          let hash: string | null = null;
          if (ch.kind === "folder") {
            if (ch.hash !== undefined) bad("a folder has no content hash");
          } else if (ch.kind === "file") {
            if (typeof ch.hash !== "string") bad("a file needs a content hash");
            else if (!this.blobRow(ch.hash)) bad("unknown blob (upload the content first)");
            else hash = ch.hash;
          } else {
            bad("unknown kind");
          }
          let meta: string | null = null;
          if (ch.meta !== undefined && ch.meta !== null) {
            const m = encodeMeta(ch.meta);
            if (m === undefined) bad("metadata must be a JSON object");
            else meta = m;
          }
          if (!ok) break;
          if (this.objectRow(path)) outOfDate.add(path);
          const parent = parentPath(path);
          const parentKind = addedKinds.get(parent) ?? this.objectRow(parent)?.kind;
          if (parentKind === undefined) {
            if (addPaths.has(parent)) bad("its folder is added later in the commit (parents first)");
            else outOfDate.add(path); // the folder was deleted since the client looked
          } else if (parentKind !== "folder") {
            bad("its parent is not a folder");
          }
          addedKinds.set(path, ch.kind);
          if (ok) plan.push({ op: "add", path, kind: ch.kind, hash, meta });
          break;
        }
        case "modify": {
          this.checkBases(ch, head, bad);
          if (ch.hash === undefined && ch.meta === undefined) bad("the change modifies nothing");
          if (ch.hash !== undefined) {
            if (typeof ch.hash !== "string") bad("invalid content hash");
            else if (!this.blobRow(ch.hash)) bad("unknown blob (upload the content first)");
          }
          let meta: string | null | undefined;
          if (ch.meta === null) meta = null;
          else if (ch.meta !== undefined) {
            meta = encodeMeta(ch.meta);
            if (meta === undefined) bad("metadata must be a JSON object or null");
          }
          if (!ok) break;
          const current = this.objectRow(path);
          if (!current) {
            outOfDate.add(path);
            break;
          }
          if (current.kind === "folder" && (ch.hash !== undefined || ch.baseHash !== undefined)) {
            bad("a folder has no content hash");
            break;
          }
          if (!baseMatches(current, ch)) outOfDate.add(path);
          plan.push({ op: "modify", path, current, hash: ch.hash, meta });
          break;
        }
        case "delete": {
          if (path === "") bad("the root folder cannot be deleted");
          this.checkBases(ch, head, bad);
          if (!ok) break;
          const current = this.objectRow(path);
          if (!current) {
            outOfDate.add(path);
            break;
          }
          if (current.kind === "folder" && ch.baseHash !== undefined) {
            bad("a folder has no content hash (use baseRevision)");
            break;
          }
          if (!baseMatches(current, ch)) outOfDate.add(path);
          if (current.kind === "folder") {
            // Deleting a folder deletes its contents: refuse if any of it changed after the base
            // (added, modified or deleted), since the client never saw that work.
            const cond = subtreeCondition("path", path, { includeSelf: false });
            const rows = this.stmt(
              `SELECT DISTINCT path FROM history WHERE ${cond.sql} AND revision > ? ORDER BY path`,
            ).all(...cond.params, ch.baseRevision) as { path: string }[];
            for (const r of sortByPath(rows, (x) => x.path)) outOfDate.add(r.path);
          }
          plan.push({ op: "delete", path });
          break;
        }
        default:
          bad(`unknown operation ${String((ch as { op?: unknown }).op)}`);
      }
    }
    if (invalid.length > 0) {
      const shown = invalid.slice(0, 5).map((i) => `${i.path === "" ? "(root)" : i.path}: ${i.message}`);
      if (invalid.length > 5) shown.push(`… ${invalid.length - 5} more`);
      throw new InvalidChangeError(`invalid commit: ${shown.join("; ")}`, [...new Set(invalid.map((i) => i.path))]);
    }
    if (outOfDate.size > 0) throw new OutOfDateError([...outOfDate]);
    return plan;
  }

  private checkBases(ch: { baseRevision?: number; baseHash?: string }, head: number, bad: (m: string) => void): void {
    if (ch.baseRevision === undefined && ch.baseHash === undefined) bad("needs baseRevision or baseHash");
    if (ch.baseRevision !== undefined && (!isSafeNonNegative(ch.baseRevision) || ch.baseRevision > head)) {
      bad(`invalid baseRevision ${String(ch.baseRevision)} (head is ${head})`);
    }
    if (ch.baseHash !== undefined && typeof ch.baseHash !== "string") bad("invalid baseHash");
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

  private requireAccount(name: string): void {
    if (!this.stmt("SELECT 1 FROM accounts WHERE name = ?").get(name)) throw new InvalidChangeError(`no account ${name}`, []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    this.db.close();
  }
}

/**
 * Every given base must hold: the object has not changed after `baseRevision` (its revision is
 * at most the base: equal when the client sends the revision it saw, or lower when it sends its
 * working revision), and (files) its content hash is `baseHash`.
 */
function baseMatches(current: ObjectRow, ch: { baseRevision?: number; baseHash?: string }): boolean {
  if (ch.baseRevision !== undefined && current.revision > ch.baseRevision) return false;
  if (ch.baseHash !== undefined && ch.baseHash !== current.hash) return false;
  return true;
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
