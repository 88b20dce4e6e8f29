/**
 * What changed under a path between two revisions, as svn-style file diffs of content and of
 * metadata (the `@@meta/<name>.json` text a checkout shows). Reads through the caller's content
 * view, so hidden objects never appear. Used by `@@diff` (zsync diff -r A:B) and /manage.
 */
import { hunksOf, textPair, type FileDiff } from "../../merge/line-diff.js";
import { metaFileOf, metaText } from "../../protocol/meta-text.js";
import { baseName } from "../../protocol/paths.js";
import type { ObjectKind } from "../../protocol/types.js";
import type { ContentStore } from "../authz/content-view.js";
import type { StoredObject } from "../store/types.js";

/** Files larger than this are reported like binary ones instead of being diffed in memory. */
export const MAX_DIFF_BYTES = 4 * 1024 * 1024;

export interface RevisionDiffOptions {
  from: number;
  to: number;
  /** Lines of context (default 3). */
  context?: number;
}

/** Tree order: paths compared name by name. */
function treeOrder(a: string, b: string): number {
  const x = a.split("/");
  const y = b.split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return x.length - y.length;
}

/** Reads a whole blob (callers keep it below MAX_DIFF_BYTES). */
export async function readWholeBlob(store: Pick<ContentStore, "readBlob">, hash: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of store.readBlob(hash)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The differences under `path` from revision `from` to `to` (either order; `from > to` shows the
 * change backwards, as svn does), paths relative to `path` (a file is named by its own name).
 * Undefined when the object exists (visibly) in neither revision.
 */
export async function diffRevisions(store: ContentStore, path: string, opts: RevisionDiffOptions): Promise<{ kind: ObjectKind; files: FileDiff[] } | undefined> {
  const { from, to } = opts;
  const context = opts.context ?? 3;
  const rootFrom = await store.getObject(path, { revision: from });
  const rootTo = await store.getObject(path, { revision: to });
  if (!rootFrom && !rootTo) return undefined;
  const isFile = (rootTo ?? rootFrom)!.kind === "file";
  const relative = (p: string) => (isFile ? baseName(p) : path === "" ? p : p === path ? "" : p.slice(path.length + 1));

  const paths = new Set<string>();
  if (from !== to) {
    const delta = await store.changesSince(path, Math.min(from, to), { until: Math.max(from, to) });
    for (const object of delta.changed) paths.add(object.path);
    for (const gone of delta.deleted) paths.add(gone);
  }
  const files: FileDiff[] = [];
  for (const p of [...paths].sort(treeOrder)) {
    const before = await store.getObject(p, { revision: from });
    const after = await store.getObject(p, { revision: to });
    const rel = relative(p);
    const content = await contentDiff(store, before, after, { rel, from, to, context });
    if (content) files.push(content);
    const oldMeta = metaText(before?.meta);
    const newMeta = metaText(after?.meta);
    if (oldMeta !== newMeta) {
      const change = oldMeta === "" ? "added" : newMeta === "" ? "removed" : "modified";
      files.push({
        path: metaFileOf(rel),
        object: rel,
        objectKind: (after ?? before)!.kind,
        kind: "meta",
        change,
        binary: false,
        revision: from,
        newRevision: to,
        hunks: hunksOf(oldMeta, newMeta, context),
      });
    }
  }
  return { kind: isFile ? "file" : "folder", files };
}

async function contentDiff(
  store: ContentStore,
  before: StoredObject | undefined,
  after: StoredObject | undefined,
  how: { rel: string; from: number; to: number; context: number },
): Promise<FileDiff | undefined> {
  const oldFile = before?.kind === "file" ? before : undefined;
  const newFile = after?.kind === "file" ? after : undefined;
  if (!oldFile && !newFile) return undefined;
  if (oldFile && newFile && oldFile.hash === newFile.hash) return undefined;
  const change = !oldFile ? "added" : !newFile ? "removed" : "modified";
  const contentType = (newFile ?? oldFile)!.meta?.contentType;
  const base: FileDiff = { path: how.rel, object: how.rel, objectKind: "file", kind: "content", change, binary: true, revision: how.from, newRevision: how.to, hunks: [] };
  if ((oldFile?.size ?? 0) > MAX_DIFF_BYTES || (newFile?.size ?? 0) > MAX_DIFF_BYTES) return base;
  const oldBytes = oldFile ? await readWholeBlob(store, oldFile.hash!) : Buffer.alloc(0);
  const newBytes = newFile ? await readWholeBlob(store, newFile.hash!) : Buffer.alloc(0);
  const text = textPair(oldBytes, newBytes, contentType);
  if (text.binary) return { ...base, ...(text.declared && contentType ? { contentType } : {}) };
  return { ...base, binary: false, hunks: hunksOf(text.before, text.after, how.context) };
}
