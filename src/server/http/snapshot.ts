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
import { CHUNK_SIZE } from "../store/rows.js";
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

/**
 * A snapshot reads the bodies of small files in batches of up to this many files or bytes (one
 * query each, held in memory until sent); larger files stream one by one. One or two queries per
 * file were most of the server's time for a checkout of many small files.
 */
const SNAPSHOT_BATCH = { files: 512, bytes: 4 * 1024 * 1024 } as const;

async function* snapshotRecords(ctx: RequestContext, manifest: SnapshotManifest, objects: StoredObject[]): AsyncGenerator<SnarfInput> {
  const manifestText = JSON.stringify(manifest);
  yield { kind: "file", path: MANIFEST_RECORD, size: Buffer.byteLength(manifestText), body: manifestText };
  for (let start = 0; start < objects.length; ) {
    const small: string[] = [];
    let bytes = 0;
    let end = start;
    for (; end < objects.length && small.length < SNAPSHOT_BATCH.files && bytes < SNAPSHOT_BATCH.bytes; end++) {
      const object = objects[end];
      if (object.kind === "file" && (object.size ?? 0) <= CHUNK_SIZE) {
        small.push(object.hash!);
        bytes += object.size ?? 0;
      }
    }
    const bodies = small.length > 0 ? await ctx.store.readSmallBlobs(small) : new Map<string, Buffer>();
    for (let i = start; i < end; i++) {
      const path = manifest.entries[i].path;
      const object = objects[i];
      if (object.kind === "folder") {
        if (path !== "") yield { kind: "dir", path };
      } else {
        yield { kind: "file", path, size: object.size ?? 0, body: bodies.get(object.hash!) ?? (() => ctx.store.readBlob(object.hash!)) };
      }
    }
    start = end;
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
