/** `GET <path>/@@log`, `@@cat?rev=N`, `@@list?rev=N` and `@@diff?from=A&to=B`: history and old versions. */
import { pipeline } from "node:stream/promises";
import { listObject } from "../history/list.js";
import { diffRevisions } from "../history/revision-diff.js";
import { REVISION_HEADER, type LogEntry } from "../../protocol/types.js";
import type { RequestContext } from "./context.js";
import { HttpError, sendJson } from "./errors.js";
import { parseRevision } from "./params.js";

/** Revisions that touched the object or anything under it, newest first; paths are absolute. */
export async function handleLog(ctx: RequestContext): Promise<void> {
  const { store, target } = ctx;
  const { head } = await store.info();
  const limitParam = target.query.get("limit");
  const limit = limitParam === null ? undefined : Number(limitParam);
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) throw new HttpError(400, "bad-request", "limit must be a positive integer");
  const from = parseRevision(target.query.get("from"), head, "from");
  const to = parseRevision(target.query.get("to"), head, "to");
  if (to !== undefined && from !== undefined && to > from) throw new HttpError(400, "bad-request", "to must not be after from (the log runs newest first)");
  const existed = (await store.getObject(target.objectPath)) ?? (await store.log(target.objectPath, { limit: 1 })).length > 0;
  if (!existed) throw new HttpError(404, "not-found", `no object at /${target.objectPath}`);
  // `to` (the oldest revision wanted) needs the unlimited history below `from`, then the limit.
  const found = await store.log(target.objectPath, { limit: to === undefined ? limit : undefined, from });
  const revisions = to === undefined ? found : found.filter((r) => r.revision >= to).slice(0, limit);
  const entries: LogEntry[] = revisions.map((r) => ({
    ...r,
    changes: r.changes.map((c) => ({ path: "/" + c.path, action: c.action })),
  }));
  sendJson(ctx.res, 200, { revisions: entries }, { [REVISION_HEADER]: String(head) });
}

/** The raw content of a file at a revision (default head). */
export async function handleCat(ctx: RequestContext): Promise<void> {
  const { store, target } = ctx;
  const { head } = await store.info();
  const revision = parseRevision(target.query.get("rev"), head, "rev") ?? head;
  const object = await store.getObject(target.objectPath, { revision });
  if (!object) throw new HttpError(404, "not-found", `no object at /${target.objectPath} in revision ${revision}`);
  if (object.kind !== "file") throw new HttpError(409, "not-a-file", `/${target.objectPath} is a folder`);
  ctx.res.writeHead(200, {
    // Stored before content types had to be printable ASCII, a value could break the header.
    "content-type": /^[\x20-\x7e]+$/.test(object.meta?.contentType ?? "") ? object.meta!.contentType! : "application/octet-stream",
    "content-length": object.size ?? 0,
    [REVISION_HEADER]: String(object.revision),
  });
  await pipeline(store.readBlob(object.hash!), ctx.res);
}

/** The object and its children at a revision (default head), with last authors and dates. */
export async function handleList(ctx: RequestContext): Promise<void> {
  const { store, target } = ctx;
  const { head } = await store.info();
  const revision = parseRevision(target.query.get("rev"), head, "rev") ?? head;
  const listing = await listObject(store, target.objectPath, { revision });
  if (!listing) throw new HttpError(404, "not-found", `no object at /${target.objectPath} in revision ${revision}`);
  sendJson(ctx.res, 200, listing, { [REVISION_HEADER]: String(revision) });
}

/** Content and metadata differences under the object between two revisions (`to` default head). */
export async function handleDiff(ctx: RequestContext): Promise<void> {
  const { store, target } = ctx;
  const { head } = await store.info();
  const from = parseRevision(target.query.get("from"), head, "from");
  if (from === undefined) throw new HttpError(400, "bad-request", "from is required");
  const to = parseRevision(target.query.get("to"), head, "to") ?? head;
  const contextParam = target.query.get("context");
  const context = contextParam === null ? 3 : Number(contextParam);
  if (!(Number.isSafeInteger(context) && context >= 0 && context <= 10_000)) throw new HttpError(400, "bad-request", "context must be a whole number of lines");
  const found = await diffRevisions(store, target.objectPath, { from, to, context });
  if (!found) throw new HttpError(404, "not-found", `no object at /${target.objectPath} in revision ${from} or ${to}`);
  sendJson(ctx.res, 200, { from, to, kind: found.kind, files: found.files }, { [REVISION_HEADER]: String(head) });
}
