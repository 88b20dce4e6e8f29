/**
 * `GET <path>/@@toFS.snarf[?since=REV][&rev=N]`: a SNARF snapshot of an object, or only what
 * changed since REV. The manifest record comes first, then directory and file records.
 */
import { pipeline } from "node:stream/promises";
import { baseName } from "../../protocol/paths.js";
import { encodeSnarf, type SnarfInput } from "../../protocol/snarf.js";
import {
  MANIFEST_RECORD,
  PROTOCOL_VERSION,
  REPOSITORY_HEADER,
  REVISION_HEADER,
  SNARF_MEDIA_TYPE,
  type EntryInfo,
  type SnapshotManifest,
} from "../../protocol/types.js";
import type { StoredObject } from "../store/types.js";
import { announceTypes } from "../types/registry.js";
import type { RequestContext } from "./context.js";
import { HttpError } from "./errors.js";
import { parseRevision, relativeTo } from "./params.js";

/** Serves a snapshot; see docs/PROTOCOL.md. */
export async function handleSnapshot(ctx: RequestContext): Promise<void> {
  const { store, target } = ctx;
  const { head } = await store.info();
  const revision = parseRevision(target.query.get("rev"), head, "rev") ?? head;
  const since = parseRevision(target.query.get("since"), revision, "since");
  const root = await store.getObject(target.objectPath, { revision });
  if (!root) throw new HttpError(404, "not-found", `no object at /${target.objectPath} in revision ${revision}`);

  // A file's snapshot names the file by its own name; a folder's paths are relative to it.
  const rename = root.kind === "file" ? () => baseName(root.path) : (p: string) => relativeTo(target.objectPath, p);
  let objects: StoredObject[];
  let deleted: string[] = [];
  if (since === undefined) {
    objects = await store.listTree(target.objectPath, { revision });
  } else {
    const delta = await store.changesSince(target.objectPath, since, { until: revision });
    objects = delta.changed;
    deleted = delta.deleted.map(rename);
  }
  const entries = objects.map((object) => toEntryInfo(object, rename(object.path)));
  const manifest: SnapshotManifest = {
    protocol: PROTOCOL_VERSION,
    root: "/" + target.objectPath,
    revision,
    ...(since === undefined ? {} : { since }),
    entries,
    deleted,
    types: announceTypes(ctx.types),
  };

  const { uuid } = await store.info();
  ctx.res.writeHead(200, { "content-type": SNARF_MEDIA_TYPE, [REVISION_HEADER]: String(revision), [REPOSITORY_HEADER]: uuid });
  await pipeline(encodeSnarf(snapshotRecords(ctx, manifest, objects)), ctx.res);
}

function* snapshotRecords(ctx: RequestContext, manifest: SnapshotManifest, objects: StoredObject[]): Generator<SnarfInput> {
  const manifestText = JSON.stringify(manifest);
  yield { kind: "file", path: MANIFEST_RECORD, size: Buffer.byteLength(manifestText), body: manifestText };
  for (let i = 0; i < objects.length; i++) {
    const path = manifest.entries[i].path;
    const object = objects[i];
    if (object.kind === "folder") {
      if (path !== "") yield { kind: "dir", path };
    } else {
      yield { kind: "file", path, size: object.size ?? 0, body: () => ctx.store.readBlob(object.hash!) };
    }
  }
}

/** The wire form of a stored object under the given relative path. */
export function toEntryInfo(object: StoredObject, path: string): EntryInfo {
  const entry: EntryInfo = { path, kind: object.kind, revision: object.revision };
  if (object.kind === "file") {
    entry.hash = object.hash;
    entry.size = object.size;
  }
  if (object.meta) entry.meta = object.meta;
  return entry;
}
