/**
 * The PostgreSQL store: reads of objects, history and log; blobs, commits and accounts live in
 * the neighbouring files. Every read bounded by a revision reads `history` rows, which are never
 * changed once written, so reads need no transaction even while other servers commit.
 */
import type { Readable } from "node:stream";
import type pg from "pg";
import { comparePaths, sortByPath, subtreeCondition } from "../paths.js";
import { isSafeNonNegative, toStored, type HistoryRow, type ObjectRow } from "../rows.js";
import type { CommitInput, RevisionInfo, Store, StoredObject } from "../types.js";
import { PostgresAccounts } from "./accounts.js";
import { blobSize, deleteUnreferencedBlobs, PostgresBlobReadable, putBlobFromFile, readSmallBlobs } from "./blobs.js";
import { commitPostgres, type CommitResult } from "./commit.js";
import type { PostgresTarget } from "./connect.js";
import { CommitListener, type CommitListenerOptions } from "./notify.js";
import { rows } from "./sql.js";

const OBJECT_COLUMNS = "path, kind, revision, hash, size, meta";

/** The `Store` over a pool whose connections use the store's schema. */
export class PostgresStore extends PostgresAccounts implements Store {
  private closed = false;

  private readonly listener: CommitListener;

  constructor(
    private readonly db: pg.Pool,
    private readonly target: PostgresTarget,
    feed: CommitListenerOptions,
  ) {
    super(db);
    this.listener = new CommitListener(target, feed);
  }

  private async head(): Promise<number> {
    return (await rows<{ head: number }>(this.db, "SELECT MAX(revision) AS head FROM revisions"))[0]!.head;
  }

  /** Throws a RangeError unless `revision` is an existing revision (0..head). */
  private checkRevision(revision: number, head: number, what = "revision"): void {
    if (!isSafeNonNegative(revision) || revision > head) {
      throw new RangeError(`no such ${what}: ${String(revision)} (head is ${head})`);
    }
  }

  async info(): Promise<{ uuid: string; head: number }> {
    const found = await rows<{ uuid: string; head: number }>(
      this.db,
      "SELECT (SELECT value FROM meta WHERE key = 'uuid') AS uuid, (SELECT MAX(revision) FROM revisions) AS head",
    );
    return found[0]!;
  }

  async getObject(path: string, opts?: { revision?: number }): Promise<StoredObject | undefined> {
    if (opts?.revision === undefined) {
      const row = (await rows<ObjectRow>(this.db, `SELECT ${OBJECT_COLUMNS} FROM objects WHERE path = ?`, [path]))[0];
      return row && toStored(row);
    }
    this.checkRevision(opts.revision, await this.head());
    const row = (
      await rows<HistoryRow>(
        this.db,
        `SELECT ${OBJECT_COLUMNS}, deleted FROM history WHERE path = ? AND revision <= ? ORDER BY revision DESC LIMIT 1`,
        [path, opts.revision],
      )
    )[0];
    return row && !row.deleted ? toStored(row) : undefined;
  }

  async listTree(path: string, opts?: { revision?: number }): Promise<StoredObject[]> {
    let found: ObjectRow[];
    if (opts?.revision === undefined) {
      const cond = subtreeCondition("path", path);
      found = await rows<ObjectRow>(this.db, `SELECT ${OBJECT_COLUMNS} FROM objects WHERE ${cond.sql}`, cond.params);
    } else {
      this.checkRevision(opts.revision, await this.head());
      const cond = subtreeCondition("h.path", path);
      // The latest history row at or before the revision of each path, unless it is a deletion.
      found = await rows<ObjectRow>(
        this.db,
        `SELECT path, kind, revision, hash, size, meta FROM (
           SELECT DISTINCT ON (h.path) h.path, h.kind, h.revision, h.hash, h.size, h.meta, h.deleted
           FROM history h WHERE ${cond.sql} AND h.revision <= ?
           ORDER BY h.path, h.revision DESC) latest
         WHERE deleted = 0`,
        [...cond.params, opts.revision],
      );
    }
    return sortByPath(found, (r) => r.path).map(toStored);
  }

  async changesSince(path: string, since: number, opts?: { until?: number }): Promise<{ changed: StoredObject[]; deleted: string[] }> {
    const head = await this.head();
    const until = opts?.until ?? head;
    this.checkRevision(until, head, "revision (until)");
    this.checkRevision(since, until, "revision (since)");
    const cond = subtreeCondition("h.path", path);
    // Paths with a history row in (since, until], as they are at `until`, and whether they
    // existed at `since` (1 = deleted there, 0 = present, null = never existed before).
    const found = await rows<HistoryRow & { deleted_at_since: number | null }>(
      this.db,
      `SELECT latest.*, (SELECT s.deleted FROM history s WHERE s.path = latest.path AND s.revision <= ?
                          ORDER BY s.revision DESC LIMIT 1) AS deleted_at_since
       FROM (SELECT DISTINCT ON (h.path) h.path, h.kind, h.revision, h.hash, h.size, h.meta, h.deleted
             FROM history h WHERE ${cond.sql} AND h.revision <= ?
             ORDER BY h.path, h.revision DESC) latest
       WHERE latest.revision > ?`,
      [since, ...cond.params, until, since],
    );
    const changed: StoredObject[] = [];
    const deleted: string[] = [];
    for (const row of found) {
      if (!row.deleted) changed.push(toStored(row));
      else if (row.deleted_at_since === 0) deleted.push(row.path);
    }
    sortByPath(changed, (o) => o.path);
    deleted.sort(comparePaths);
    return { changed, deleted };
  }

  async hasBlob(hash: string): Promise<boolean> {
    return (await blobSize(this.db, hash)) !== undefined;
  }

  putBlobFromFile(hash: string, size: number, file: string): Promise<void> {
    return putBlobFromFile(this.db, hash, size, file);
  }

  deleteUnreferencedBlobs(storedBefore: string): Promise<{ blobs: number; bytes: number }> {
    return deleteUnreferencedBlobs(this.db, storedBefore);
  }

  readBlob(hash: string): Readable {
    return new PostgresBlobReadable(this.db, hash);
  }

  readSmallBlobs(hashes: readonly string[]): Promise<Map<string, Buffer>> {
    return readSmallBlobs(this.db, hashes);
  }

  commit(input: CommitInput): Promise<CommitResult> {
    return commitPostgres(this.db, input, this.target.schema);
  }

  subscribeCommits(listener: (revision: number) => void): () => void {
    return this.listener.subscribe(listener);
  }

  async log(path: string, opts?: { limit?: number; from?: number }): Promise<RevisionInfo[]> {
    const head = await this.head();
    const from = opts?.from ?? head;
    this.checkRevision(from, head, "revision (from)");
    const limit = opts?.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new RangeError(`invalid limit: ${String(limit)}`);
    const limitSql = limit === undefined ? "" : " LIMIT ?";
    const limitParams = limit === undefined ? [] : [limit];
    let selected: { revision: number }[];
    if (path === "") {
      selected = await rows(this.db, `SELECT revision FROM revisions WHERE revision <= ? ORDER BY revision DESC${limitSql}`, [from, ...limitParams]);
    } else {
      const cond = subtreeCondition("path", path);
      selected = await rows(this.db, `SELECT DISTINCT revision FROM changes WHERE ${cond.sql} AND revision <= ? ORDER BY revision DESC${limitSql}`, [
        ...cond.params,
        from,
        ...limitParams,
      ]);
    }
    const revisions = selected.map((r) => r.revision);
    const infos = await rows<{ revision: number; author: string; date: string; note: string }>(
      this.db,
      "SELECT revision, author, date, note FROM revisions WHERE revision = ANY(?::int[])",
      [revisions],
    );
    const changes = await rows<{ revision: number; path: string; action: "A" | "M" | "D" }>(
      this.db,
      "SELECT revision, path, action FROM changes WHERE revision = ANY(?::int[])",
      [revisions],
    );
    const byRevision = new Map(infos.map((i) => [i.revision, { ...i, changes: [] as { path: string; action: "A" | "M" | "D" }[] }]));
    for (const c of changes) byRevision.get(c.revision)!.changes.push({ path: c.path, action: c.action });
    return revisions.map((revision) => {
      const r = byRevision.get(revision)!;
      return { revision, author: r.author, date: r.date, note: r.note, changes: sortByPath(r.changes, (c) => c.path) };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listener.close();
    await this.db.end();
  }
}
