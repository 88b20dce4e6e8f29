/**
 * Row shapes and conversions shared by the store backends (sqlite.ts, postgres/): the tables'
 * columns as the drivers return them, and how they become the `Store` interface's objects.
 */
import type { ObjectKind, ObjectMeta } from "../../protocol/types.js";
import type { StoredObject, SyncState, TokenRecord } from "./types.js";

/** Blob bytes are stored in pieces of this size (the last one may be shorter). */
export const CHUNK_SIZE = 1024 * 1024;

/**
 * The bytes of a blob of `size` stored as at most one chunk, whose first chunk is `data` (null
 * when it has none): undefined when it is larger, or when the chunk is not `size` bytes long (a
 * damaged blob, left to `readBlob`, which reports it). For `Store.readSmallBlobs`.
 */
export function oneChunkBody(size: number, data: Buffer | null): Buffer | undefined {
  if (size === 0) return Buffer.alloc(0);
  return size <= CHUNK_SIZE && data !== null && data.length === size ? data : undefined;
}
/** A SHA-256 in lower-case hex, as blobs are named. */
export const HASH_RE = /^[0-9a-f]{64}$/;

/** A row of `objects` (or the object columns of `history`). */
export interface ObjectRow {
  path: string;
  kind: ObjectKind;
  revision: number;
  hash: string | null;
  size: number | null;
  meta: string | null;
}

/** A row of `history`: an object's state as of one revision (`deleted` 1 = gone from then on). */
export interface HistoryRow extends ObjectRow {
  deleted: number;
}

/** A row of `blobs`. */
export interface BlobRow {
  hash: string;
  size: number;
}

/** A row of `tokens`. */
export interface TokenRow {
  id: string;
  secret_hash: string;
  account: string;
  label: string;
  created_at: string;
  expires_at: string | null;
  revoked: number;
}

/** A token row as the interface's record. */
export function toToken(row: TokenRow): TokenRecord {
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

/** An object row as the interface's object (absent columns left out, metadata parsed). */
export function toStored(row: ObjectRow): StoredObject {
  const out: StoredObject = { path: row.path, kind: row.kind, revision: row.revision };
  if (row.hash !== null) out.hash = row.hash;
  if (row.size !== null) out.size = row.size;
  if (row.meta !== null) out.meta = JSON.parse(row.meta) as ObjectMeta;
  return out;
}

/** True for a safe integer >= 0 (revisions, sizes). */
export function isSafeNonNegative(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

export /** Serializes metadata for storage; undefined when it is not a plain JSON object. */
function encodeMeta(meta: unknown): string | undefined {
  if (meta === null || typeof meta !== "object" || Array.isArray(meta)) return undefined;
  try {
    return JSON.stringify(meta);
  } catch {
    return undefined;
  }
}

/** A row of `syncml_state`. */
export interface SyncStateRow {
  account: string;
  device: string;
  datastore: string;
  client_anchor: string;
  server_anchor: string;
  items: string;
  updated_at: string;
}

/** A `syncml_state` row as the interface's SyncState. */
export function toSyncState(row: SyncStateRow): SyncState {
  return { account: row.account, device: row.device, datastore: row.datastore, clientAnchor: row.client_anchor, serverAnchor: row.server_anchor, items: JSON.parse(row.items) as SyncState["items"] };
}

/** A `syncml_state` row as SyncState with the time it was stored. */
export function toListedSyncState(row: SyncStateRow): SyncState & { updatedAt: string } {
  return { ...toSyncState(row), updatedAt: row.updated_at };
}

/** The column values of a `syncml_state` row, in insert order (the last is the update time). */
export function syncStateValues(state: SyncState): string[] {
  return [state.account, state.device, state.datastore, state.clientAnchor, state.serverAnchor, JSON.stringify(state.items), new Date().toISOString()];
}
