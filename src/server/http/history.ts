/** `GET <path>/@@log` and `GET <path>/@@cat?rev=N`: history and old versions. */
import { pipeline } from "node:stream/promises";
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
  const existed = (await store.getObject(target.objectPath)) ?? (await store.log(target.objectPath, { limit: 1 })).length > 0;
  if (!existed) throw new HttpError(404, "not-found", `no object at /${target.objectPath}`);
  const revisions = await store.log(target.objectPath, { limit, from });
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
