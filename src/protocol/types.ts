/**
 * The typed vocabulary of the zsync protocol, shared by client and server.
 * The exact wire contract is written down in docs/PROTOCOL.md.
 */

/** Protocol version spoken by this implementation. */
export const PROTOCOL_VERSION = 1;

/** Features announced by `GET /.well-known/zsync`. */
export const PROTOCOL_FEATURES = [
  "snapshot",
  "snapshot-since",
  "snapshot-rev",
  "commit",
  "checkin",
  "log",
  "log-range",
  "cat",
  "events",
  "list",
  "diff",
  "types",
] as const;

/**
 * What a server announces of one content type, in `GET /.well-known/zsync` and in every snapshot
 * manifest, so that clients merge plug-in types they cannot run code for (docs/CONTENT-TYPES.md).
 */
export interface AnnouncedType {
  /** Short name: `contact`, `todo`. */
  name: string;
  /** Media types (in an object's `contentType`) that name it. */
  mediaTypes: string[];
  /** File name endings that suggest it. */
  extensions: string[];
  /** How clients merge its files: by lines, per JSON key, per vCard/iCalendar property, or never (binary). */
  merge: "lines" | "json" | "records" | "binary";
  /** The conflict policy when neither the command nor the checkout names one. */
  defaultPolicy: "merge" | "mine" | "theirs" | "newest" | "error";
}

/** Media type of SNARF archives. */
export const SNARF_MEDIA_TYPE = "application/x-snarf";

/** Path of the manifest record that opens snapshot, commit and checkin archives. */
export const MANIFEST_RECORD = "@@zsync/manifest.json";

/** Response header carrying the repository revision a response represents. */
export const REVISION_HEADER = "zsync-revision";

/** Response header of snapshots carrying the repository uuid (saves a discovery round trip). */
export const REPOSITORY_HEADER = "zsync-repository";

export type ObjectKind = "file" | "folder";

/**
 * Editable metadata of an object, as the client serializes it in `@@meta/<name>.json`.
 * `extra` holds attributes (title, …), `annotations` namespaced records.
 */
export interface ObjectMeta {
  contentType?: string;
  extra?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

/** One object as the server describes it (snapshot manifest, commit answer). */
export interface EntryInfo {
  /** Path relative to the requested object; "" is the object itself. */
  path: string;
  kind: ObjectKind;
  /** Revision in which this object last changed (content or metadata). */
  revision: number;
  /** SHA-256 (hex) of the content; files only. */
  hash?: string;
  /** Content size in bytes; files only. */
  size?: number;
  /** Editable metadata; absent when the object has none. */
  meta?: ObjectMeta;
}

/** First record of a snapshot (`GET …/@@toFS.snarf`). */
export interface SnapshotManifest {
  protocol: number;
  /** Absolute repository path of the requested object, e.g. "/demo". */
  root: string;
  /** Revision this snapshot represents. */
  revision: number;
  /** Set for `?since=REV` deltas. */
  since?: number;
  /** Objects present (all of them, or those changed since `since`), parents before children. */
  entries: EntryInfo[];
  /** Paths deleted since `since` (deltas only), relative to root. */
  deleted: string[];
  /** The server's content types (feature `types`); absent from older servers. */
  types?: AnnouncedType[];
}

/** How a commit changes one path. */
export type Schedule = "added" | "removed" | "modified";

/** One changed path in a commit manifest. */
export interface CommitChange {
  /** Path relative to the object the commit is posted to. Never "" for added/removed. */
  path: string;
  kind: ObjectKind;
  schedule: Schedule;
  /**
   * The object's revision the change is based on (its `EntryInfo.revision` at the client's BASE).
   * Required for `modified` and `removed` unless `baseHash` is given.
   */
  baseRevision?: number;
  /** Alternative base: the SHA-256 of the BASE content (files only). */
  baseHash?: string;
  /** True when a body record carries new content for this file. */
  content?: boolean;
  /** New editable metadata (replaces the object's metadata); omitted = unchanged. */
  meta?: ObjectMeta | null;
}

/** First record of a commit archive (`POST …/@@fromFS.snarf`). */
export interface CommitManifest {
  protocol: number;
  note?: string;
  changes: CommitChange[];
}

/** Answer to a successful commit. */
export interface CommitResult {
  revision: number;
  /** Canonical entries of every added or modified object after the commit. */
  entries: EntryInfo[];
  /** Paths removed by the commit (folders: the folder and everything in it). */
  deleted: string[];
}

/** Body of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; paths?: string[] };
}

/** One revision in `GET …/@@log`. */
export interface LogEntry {
  revision: number;
  author: string;
  /** ISO 8601 time. */
  date: string;
  note: string;
  changes: { path: string; action: "A" | "M" | "D" }[];
}

/** One object in `GET …/@@list`: its state at the listed revision and who last changed it. */
export interface ListEntry {
  /** Absolute repository path, e.g. "/demo/index.html" ("/" is the root). */
  path: string;
  /** Last path component ("" for the root). */
  name: string;
  kind: ObjectKind;
  /** Revision in which the object last changed. */
  revision: number;
  hash?: string;
  size?: number;
  meta?: ObjectMeta;
  /** Author and date of `revision` (absent when that revision is not visible to the caller). */
  author?: string;
  date?: string;
}

/** Answer of `GET …/@@list[?rev=N]`: the object and, for a folder, its children (folders first, then by name). */
export interface ListResult {
  revision: number;
  entry: ListEntry;
  children: ListEntry[];
}

/** Answer of `GET /.well-known/zsync`. */
export interface ServerInfo {
  server: "zsync-server";
  version: string;
  protocol: { versions: number[]; features: string[] };
  repository: { uuid: string; revision: number };
  auth: string[];
  /** The server's content types (feature `types`). */
  types?: AnnouncedType[];
  /** Present when the server speaks SyncML (feature `syncml`): its endpoint and datastore folders. */
  syncml?: { url: string; encodings: string[]; datastores: { uri: string; folder: string; types: string[] }[] };
}
