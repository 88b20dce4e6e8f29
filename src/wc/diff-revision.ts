/**
 * `diff -r N`: the working files against the server's revision N (svn's "working copy against
 * REV"). Downloads the snapshot of each compared subtree at N once and compares content and
 * metadata text with what is on disk now; writes nothing.
 */
import { hunksOf, textPair, type FileDiff } from "../merge/line-diff.js";
import { metaFileOf, metaText } from "../protocol/meta-text.js";
import { readRecordBody } from "../protocol/snarf.js";
import type { EntryInfo } from "../protocol/types.js";
import type { ZsyncClient } from "../transport/http/client.js";
import { WcError } from "./admin.js";
import { repositoryPath } from "./log.js";
import { readCheckoutFile } from "./safe-path.js";
import { scanWorkingCopy, type PathStatus } from "./scan.js";
import type { WorkingCopy } from "./session.js";

/** Files larger than this are reported like binary ones instead of being diffed in memory. */
const MAX_DIFF_BYTES = 4 * 1024 * 1024;

export interface DiffRevisionOptions {
  client: ZsyncClient;
  revision: number;
  /** Checkout paths (folders recursively); default the whole checkout. */
  paths?: string[];
  context?: number;
}

interface Side {
  kind: "file" | "folder";
  meta: string;
  /** Content, or undefined for folders and files too large to compare. */
  bytes?: Buffer;
  hash?: string;
  contentType?: string;
}

/** Compares working files (versioned ones, not scheduled for removal) with revision N. */
export async function diffAgainstRevision(wc: WorkingCopy, opts: DiffRevisionOptions): Promise<FileDiff[]> {
  const context = opts.context ?? 3;
  const entries = wc.entries.entries;
  const scopes = opts.paths ?? [""];
  for (const scope of scopes) {
    if (!entries.has(scope)) throw new WcError("not-versioned", `${scope === "" ? "." : scope} is not under version control; nothing to compare`);
  }
  const files: FileDiff[] = [];
  for (const scope of scopes) {
    const old = await snapshotAt(opts.client, repositoryPath(scope, wc.config.path), scope, opts.revision);
    const scan = await scanWorkingCopy(wc.root, entries, { within: [scope] });
    const removedFolders = [...entries].filter(([, e]) => e.schedule === "removed" && e.kind === "folder").map(([p]) => p);
    const now = new Map<string, Side>();
    for (const item of scan.items) {
      if (!item.entry || item.entry.schedule === "removed" || removedFolders.some((f) => item.path.startsWith(f === "" ? "" : f + "/"))) continue;
      now.set(item.path, await workingSide(wc.root, item));
    }
    const paths = [...new Set([...old.keys(), ...now.keys()])].sort();
    for (const path of paths) {
      const before = old.get(path);
      const after = now.get(path);
      const content = contentDiff(path, before, after, opts.revision, context);
      if (content) files.push(content);
      const oldMeta = before?.meta ?? "";
      const newMeta = after?.meta ?? "";
      if (oldMeta !== newMeta) {
        files.push({
          path: metaFileOf(path),
          object: path,
          objectKind: (after ?? before)!.kind,
          kind: "meta",
          change: oldMeta === "" ? "added" : newMeta === "" ? "removed" : "modified",
          binary: false,
          revision: opts.revision,
          hunks: hunksOf(oldMeta, newMeta, context),
        });
      }
    }
  }
  return files;
}

async function snapshotAt(client: ZsyncClient, repoPath: string, scope: string, revision: number): Promise<Map<string, Side>> {
  const { manifest, records } = await client.snapshot(repoPath, { rev: revision });
  const byPath = new Map<string, EntryInfo>(manifest.entries.map((e) => [e.path, e]));
  // A file's snapshot names it by its own name; a folder's paths are relative to it.
  const single = manifest.entries.length === 1 && manifest.entries[0].kind === "file";
  const toCheckout = (rel: string) => (single ? scope : scope === "" ? rel : rel === "" ? scope : `${scope}/${rel}`);
  const sides = new Map<string, Side>();
  for (const entry of manifest.entries) {
    sides.set(toCheckout(entry.path), { kind: entry.kind, meta: metaText(entry.meta), hash: entry.hash, contentType: entry.meta?.contentType });
  }
  for await (const record of records) {
    if (record.kind !== "file") continue;
    const entry = byPath.get(record.path);
    const side = entry && sides.get(toCheckout(entry.path));
    if (!side || record.size > MAX_DIFF_BYTES) {
      for await (const _ of record.body) void _;
      continue;
    }
    side.bytes = await readRecordBody(record, MAX_DIFF_BYTES);
  }
  return sides;
}

async function workingSide(root: string, item: PathStatus): Promise<Side> {
  const metaSource = item.metaError === undefined ? item.workingMeta ?? (item.meta === "M" ? undefined : item.entry?.meta) : item.entry?.meta;
  const side: Side = { kind: item.kind, meta: metaText(metaSource), hash: item.workingHash, contentType: metaSource?.contentType };
  if (item.kind === "file" && item.workingHash !== undefined && (item.workingSize ?? 0) <= MAX_DIFF_BYTES) side.bytes = await readCheckoutFile(root, item.path);
  return side;
}

function contentDiff(path: string, before: Side | undefined, after: Side | undefined, revision: number, context: number): FileDiff | undefined {
  const oldFile = before?.kind === "file" ? before : undefined;
  // A missing working file (`!`) is not compared, as in plain diff.
  const newFile = after?.kind === "file" && after.hash !== undefined ? after : undefined;
  if (!oldFile && !newFile) return undefined;
  if (oldFile && newFile && oldFile.hash === newFile.hash) return undefined;
  if (!newFile && after?.kind === "file") return undefined;
  const change = !oldFile ? "added" : !newFile ? "removed" : "modified";
  const contentType = (newFile ?? oldFile)!.contentType;
  const base: FileDiff = { path, object: path, objectKind: "file", kind: "content", change, binary: true, ...(oldFile ? { revision } : {}), hunks: [] };
  if ((oldFile && !oldFile.bytes) || (newFile && !newFile.bytes)) return base;
  const text = textPair(oldFile?.bytes ?? Buffer.alloc(0), newFile?.bytes ?? Buffer.alloc(0), contentType);
  if (text.binary) return { ...base, ...(text.declared && contentType ? { contentType } : {}) };
  return { ...base, binary: false, hunks: hunksOf(text.before, text.after, context) };
}
