/**
 * Validation of the JSON manifests carried in the `@@zsync/manifest.json` record.
 * Both sides parse with these, so a malformed manifest is rejected with the same words everywhere.
 */
import { ArchivePathError, checkArchivePath, isProtocolPath } from "./paths.js";
import type {
  AnnouncedType,
  CommitChange,
  CommitManifest,
  EntryInfo,
  ObjectMeta,
  SnapshotManifest,
} from "./types.js";

/** A manifest that does not have the documented shape. */
export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManifestError";
  }
}

const SHA256 = /^[0-9a-f]{64}$/;

function fail(message: string): never {
  throw new ManifestError(message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkPath(path: unknown, where: string): string {
  if (typeof path !== "string") fail(`${where}: path must be a string`);
  try {
    checkArchivePath(path);
  } catch (error) {
    if (error instanceof ArchivePathError) fail(`${where}: ${error.message}`);
    throw error;
  }
  return path;
}

function checkRevision(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) fail(`${where} must be a revision number`);
  return value;
}

/** Limits on one object's metadata, besides its size (see docs/PROTOCOL.md, "Limits"). */
export const META_LIMITS = {
  /** Default largest metadata object, as JSON (bytes). */
  maxBytes: 256 * 1024,
  /** Deepest nesting of objects and arrays, the metadata object itself being level 1. */
  maxDepth: 16,
  /** Most keys and array items in all, at every level. */
  maxMembers: 4096,
  /** Longest key (UTF-16 code units). */
  maxKeyLength: 1024,
};

/**
 * Checks depth, member count and key length of a JSON value without recursion (a hostile
 * document nested 100 000 deep must not overflow the stack) and before anything serializes it.
 */
function checkJsonShape(value: unknown, where: string): void {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let members = 0;
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== "object" || current === null) continue;
    if (depth > META_LIMITS.maxDepth) fail(`${where}: metadata nested deeper than ${META_LIMITS.maxDepth} levels`);
    const children = Array.isArray(current) ? current : Object.values(current);
    if (!Array.isArray(current)) {
      for (const key of Object.keys(current)) {
        if (key.length > META_LIMITS.maxKeyLength) fail(`${where}: metadata key longer than ${META_LIMITS.maxKeyLength} characters`);
      }
    }
    members += children.length;
    if (members > META_LIMITS.maxMembers) fail(`${where}: metadata with more than ${META_LIMITS.maxMembers} keys and items`);
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
}

/**
 * Validates editable metadata: an object with optional `contentType` (string), `extra` and
 * `annotations` (objects), nothing else, at most `maxBytes` as JSON, within {@link META_LIMITS}.
 */
export function parseObjectMeta(value: unknown, where: string, maxBytes = META_LIMITS.maxBytes): ObjectMeta {
  if (!isPlainObject(value)) fail(`${where}: metadata must be a JSON object`);
  checkJsonShape(value, where);
  for (const key of Object.keys(value)) {
    if (!["contentType", "extra", "annotations"].includes(key)) fail(`${where}: unknown metadata key ${JSON.stringify(key)}`);
  }
  // Printable ASCII only: the server sends it back as an HTTP header value (@@cat).
  if (value.contentType !== undefined && (typeof value.contentType !== "string" || value.contentType.length > 255 || !/^[\x20-\x7e]*$/.test(value.contentType))) {
    fail(`${where}: contentType must be a string of at most 255 printable ASCII characters`);
  }
  for (const key of ["extra", "annotations"] as const) {
    if (value[key] !== undefined && !isPlainObject(value[key])) fail(`${where}: ${key} must be a JSON object`);
  }
  if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) fail(`${where}: metadata larger than ${maxBytes} bytes`);
  return value as ObjectMeta;
}

/** Validates a commit manifest (see docs/PROTOCOL.md, "Commit"). */
export function parseCommitManifest(value: unknown, opts: { maxChanges?: number; maxMetaBytes?: number } = {}): CommitManifest {
  if (!isPlainObject(value)) fail("manifest must be a JSON object");
  if (value.protocol !== 1) fail(`unsupported protocol version ${JSON.stringify(value.protocol)}`);
  if (value.note !== undefined && typeof value.note !== "string") fail("note must be a string");
  if (!Array.isArray(value.changes)) fail("changes must be an array");
  if (value.changes.length > (opts.maxChanges ?? Infinity)) fail(`more than ${opts.maxChanges} changes`);
  const seen = new Set<string>();
  const changes = value.changes.map((raw, index): CommitChange => {
    const where = `changes[${index}]`;
    if (!isPlainObject(raw)) fail(`${where} must be an object`);
    const path = checkPath(raw.path, where);
    if (isProtocolPath(path)) fail(`${where}: ${JSON.stringify(path)} is a protocol path, not an object`);
    if (seen.has(path)) fail(`${where}: path ${JSON.stringify(path)} appears twice`);
    seen.add(path);
    if (raw.kind !== "file" && raw.kind !== "folder") fail(`${where}: kind must be "file" or "folder"`);
    if (raw.schedule !== "added" && raw.schedule !== "removed" && raw.schedule !== "modified") {
      fail(`${where}: schedule must be "added", "removed" or "modified"`);
    }
    const change: CommitChange = { path, kind: raw.kind, schedule: raw.schedule };
    if (raw.baseRevision !== undefined) change.baseRevision = checkRevision(raw.baseRevision, `${where}.baseRevision`);
    if (raw.baseHash !== undefined) {
      if (typeof raw.baseHash !== "string" || !SHA256.test(raw.baseHash)) fail(`${where}.baseHash must be a SHA-256 hex digest`);
      change.baseHash = raw.baseHash;
    }
    if (raw.content !== undefined) {
      if (typeof raw.content !== "boolean") fail(`${where}.content must be a boolean`);
      change.content = raw.content;
    }
    if (raw.meta !== undefined) change.meta = raw.meta === null ? null : parseObjectMeta(raw.meta, `${where}.meta`, opts.maxMetaBytes);
    if (change.schedule !== "added" && change.baseRevision === undefined && change.baseHash === undefined) {
      fail(`${where}: a ${change.schedule} path needs baseRevision or baseHash`);
    }
    if (change.schedule !== "modified" && path === "") fail(`${where}: the committed object itself cannot be ${change.schedule}`);
    if (change.content && change.kind !== "file") fail(`${where}: only files have content`);
    if (change.schedule === "removed" && (change.content || change.meta !== undefined)) fail(`${where}: a removed path carries no content or metadata`);
    if (change.schedule === "added" && change.kind === "file" && !change.content) fail(`${where}: an added file needs content`);
    return change;
  });
  return { protocol: 1, ...(value.note === undefined ? {} : { note: value.note as string }), changes };
}

function parseEntry(raw: unknown, where: string): EntryInfo {
  if (!isPlainObject(raw)) fail(`${where} must be an object`);
  const path = checkPath(raw.path, where);
  if (raw.kind !== "file" && raw.kind !== "folder") fail(`${where}: kind must be "file" or "folder"`);
  const entry: EntryInfo = { path, kind: raw.kind, revision: checkRevision(raw.revision, `${where}.revision`) };
  if (raw.kind === "file") {
    if (typeof raw.hash !== "string" || !SHA256.test(raw.hash)) fail(`${where}.hash must be a SHA-256 hex digest`);
    if (typeof raw.size !== "number" || !Number.isSafeInteger(raw.size) || raw.size < 0) fail(`${where}.size must be a byte count`);
    entry.hash = raw.hash;
    entry.size = raw.size;
  }
  if (raw.meta !== undefined) entry.meta = parseObjectMeta(raw.meta, `${where}.meta`);
  return entry;
}

/** Validates a snapshot manifest as the client receives it. */
export function parseSnapshotManifest(value: unknown): SnapshotManifest {
  if (!isPlainObject(value)) fail("manifest must be a JSON object");
  if (value.protocol !== 1) fail(`unsupported protocol version ${JSON.stringify(value.protocol)}`);
  if (typeof value.root !== "string") fail("root must be a string");
  if (!Array.isArray(value.entries)) fail("entries must be an array");
  if (!Array.isArray(value.deleted)) fail("deleted must be an array");
  const entries = value.entries.map((entry, i) => parseEntry(entry, `entries[${i}]`));
  // One record per path, and no path below a file: a client must never be asked to put a file
  // where a folder goes (or the other way round) by the archive itself.
  const kinds = new Map<string, EntryInfo["kind"]>();
  for (const entry of entries) {
    if (kinds.has(entry.path)) fail(`entries: path ${JSON.stringify(entry.path)} appears twice`);
    kinds.set(entry.path, entry.kind);
  }
  for (const entry of entries) {
    for (let slash = entry.path.indexOf("/"); slash >= 0; slash = entry.path.indexOf("/", slash + 1)) {
      if (kinds.get(entry.path.slice(0, slash)) === "file") fail(`entries: ${JSON.stringify(entry.path)} lies below the file ${JSON.stringify(entry.path.slice(0, slash))}`);
    }
  }
  if (kinds.get("") === "file") fail(`entries: the root "" must be a folder`);
  const deleted = value.deleted.map((path, i) => checkPath(path, `deleted[${i}]`));
  for (const path of deleted) {
    if (path === "") fail(`deleted: the checkout's root "" cannot be deleted by a snapshot`);
    if (kinds.has(path)) fail(`${JSON.stringify(path)} is listed both as changed and as deleted`);
  }
  return {
    protocol: 1,
    root: value.root,
    revision: checkRevision(value.revision, "revision"),
    ...(value.since === undefined ? {} : { since: checkRevision(value.since, "since") }),
    entries,
    deleted,
    ...(value.types === undefined ? {} : { types: parseAnnouncedTypes(value.types, "types") }),
  };
}

const MERGE_KIND_NAMES = ["lines", "json", "records", "binary"];
const POLICY_NAMES = ["merge", "mine", "theirs", "newest", "error"];

/** Validates a server's list of content types (snapshot manifests, `/.well-known/zsync`). */
export function parseAnnouncedTypes(value: unknown, where: string): AnnouncedType[] {
  if (!Array.isArray(value) || value.length > 256) fail(`${where} must be an array of at most 256 types`);
  const words = (list: unknown, what: string, pattern: RegExp) => {
    if (!Array.isArray(list) || list.length > 32 || !list.every((v) => typeof v === "string" && v.length <= 127 && pattern.test(v))) fail(`${what} must be a short list of names`);
    return list as string[];
  };
  return value.map((raw, i): AnnouncedType => {
    const at = `${where}[${i}]`;
    if (!isPlainObject(raw)) fail(`${at} must be an object`);
    if (typeof raw.name !== "string" || !/^[a-z][a-z0-9-]{0,63}$/.test(raw.name)) fail(`${at}.name must be a short lower-case word`);
    if (typeof raw.merge !== "string" || !MERGE_KIND_NAMES.includes(raw.merge)) fail(`${at}.merge must be one of ${MERGE_KIND_NAMES.join(", ")}`);
    if (typeof raw.defaultPolicy !== "string" || !POLICY_NAMES.includes(raw.defaultPolicy)) fail(`${at}.defaultPolicy must be one of ${POLICY_NAMES.join(", ")}`);
    return {
      name: raw.name,
      mediaTypes: words(raw.mediaTypes, `${at}.mediaTypes`, /^[\w.+-]+\/[\w.+-]+$/),
      extensions: words(raw.extensions, `${at}.extensions`, /^\.[\w.-]+$/),
      merge: raw.merge as AnnouncedType["merge"],
      defaultPolicy: raw.defaultPolicy as AnnouncedType["defaultPolicy"],
    };
  });
}

/** Validates the optional manifest of a checkin: metadata per path of the imported tree. */
export function parseCheckinManifest(value: unknown, opts: { maxMetaBytes?: number } = {}): { note?: string; meta: Record<string, ObjectMeta> } {
  if (!isPlainObject(value)) fail("manifest must be a JSON object");
  if (value.protocol !== 1) fail(`unsupported protocol version ${JSON.stringify(value.protocol)}`);
  const pairs: [string, ObjectMeta][] = [];
  if (value.meta !== undefined) {
    if (!isPlainObject(value.meta)) fail("meta must be an object keyed by path");
    for (const [path, objectMeta] of Object.entries(value.meta)) {
      checkPath(path, `meta[${JSON.stringify(path)}]`);
      pairs.push([path, parseObjectMeta(objectMeta, `meta[${JSON.stringify(path)}]`, opts.maxMetaBytes)]);
    }
  }
  // fromEntries defines own keys: `meta["__proto__"] = …` would replace the prototype instead.
  const meta: Record<string, ObjectMeta> = Object.fromEntries(pairs);
  if (value.note !== undefined && typeof value.note !== "string") fail("note must be a string");
  return { ...(value.note === undefined ? {} : { note: value.note as string }), meta };
}
