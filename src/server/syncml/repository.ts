/**
 * A datastore's folder in the repository, as the SyncML engine reads and changes it: its items
 * (files directly or deeper inside the folder, of the datastore's type), their text, and commits
 * through the caller's permission-checked view of the store (the same `Store.commit` path,
 * permission checks and out-of-date rules as `zsync commit`).
 */
import { createHash, randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ContentStore } from "../authz/content-view.js";
import type { StoreChange } from "../store/types.js";
import type { TypeRegistry } from "../types/registry.js";
import { belongsTo, type DatastoreDef } from "./datastores.js";

/** One item of a datastore: its server id (path relative to the folder) and content hash. */
export interface FolderItem {
  guid: string;
  path: string;
  hash: string;
  revision: number;
}

/** The folder's items by server id; empty when the folder does not exist (yet). */
export async function listItems(view: ContentStore, opts: { folder: string; def: DatastoreDef; types: TypeRegistry }): Promise<Map<string, FolderItem>> {
  const { folder, def, types } = opts;
  const items = new Map<string, FolderItem>();
  for (const object of await view.listTree(folder)) {
    if (object.kind !== "file" || object.hash === undefined || object.path === folder) continue;
    const guid = object.path.slice(folder.length + 1);
    if (!belongsTo(def, guid, object.meta?.contentType === undefined ? undefined : types.forMediaType(object.meta.contentType).name)) continue;
    items.set(guid, { guid, path: object.path, hash: object.hash, revision: object.revision });
  }
  return items;
}

/** The text of a stored blob. */
export async function readText(view: ContentStore, hash: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of view.readBlob(hash)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** SHA-256 (hex) of text as UTF-8: the blob name it has once stored. */
export function hashText(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Stores text as a blob (through a temp file, as uploads are); returns its hash. */
export async function storeText(view: ContentStore, tempDir: string, text: string): Promise<string> {
  const bytes = Buffer.from(text, "utf8");
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (await view.hasBlob(hash)) return hash;
  const file = join(tempDir, `syncml-${randomBytes(8).toString("hex")}`);
  try {
    await writeFile(file, bytes);
    await view.putBlobFromFile(hash, bytes.length, file);
  } finally {
    await rm(file, { force: true });
  }
  return hash;
}

/** The changes that create `folder` and any missing folder above it (parents first). */
export async function missingFolders(view: ContentStore, folder: string): Promise<StoreChange[]> {
  const parts = folder.split("/");
  const changes: StoreChange[] = [];
  for (let i = 1; i <= parts.length; i++) {
    const path = parts.slice(0, i).join("/");
    if (!(await view.getObject(path))) changes.push({ op: "add", path, kind: "folder" });
  }
  return changes;
}
