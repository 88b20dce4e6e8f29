/**
 * The `notes` and `contacts` tools on a server folder URL instead of a checkout: read the typed
 * files of the folder from one snapshot, and write new or changed ones as one commit (one
 * revision), with the same content types and metadata a checkout's `add` records.
 */
import { BUILTIN_MEDIA_TYPES, noteTitleOf } from "../merge/content-kinds.js";
import { parentPath } from "../protocol/paths.js";
import type { CommitChange, EntryInfo, ObjectMeta } from "../protocol/types.js";
import { ProtocolError, type ZsyncClient } from "../transport/http/client.js";
import { WcError } from "../wc/admin.js";
import { isToolType, type ToolType } from "../wc/typed-objects.js";
import { clientForUrl } from "./connect.js";
import type { GlobalArgs } from "./output.js";

/** A typed file of the folder, with its text. */
export interface RemoteTypedFile {
  /** Path relative to the URL's folder. */
  path: string;
  entry: EntryInfo;
  text: string;
}

/** A server folder the tools work on. */
export interface RemoteFolder {
  client: ZsyncClient;
  /** Repository path of the folder (no leading slash). */
  path: string;
  revision: number;
  /** Every object under the folder at `revision`, by path relative to it. */
  entries: Map<string, EntryInfo>;
  /** The files of `type` under `under` (relative; "" is all), sorted by path. */
  files: RemoteTypedFile[];
}

/** One new or changed file for {@link commitFiles}. */
export interface RemoteFileWrite {
  path: string;
  text: string;
  /** Metadata for a new file; a changed file keeps its own. */
  meta?: ObjectMeta;
}

/** Reads the folder at `url` and the text of its files of `type` (inside `under`). */
export async function openRemoteFolder(url: string, args: GlobalArgs, opts: { type: ToolType; under?: string }): Promise<RemoteFolder> {
  const { client, path } = await clientForUrl(url, args);
  let snapshot;
  try {
    snapshot = await client.snapshot(path);
  } catch (error) {
    if (error instanceof ProtocolError && error.status === 404) throw new WcError("not-found", `there is no folder /${path} on the server`);
    throw error;
  }
  const entries = new Map(snapshot.manifest.entries.map((e) => [e.path, e]));
  if (entries.get("")?.kind !== "folder") {
    await snapshot.records.return(undefined);
    throw new WcError("not-a-folder", `/${path} is not a folder; give the URL of the folder that holds the ${opts.type}s`, 2);
  }
  const under = opts.under ?? "";
  const wanted = (e: EntryInfo) =>
    e.kind === "file" && (under === "" || e.path === under || e.path.startsWith(under + "/")) && isToolType(e.path, e.meta?.contentType, opts.type);
  const files: RemoteTypedFile[] = [];
  for await (const record of snapshot.records) {
    const entry = entries.get(record.path);
    if (record.kind !== "file" || !entry || !wanted(entry)) {
      for await (const _ of record.body); // drain: the next record follows it
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of record.body) chunks.push(chunk);
    files.push({ path: record.path, entry, text: Buffer.concat(chunks).toString("utf8") });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { client, path, revision: snapshot.manifest.revision, entries, files };
}

/** True when the folder holds `path` (case-insensitively: the server may live on such a file system, and people read names so). */
export function remoteHas(folder: RemoteFolder, path: string): boolean {
  const lower = path.toLowerCase();
  for (const p of folder.entries.keys()) if (p.toLowerCase() === lower) return true;
  return false;
}

/** The metadata `add` records for a new note or contact at `path`. */
export function typedMeta(type: ToolType, path: string): ObjectMeta {
  return type === "note" ? { contentType: BUILTIN_MEDIA_TYPES.note, extra: { title: noteTitleOf(path) } } : { contentType: BUILTIN_MEDIA_TYPES.contact };
}

/**
 * Commits new files (with their missing parent folders) and changed files to the folder as one
 * revision; returns it. A file changed on the server since it was read refuses the whole commit.
 */
export async function commitFiles(folder: RemoteFolder, opts: { note: string; writes: RemoteFileWrite[] }): Promise<number> {
  const changes: CommitChange[] = [];
  const newFolders = new Set<string>();
  for (const write of opts.writes) {
    if (folder.entries.has(write.path)) continue;
    for (let p = parentPath(write.path); p !== "" && !folder.entries.has(p); p = parentPath(p)) newFolders.add(p);
  }
  for (const path of [...newFolders].sort((a, b) => a.split("/").length - b.split("/").length)) changes.push({ path, kind: "folder", schedule: "added" });
  for (const write of opts.writes) {
    const existing = folder.entries.get(write.path);
    if (existing) changes.push({ path: write.path, kind: "file", schedule: "modified", baseRevision: existing.revision, content: true });
    else changes.push({ path: write.path, kind: "file", schedule: "added", content: true, ...(write.meta ? { meta: write.meta } : {}) });
  }
  const bodies = opts.writes.map((w) => ({ kind: "file" as const, path: w.path, size: Buffer.byteLength(w.text), body: w.text }));
  try {
    const result = await folder.client.commit(folder.path, { protocol: 1, note: opts.note, changes }, bodies);
    return result.revision;
  } catch (error) {
    if (error instanceof ProtocolError && error.code === "out-of-date") {
      throw new WcError("out-of-date", `${(error.paths ?? []).join(", ")} changed on the server meanwhile; nothing was committed, try again`);
    }
    throw error;
  }
}
