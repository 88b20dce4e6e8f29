/**
 * One SQLite connection of the store with its prepared statements, and the few row lookups the
 * reads, the commit and the blob code all use.
 */
import type Database from "better-sqlite3";
import type { BlobRow, ObjectRow } from "../rows.js";
import type { BlobFiles } from "./blob-files.js";

export type Db = Database.Database;

/** The connection and its statement cache. */
export class SqliteConnection {
  private readonly cache = new Map<string, Database.Statement>();

  /** @param files the folder of file-backed blobs beside the database */
  constructor(
    readonly db: Db,
    readonly files: BlobFiles,
  ) {}

  /** A prepared statement, cached by its SQL text. */
  stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  head(): number {
    return (this.stmt("SELECT MAX(revision) AS head FROM revisions").get() as { head: number }).head;
  }

  objectRow(path: string): ObjectRow | undefined {
    return this.stmt("SELECT path, kind, revision, hash, size, meta FROM objects WHERE path = ?").get(path) as ObjectRow | undefined;
  }

  blobRow(hash: string): (BlobRow & { in_file: number }) | undefined {
    return this.stmt("SELECT hash, size, in_file FROM blobs WHERE hash = ?").get(hash) as (BlobRow & { in_file: number }) | undefined;
  }

  /**
   * SQLite's `data_version`: changes whenever another connection (this process or another) has
   * committed since the last call; commits through this connection leave it alone.
   */
  dataVersion(): number {
    return this.db.pragma("data_version", { simple: true }) as number;
  }

  close(): void {
    this.cache.clear();
    this.db.close();
  }
}
