/**
 * The server's side of a datastore's sync: the changes the device gets, refresh-from-client's
 * deletions, and what the device's Statuses and Maps say it now holds.
 */
import type { StoreChange } from "../store/types.js";
import { textOf, type DatastoreSession, type OutChange, type SyncContext } from "./datastore-session.js";
import { listItems } from "./repository.js";

/** The server's changes for the device: what it lacks (Add), holds in another version (Replace) or holds but the folder no longer has (Delete). */
export async function computeOutgoing(ctx: SyncContext, ds: DatastoreSession): Promise<OutChange[]> {
  if (ds.mode === 202 || ds.mode === 203) return [];
  const current = await listItems(ctx.view, { folder: ds.folder, def: ds.def, types: ctx.types });
  const out: OutChange[] = [];
  for (const item of current.values()) {
    const held = ds.items[item.guid];
    if (held && held.hash === item.hash) continue;
    out.push({ op: held ? "Replace" : "Add", guid: item.guid, luid: held?.luid, hash: item.hash, text: await textOf(ctx, { ds, hash: item.hash }) });
  }
  for (const [guid, held] of Object.entries(ds.items)) {
    if (current.has(guid)) continue;
    if (held.luid === undefined) delete ds.items[guid];
    else out.push({ op: "Delete", guid, luid: held.luid });
  }
  return out;
}

/** Refresh from the device: the folder's items it did not send are deleted (one commit). */
export async function deleteUnmatched(ctx: SyncContext, ds: DatastoreSession): Promise<number> {
  const current = await listItems(ctx.view, { folder: ds.folder, def: ds.def, types: ctx.types });
  const changes: StoreChange[] = [...current.values()].filter((i) => !ds.items[i.guid]).map((i) => ({ op: "delete", path: i.path, baseHash: i.hash }));
  if (changes.length > 0) await ctx.view.commit({ author: ctx.author, note: `SyncML: refresh from ${ctx.device} (${ds.def.uri}) deletes ${changes.length} item(s)`, changes });
  return changes.length;
}

/** Records the device's Status for a change the server sent. */
export function settleSent(ds: DatastoreSession, opts: { change: OutChange; code: number }): void {
  const { change, code } = opts;
  if (code < 200 || code >= 300) {
    if (code === 418 && change.op === "Add" && change.hash) ds.items[change.guid] = { luid: ds.mapped.get(change.guid), hash: change.hash };
    return;
  }
  if (change.op === "Delete") delete ds.items[change.guid];
  else ds.items[change.guid] = { luid: ds.items[change.guid]?.luid ?? change.luid ?? ds.mapped.get(change.guid), hash: change.hash! };
}

/** Records a Map item: the device's LUID for a server id. */
export function recordMap(ds: DatastoreSession, opts: { guid: string; luid: string }): void {
  const { guid, luid } = opts;
  const held = ds.items[guid];
  if (held) held.luid = luid;
  else ds.mapped.set(guid, luid);
}
