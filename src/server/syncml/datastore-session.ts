/**
 * One datastore's part of a SyncML session (its state between messages) and what its work
 * needs from the server: the shapes shared by apply-changes.ts and outgoing.ts.
 */
import type { ContentStore } from "../authz/content-view.js";
import type { SyncItemState } from "../store/types.js";
import type { TypeRegistry } from "../types/registry.js";
import type { DatastoreDef } from "./datastores.js";
import type { ItemView } from "./messages.js";
import { readText } from "./repository.js";

/** What the engine needs to touch the repository. */
export interface SyncContext {
  view: ContentStore;
  types: TypeRegistry;
  tempDir: string;
  /** The account (commit author). */
  author: string;
  /** The device id, named in commit notes. */
  device: string;
}

/** A change the server sends the device. */
export interface OutChange {
  op: "Add" | "Replace" | "Delete";
  guid: string;
  luid?: string;
  hash?: string;
  text?: string;
}

/** A datastore in a session. */
export interface DatastoreSession {
  def: DatastoreDef;
  folder: string;
  /** The device's datastore URI (its Alert's Source) and the server's as the device named it. */
  clientUri: string;
  serverUri: string;
  mode: number;
  clientNext: string;
  serverLast?: string;
  serverNext: string;
  /** The items the device holds (working copy; stored when the session completes). */
  items: Record<string, SyncItemState>;
  /** Server ids the device's items were matched to in this session (slow sync, refresh). */
  matched: Set<string>;
  /** LUIDs from Maps for items whose Add status has not been seen yet. */
  mapped: Map<string, string>;
  /** Server changes not sent yet (undefined until the device's Sync is complete). */
  outgoing?: OutChange[];
  /** Sent changes awaiting their Status, by `msgId:cmdId`. */
  pending: Map<string, OutChange>;
  /** The device's Sync package is complete. */
  clientDone: boolean;
  /** The server's Sync command for this datastore went out (at least once). */
  syncSent?: boolean;
  /** Text of blobs read in this session. */
  texts: Map<string, string>;
  /** A large object whose chunks (MoreData) are still arriving: command and LUID, bytes so far, declared size. */
  partial?: { key: string; chunks: Buffer[]; size?: number };
  /** Slow-sync matching keys of blobs, by hash. */
  keys: Map<string, string | undefined>;
}

/** A change command inside a device's Sync. */
export interface ClientChange {
  name: string;
  cmdId: string;
  items: ItemView[];
}

/** The Status of one item of a device's change. */
export interface ItemStatus {
  cmd: string;
  cmdId: string;
  code: number;
  sourceRef?: string;
  targetRef?: string;
}

/** The text of a blob, read once per session. */
export async function textOf(ctx: SyncContext, opts: { ds: DatastoreSession; hash: string }): Promise<string> {
  const { ds, hash } = opts;
  let text = ds.texts.get(hash);
  if (text === undefined) {
    text = await readText(ctx.view, hash);
    ds.texts.set(hash, text);
  }
  return text;
}
