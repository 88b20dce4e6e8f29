/**
 * The SQLite store: reads of objects, history and log; blobs, commits, accounts and the commit
 * feed live in the neighbouring files. Every read bounded by a revision reads `history` rows,
 * which are never changed once written, so reads need no transaction while others commit.
 */
import type { Readable } from "node:stream";
import { comparePaths, sortByPath, subtreeCondition } from "../paths.js";
import { isSafeNonNegative, toStored, type HistoryRow, type ObjectRow } from "../rows.js";
import type { CommitInput, RevisionInfo, Store, StoredObject } from "../types.js";
import { SqliteAccounts } from "./accounts.js";
import { deleteUnreferencedBlobs, putBlobFromFile, readBlob, readSmallBlobs } from "./blobs.js";
import { commitSqlite, type CommitResult } from "./commit.js";
import { SqliteCommitFeed, type SqliteCommitFeedOptions } from "./commit-feed.js";
import type { SqliteConnection } from "./connection.js";

/** The `Store` over one SQLite connection. */
export class SqliteStore extends SqliteAccounts implements Store {
  private readonly feed: SqliteCommitFeed;
  private closed = false;

  constructor(conn: SqliteConnection, feed: SqliteCommitFeedOptions) {
    super(conn);
    this.feed = new SqliteCommitFeed(conn, feed);
  }

  /** Throws a RangeError unless `revision` is an existing revision (0..head). */
  private checkRevision(revision: number, head: number, what = "revision"): void {
    if (!isSafeNonNegative(revision) || revision > head) {
      throw new RangeError(`no such ${what}: ${String(revision)} (head is ${head})`);
    }
  }

  async info(): Promise<{ uuid: string; head: number }> {
    const uuid = (this.conn.stmt("SELECT value FROM meta WHERE key = 'uuid'").get() as { value: string }).value;
    return { uuid, head: this.conn.head() };
  }

  async getObject(path: string, opts?: { revision?: number }): Promise<StoredObject | undefined> {
    if (opts?.revision === undefined) {
      const row = this.conn.objectRow(path);
      return row && toStored(row);
    }
    this.checkRevision(opts.revision, this.conn.head());
    const row = this.conn
      .stmt(
        `SELECT path, kind, revision, hash, size, meta, deleted FROM history
         WHERE path = ? AND revision <= ? ORDER BY revision DESC LIMIT 1`,
      )
      .get(path, opts.revision) as HistoryRow | undefined;
    return row && !row.deleted ? toStored(row) : undefined;
  }

  async listTree(path: string, opts?: { revision?: number }): Promise<StoredObject[]> {
    let rows: ObjectRow[];
    if (opts?.revision === undefined) {
      const cond = subtreeCondition("path", path);
      rows = this.conn.stmt(`SELECT path, kind, revision, hash, size, meta FROM objects WHERE ${cond.sql}`).all(...cond.params) as ObjectRow[];
    } else {
      this.checkRevision(opts.revision, this.conn.head());
      const cond = subtreeCondition("h.path", path);
      rows = this.conn
        .stmt(
          `SELECT h.path, h.kind, h.revision, h.hash, h.size, h.meta FROM history h
           WHERE ${cond.sql} AND h.deleted = 0 AND h.revision = (
             SELECT MAX(m.revision) FROM history m WHERE m.path = h.path AND m.revision <= ?)`,
        )
        .all(...cond.params, opts.revision) as ObjectRow[];
    }
    return sortByPath(rows, (r) => r.path).map(toStored);
  }

  async changesSince(path: string, since: number, opts?: { until?: number }): Promise<{ changed: StoredObject[]; deleted: string[] }> {
    const head = this.conn.head();
    const until = opts?.until ?? head;
    this.checkRevision(until, head, "revision (until)");
    this.checkRevision(since, until, "revision (since)");
    const cond = subtreeCondition("h.path", path);
    // Every path with a history row in (since, until], as it is at `until`, plus whether it
    // existed at `since` (1 = deleted there, 0 = present, null = never existed before).
    const rows = this.conn
      .stmt(
        `SELECT h.path, h.kind, h.revision, h.hash, h.size, h.meta, h.deleted,
           (SELECT s.deleted FROM history s WHERE s.path = h.path AND s.revision <= ?
            ORDER BY s.revision DESC LIMIT 1) AS deleted_at_since
         FROM history h
         WHERE ${cond.sql} AND h.revision > ? AND h.revision <= ? AND h.revision = (
           SELECT MAX(m.revision) FROM history m WHERE m.path = h.path AND m.revision <= ?)`,
      )
      .all(since, ...cond.params, since, until, until) as (HistoryRow & { deleted_at_since: number | null })[];
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

  deleteUnreferencedBlobs(storedBefore: string): Promise<{ blobs: number; bytes: number }> {
    return deleteUnreferencedBlobs(this.conn, storedBefore);
  }

  async hasBlob(hash: string): Promise<boolean> {
    return this.conn.blobRow(hash) !== undefined;
  }

  putBlobFromFile(hash: string, size: number, file: string, opts?: { take?: boolean }): Promise<void> {
    return putBlobFromFile(this.conn, hash, size, file, opts?.take === true);
  }

  readBlob(hash: string): Readable {
    return readBlob(this.conn, hash);
  }

  async readSmallBlobs(hashes: readonly string[]): Promise<Map<string, Buffer>> {
    return readSmallBlobs(this.conn, hashes);
  }

  async commit(input: CommitInput): Promise<CommitResult> {
    const result = commitSqlite(this.conn, input);
    this.feed.committed(result.revision);
    return result;
  }

  subscribeCommits(listener: (revision: number) => void): () => void {
    return this.feed.subscribe(listener);
  }

  async log(path: string, opts?: { limit?: number; from?: number }): Promise<RevisionInfo[]> {
    const head = this.conn.head();
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
        this.conn.stmt(`SELECT revision FROM revisions WHERE revision <= ? ORDER BY revision DESC${limitSql}`).all(from, ...limitParams) as {
          revision: number;
        }[]
      ).map((r) => r.revision);
    } else {
      const cond = subtreeCondition("path", path);
      revisions = (
        this.conn
          .stmt(`SELECT DISTINCT revision FROM changes WHERE ${cond.sql} AND revision <= ? ORDER BY revision DESC${limitSql}`)
          .all(...cond.params, from, ...limitParams) as { revision: number }[]
      ).map((r) => r.revision);
    }
    return revisions.map((revision) => {
      const r = this.conn.stmt("SELECT author, date, note FROM revisions WHERE revision = ?").get(revision) as {
        author: string;
        date: string;
        note: string;
      };
      const changes = this.conn.stmt("SELECT path, action FROM changes WHERE revision = ?").all(revision) as {
        path: string;
        action: "A" | "M" | "D";
      }[];
      return { revision, author: r.author, date: r.date, note: r.note, changes: sortByPath(changes, (c) => c.path) };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.feed.close();
    this.conn.close();
  }
}
