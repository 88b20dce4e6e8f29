/**
 * The store's tables as `copy-store` moves them: every table of schema.ts with its columns, a
 * key order for paging, and a batch size (blob chunks are 1 MiB each, so few at a time).
 * Parents come before the tables that reference them.
 */

export interface TableSpec {
  name: string;
  columns: string[];
  /** Unique ordering for paging (the primary key). */
  orderBy: string;
  batch: number;
}

export const TABLES: readonly TableSpec[] = [
  { name: "meta", columns: ["key", "value"], orderBy: "key", batch: 1000 },
  { name: "revisions", columns: ["revision", "author", "date", "note"], orderBy: "revision", batch: 1000 },
  { name: "changes", columns: ["revision", "path", "action"], orderBy: "revision, path", batch: 1000 },
  { name: "blobs", columns: ["hash", "size", "stored_at"], orderBy: "hash", batch: 1000 },
  { name: "blob_chunks", columns: ["hash", "seq", "data"], orderBy: "hash, seq", batch: 8 },
  { name: "objects", columns: ["path", "kind", "revision", "hash", "size", "meta"], orderBy: "path", batch: 1000 },
  { name: "history", columns: ["path", "revision", "kind", "hash", "size", "meta", "deleted"], orderBy: "path, revision", batch: 1000 },
  { name: "accounts", columns: ["name", "password_hash", "role"], orderBy: "name", batch: 1000 },
  { name: "account_keys", columns: ["account", "fingerprint", "key_type", "key_data", "comment"], orderBy: "account, fingerprint", batch: 1000 },
  { name: "grants", columns: ["account", "path", "role"], orderBy: "account, path", batch: 1000 },
  { name: "tokens", columns: ["id", "secret_hash", "account", "label", "created_at", "expires_at", "revoked"], orderBy: "id", batch: 1000 },
  { name: "syncml_state", columns: ["account", "device", "datastore", "client_anchor", "server_anchor", "items", "updated_at"], orderBy: "account, device, datastore", batch: 1000 },
];

/** One table's rows, each as values in `columns` order. */
export type Row = unknown[];

/** Reads a store's tables from one consistent snapshot. */
export interface TableSource {
  /** The rows of `table` in `orderBy` order, `batch` at a time. */
  rows(table: TableSpec): AsyncIterable<Row[]>;
  close(): Promise<void>;
}

/** Writes a store's tables in one transaction: all of the copy or nothing. */
export interface TableTarget {
  /** Starts the transaction and empties every table (a freshly created store has revision 0 and a uuid). */
  begin(): Promise<void>;
  insert(table: TableSpec, rows: Row[]): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  close(): Promise<void>;
}
