/**
 * A device's changes applied to a datastore's folder: commits as the account through its
 * permission-checked view, a slow sync's matching, and conflicts settled by the content type's
 * policy with its per-property merge (the device's version kept in the history).
 */
import { choosePolicy } from "../../merge/content-kinds.js";
import { ForbiddenError, HiddenPathError } from "../authz/access.js";
import { InvalidChangeError, OutOfDateError, type StoreChange } from "../store/types.js";
import type { ContentTypeDefinition } from "../types/interface.js";
import { identityKey, itemMeta, newItemName, normalizeItem, type DatastoreDef } from "./datastores.js";
import { textOf, type ClientChange, type DatastoreSession, type ItemStatus, type SyncContext } from "./datastore-session.js";
import type { ItemView } from "./messages.js";
import { hashText, listItems, missingFolders, storeText, type FolderItem } from "./repository.js";

/** SyncML status codes used for items. */
const OK = 200;
const ADDED = 201;
const MERGED = 207;
const ORIGINATOR_WINS = 208;
const RECIPIENT_WINS = 209;
const NOT_DELETED = 211;
const CHUNK_ACCEPTED = 213;
const SIZE_MISMATCH = 424;
const TOO_LARGE = 413;
const FORBIDDEN = 403;
const NOT_SUPPORTED = 406;
const CONFLICT = 409;
const BAD_FORMAT = 415;
const FAILED = 500;

function typeOf(ctx: SyncContext, def: DatastoreDef): ContentTypeDefinition<any> {
  return ctx.types.byName(def.typeName)!;
}

/** The item data as text (base64 decoded when its Format says b64). */
function itemBytes(item: ItemView): Buffer | undefined {
  if (item.data === undefined) return undefined;
  return item.format === "b64" ? Buffer.from(item.data, "base64") : Buffer.from(item.data, "utf8");
}

function guidOfLuid(ds: DatastoreSession, luid: string | undefined): string | undefined {
  if (luid === undefined) return undefined;
  for (const [guid, state] of Object.entries(ds.items)) if (state.luid === luid) return guid;
  return undefined;
}

/**
 * Settles a conflict by the policy for the item's path: the device's version is "mine" (as a
 * checkout's), the repository's "theirs". Merge keeps the device's part of a property both
 * changed (the repository's stays in the history). Returns undefined for policy `error`.
 */
function settle(ctx: SyncContext, ds: DatastoreSession, path: string, base: string | undefined, device: string, repository: string): { text: string; code: number } | undefined {
  const type = typeOf(ctx, ds.def);
  const policy = choosePolicy(path, { typeDefault: type.defaultPolicy });
  switch (policy) {
    case "error":
      return undefined;
    case "theirs":
      return { text: repository, code: RECIPIENT_WINS };
    case "mine":
    case "newest":
      return { text: device, code: ORIGINATOR_WINS };
    case "merge": {
      const parseOr = (text: string | undefined) => {
        try {
          return text === undefined ? undefined : type.parse(text);
        } catch {
          return undefined; // stored before its type was checked: merged as a new item would be
        }
      };
      const stored = parseOr(repository);
      if (stored === undefined) return { text: device, code: ORIGINATOR_WINS };
      const merged = type.merge(parseOr(base), type.parse(device), stored);
      return { text: normalizeItem(ds.def, type.serialize(merged.value)), code: MERGED };
    }
  }
}

/** A planned commit change and what it means once committed. */
interface Planned {
  changes: StoreChange[];
  /** Code -1: a step that gets no Status of its own. */
  status: ItemStatus;
  apply: () => void;
  /** New content the changes refer to (stored as a blob before the commit). */
  text?: string;
}

/**
 * Applies a device's Sync commands to the folder: one commit for all, plus one per settled
 * conflict (the device's version first, so it stays in the history). Returns a Status per item.
 */
export async function applyClientChanges(ctx: SyncContext, ds: DatastoreSession, opts: { changes: ClientChange[]; /** Largest item accepted in chunks (bytes). */ maxObjSize: number }): Promise<ItemStatus[]> {
  const { changes } = opts;
  const statuses: ItemStatus[] = [];
  const current = await listItems(ctx.view, { folder: ds.folder, def: ds.def, types: ctx.types });
  const taken = new Set(current.keys());
  const planned: Planned[] = [];
  const conflicts: Planned[][] = [];
  const type = typeOf(ctx, ds.def);
  const receiving = ds.mode !== 204 && ds.mode !== 205;

  for (const change of changes) {
    for (const item of change.items) {
      const luid = item.source ?? item.target;
      const status: ItemStatus = { cmd: change.name, cmdId: change.cmdId, code: OK, sourceRef: item.source, targetRef: item.source ? undefined : item.target };
      if (!["Add", "Replace", "Delete"].includes(change.name)) {
        statuses.push({ ...status, code: NOT_SUPPORTED });
        continue;
      }
      if (!receiving) {
        statuses.push({ ...status, code: FORBIDDEN });
        continue;
      }
      // A large object arrives in chunks (MoreData), each answered 213, joined when the last one comes.
      const key = `${change.name}:${luid ?? ""}`;
      const earlier = ds.partial?.key === key ? ds.partial : undefined;
      if (ds.partial && !earlier) ds.partial = undefined; // another item: the unfinished one is dropped
      if (item.moreData) {
        ds.partial = { key, chunks: [...(earlier?.chunks ?? []), itemBytes(item) ?? Buffer.alloc(0)], size: earlier?.size ?? item.size };
        if (ds.partial.chunks.reduce((n, c) => n + c.length, 0) > opts.maxObjSize) {
          ds.partial = undefined;
          statuses.push({ ...status, code: TOO_LARGE });
        } else statuses.push({ ...status, code: CHUNK_ACCEPTED });
        continue;
      }
      const guid = guidOfLuid(ds, luid) ?? (item.target !== undefined && ds.items[item.target] ? item.target : undefined);
      if (change.name === "Delete") {
        const held = guid === undefined ? undefined : ds.items[guid];
        const server = guid === undefined ? undefined : current.get(guid);
        if (guid === undefined || !held) statuses.push({ ...status, code: NOT_DELETED });
        else if (!server) {
          planned.push({ changes: [], status, apply: () => delete ds.items[guid] });
        } else if (server.hash === held.hash) {
          planned.push({ changes: [{ op: "delete", path: server.path, baseHash: server.hash }], status, apply: () => delete ds.items[guid] });
        } else {
          // Changed here, deleted there: the repository's version stays, and goes back to the device.
          delete ds.items[guid];
          statuses.push({ ...status, code: RECIPIENT_WINS });
        }
        continue;
      }
      const bytes = earlier ? Buffer.concat([...earlier.chunks, itemBytes(item) ?? Buffer.alloc(0)]) : itemBytes(item);
      if (earlier) {
        ds.partial = undefined;
        if (earlier.size !== undefined && earlier.size !== bytes!.length) {
          statuses.push({ ...status, code: SIZE_MISMATCH });
          continue;
        }
      }
      const raw = bytes?.toString("utf8");
      if (raw === undefined) {
        statuses.push({ ...status, code: BAD_FORMAT });
        continue;
      }
      const text = normalizeItem(ds.def, raw);
      try {
        type.parse(text);
      } catch {
        statuses.push({ ...status, code: BAD_FORMAT });
        continue;
      }
      const hash = hashText(text);
      const server = guid === undefined ? undefined : current.get(guid);
      if (guid !== undefined && ds.items[guid]) {
        const held = ds.items[guid]!;
        if (!server) {
          // Deleted here, changed there: the device's version comes back.
          planned.push({ changes: [{ op: "add", path: `${ds.folder}/${guid}`, kind: "file", hash, meta: itemMeta(ds.def, guid) }], status, apply: () => (ds.items[guid] = { luid, hash }), text });
        } else if (server.hash === hash || server.hash === held.hash) {
          const changes: StoreChange[] = server.hash === hash ? [] : [{ op: "modify", path: server.path, baseHash: server.hash, hash }];
          planned.push({ changes, status, apply: () => (ds.items[guid] = { luid, hash }), text });
        } else {
          const base = await textOf(ctx, { ds, hash: held.hash }).catch(() => undefined);
          await planConflict(ctx, ds, { guid, luid, server, base, text, hash, status }, conflicts, statuses);
        }
        continue;
      }
      // A new item on the device (or, in a slow sync, one the server may have already).
      const match = await findMatch(ctx, ds, current, text, hash);
      if (match && match.hash === hash) {
        ds.matched.add(match.guid);
        ds.items[match.guid] = { luid, hash };
        statuses.push(status);
      } else if (match) {
        ds.matched.add(match.guid);
        await planConflict(ctx, ds, { guid: match.guid, luid, server: match, base: undefined, text, hash, status }, conflicts, statuses);
      } else {
        const name = newItemName(ds.def, text, { taken: (n) => taken.has(n) });
        taken.add(name);
        ds.matched.add(name);
        planned.push({
          changes: [{ op: "add", path: `${ds.folder}/${name}`, kind: "file", hash, meta: itemMeta(ds.def, name) }],
          status: { ...status, code: ADDED },
          apply: () => (ds.items[name] = { luid, hash }),
          text,
        });
      }
    }
  }
  await commitPlanned(ctx, ds, planned, statuses, `SyncML: ${countLabel(planned)} from ${ctx.device} (${ds.def.uri})`);
  for (const steps of conflicts) {
    for (const [i, step] of steps.entries()) {
      const what = i === steps.length - 1 ? "settled" : `${ctx.device}'s version`;
      await commitPlanned(ctx, ds, [step], statuses, `SyncML: conflict on /${step.changes[0]?.path ?? ds.folder} with ${ctx.device}: ${what}`);
    }
  }
  return statuses;
}

function countLabel(planned: Planned[]): string {
  const n = planned.filter((p) => p.changes.length > 0).length;
  return n === 1 ? "1 change" : `${n} changes`;
}

/** Plans a conflict's commits: the device's version, then the settled one (or a 409 under policy error). */
async function planConflict(
  ctx: SyncContext,
  ds: DatastoreSession,
  c: { guid: string; luid?: string; server: FolderItem; base: string | undefined; text: string; hash: string; status: ItemStatus },
  conflicts: Planned[][],
  statuses: ItemStatus[],
): Promise<void> {
  const repository = await textOf(ctx, { ds, hash: c.server.hash });
  const settled = settle(ctx, ds, c.server.path, c.base, c.text, repository);
  if (!settled) {
    statuses.push({ ...c.status, code: CONFLICT });
    return;
  }
  const settledHash = hashText(settled.text);
  const steps: Planned[] = [];
  const agree = () => (ds.items[c.guid] = { luid: c.luid, hash: c.hash });
  if (settledHash === c.hash) {
    steps.push({ changes: [{ op: "modify", path: c.server.path, baseHash: c.server.hash, hash: c.hash }], status: { ...c.status, code: settled.code }, apply: agree, text: c.text });
  } else {
    // The device's version first (it stays in the history), then the settled one, which the
    // device gets back as a Replace: what it holds (c.hash) differs from the folder.
    steps.push({ changes: [{ op: "modify", path: c.server.path, baseHash: c.server.hash, hash: c.hash }], status: { ...c.status, code: -1 }, apply: () => {}, text: c.text });
    steps.push({ changes: [{ op: "modify", path: c.server.path, baseHash: c.hash, hash: settledHash }], status: { ...c.status, code: settled.code }, apply: agree, text: settled.text });
    if (c.hash === c.server.hash) steps.shift();
  }
  conflicts.push(steps);
}

/** Commits planned changes as one revision; fills their statuses (403 / 409 / 500 for all when the commit is refused). */
async function commitPlanned(ctx: SyncContext, ds: DatastoreSession, planned: Planned[], statuses: ItemStatus[], note: string): Promise<void> {
  const changes = planned.flatMap((p) => p.changes);
  let failure: number | undefined;
  if (changes.length > 0) {
    try {
      for (const p of planned) if (p.text !== undefined && p.changes.length > 0) await storeText(ctx.view, ctx.tempDir, p.text);
      const folders = changes.some((c) => c.op === "add") ? await missingFolders(ctx.view, ds.folder) : [];
      await ctx.view.commit({ author: ctx.author, note, changes: [...folders, ...changes] });
    } catch (error) {
      if (error instanceof ForbiddenError || error instanceof HiddenPathError) failure = FORBIDDEN;
      else if (error instanceof OutOfDateError) failure = CONFLICT;
      else if (error instanceof InvalidChangeError) failure = FAILED;
      else throw error;
    }
  }
  for (const p of planned) {
    if (failure !== undefined) {
      if (p.status.code !== -1) statuses.push({ ...p.status, code: failure });
      continue;
    }
    p.apply();
    if (p.status.code !== -1) statuses.push(p.status);
  }
}

/** A folder item the device's new item is the same as: identical content, else the same UID or name; only items the device does not hold yet. */
async function findMatch(ctx: SyncContext, ds: DatastoreSession, current: Map<string, FolderItem>, text: string, hash: string): Promise<FolderItem | undefined> {
  const free = [...current.values()].filter((i) => !ds.items[i.guid] && !ds.matched.has(i.guid));
  const same = free.find((i) => i.hash === hash);
  if (same) return same;
  const key = identityKey(ds.def, text);
  if (key === undefined) return undefined;
  for (const candidate of free) {
    if (!ds.keys.has(candidate.hash)) ds.keys.set(candidate.hash, identityKey(ds.def, await textOf(ctx, { ds, hash: candidate.hash })));
    if (ds.keys.get(candidate.hash) === key) return candidate;
  }
  return undefined;
}

