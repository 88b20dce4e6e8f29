/**
 * `.zsync/entries.json`: one record per tracked path (relative to the checkout root; "" is the
 * root folder itself), the checkout's revision, and a stat cache that lets `status` skip reading
 * files whose stat has not changed.
 */
import { readFile } from "node:fs/promises";
import { ArchivePathError, checkArchivePath } from "../protocol/paths.js";
import type { EntryInfo, ObjectKind, ObjectMeta } from "../protocol/types.js";
import { ManifestError, parseObjectMeta } from "../protocol/manifest.js";
import { adminPaths, WcError } from "./admin.js";
import { writeFileAtomic } from "./atomic.js";
import { checkoutPathProblem } from "./safe-path.js";

/** What an unresolved conflict left behind. */
export interface ConflictRecord {
  kind: "text" | "binary" | "meta" | "tree";
  /** Files written beside the conflicted one (`f.mine`, `f.r12`, `f.r15`), relative to the root. */
  artifacts: string[];
  reason?: string;
  /**
   * Pristine hashes of the versions involved (text, binary and tree conflicts), so `resolve`
   * can rebuild any choice even when the artifacts were deleted: BASE before the update, the
   * working file before the update (`mine`), and the server's (`theirs`).
   */
  versions?: { base?: string; mine?: string; theirs?: string };
  /** Marker labels used (`.r12`, `.r15`). */
  labels?: { base: string; theirs: string };
  /** Metadata conflicts: the three metadata values and the conflicting keys. */
  meta?: { base?: ObjectMeta; mine?: ObjectMeta; theirs?: ObjectMeta; keys: string[] };
}

/** The working file's stat when its content was known to hash to `hash`. */
export interface StatCache {
  size: number;
  mtimeNs: string;
  ino: number;
  hash: string;
}

/** One tracked path. */
export interface Entry {
  kind: ObjectKind;
  /** The object's last-changed revision at BASE; absent for paths scheduled for addition. */
  revision?: number;
  /** BASE content hash and size (files with a BASE). */
  hash?: string;
  size?: number;
  /** BASE metadata. */
  meta?: ObjectMeta;
  schedule?: "added" | "removed";
  conflict?: ConflictRecord;
  cache?: StatCache;
}

/** The whole entries file. */
export interface Entries {
  /** Revision the whole checkout was last updated to. */
  revision: number;
  entries: Map<string, Entry>;
}

const SHA256 = /^[0-9a-f]{64}$/;

function corrupt(file: string, why: string): never {
  throw new WcError("corrupt-admin", `${file} is corrupt (${why}). Your files are untouched; check out again into a new directory and copy your edits over.`);
}

/** Loads and validates the entries of the checkout at `root`. */
export async function loadEntries(root: string): Promise<Entries> {
  const file = adminPaths(root).entries;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    corrupt(file, (error as Error).message);
  }
  const data = raw as { format?: unknown; revision?: unknown; entries?: unknown };
  if (data?.format !== 1 || !Number.isSafeInteger(data.revision) || typeof data.entries !== "object" || data.entries === null) {
    corrupt(file, "unexpected structure");
  }
  const entries = new Map<string, Entry>();
  for (const [path, value] of Object.entries(data.entries as Record<string, Entry>)) {
    try {
      checkArchivePath(path);
    } catch (error) {
      if (error instanceof ArchivePathError) corrupt(file, `bad path ${JSON.stringify(path)}`);
      throw error;
    }
    const e = value;
    const conflict = e?.conflict as ConflictRecord | undefined;
    if (conflict !== undefined) {
      const ok =
        typeof conflict === "object" && conflict !== null && ["text", "binary", "meta", "tree"].includes(conflict.kind) && Array.isArray(conflict.artifacts);
      if (!ok) corrupt(file, `bad conflict record for ${JSON.stringify(path)}`);
      for (const artifact of conflict.artifacts) {
        const problem = checkoutPathProblem(artifact);
        if (problem || artifact === "") corrupt(file, `bad conflict artifact of ${JSON.stringify(path)}: ${problem ?? "empty"}`);
      }
    }
    if (e?.meta !== undefined) {
      try {
        parseObjectMeta(e.meta, `metadata of ${JSON.stringify(path)}`);
      } catch (error) {
        if (error instanceof ManifestError) corrupt(file, error.message);
        throw error;
      }
    }
    const valid =
      (e?.kind === "file" || e?.kind === "folder") &&
      (e.revision === undefined || Number.isSafeInteger(e.revision)) &&
      (e.hash === undefined || (typeof e.hash === "string" && SHA256.test(e.hash))) &&
      (e.schedule === undefined || e.schedule === "added" || e.schedule === "removed") &&
      (e.cache === undefined || (typeof e.cache === "object" && e.cache !== null && typeof e.cache.hash === "string" && SHA256.test(e.cache.hash))) &&
      (e.schedule === "added" || e.revision !== undefined) &&
      (e.kind === "folder" || e.schedule === "added" || e.hash !== undefined);
    if (!valid) corrupt(file, `bad entry for ${JSON.stringify(path)}`);
    entries.set(path, e);
  }
  if (!entries.has("")) corrupt(file, "no entry for the checkout root");
  return { revision: data.revision as number, entries };
}

/** Writes the entries atomically (sorted, so the file diffs well). */
export async function saveEntries(root: string, entries: Entries): Promise<void> {
  const sorted = [...entries.entries.keys()].sort();
  // fromEntries defines own keys: `object["__proto__"] = …` would drop a file named `__proto__`.
  const object: Record<string, Entry> = Object.fromEntries(sorted.map((path) => [path, entries.entries.get(path)!]));
  await writeFileAtomic(adminPaths(root).entries, JSON.stringify({ format: 1, revision: entries.revision, entries: object }));
}

/** Paths of `entries` under `path` (exclusive), in sorted order. */
export function entriesUnder(entries: Map<string, Entry>, path: string): string[] {
  const prefix = path === "" ? "" : path + "/";
  return [...entries.keys()].filter((p) => p !== path && p.startsWith(prefix)).sort();
}

/** The BASE entry for an object as the server describes it. */
export function entryFromRemote(remote: EntryInfo): Entry {
  const entry: Entry = { kind: remote.kind, revision: remote.revision };
  if (remote.kind === "file") {
    entry.hash = remote.hash;
    entry.size = remote.size;
  }
  if (remote.meta) entry.meta = remote.meta;
  return entry;
}
