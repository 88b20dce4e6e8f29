/**
 * `info`: what the checkout knows about paths, svn-like: URL (server origin + repository path,
 * never credentials), repository uuid, revisions, kind, schedule, checksum, content type,
 * conflict. Read-only.
 */
import type { ObjectKind } from "../protocol/types.js";
import type { ConflictRecord } from "./entries.js";
import { metaFileOf, readWorkingMeta } from "./meta-files.js";
import { scanWorkingCopy, type ContentState } from "./scan.js";
import type { WorkingCopy } from "./session.js";

export interface InfoOptions {
  /** Checkout paths ("" = the root). */
  paths: string[];
}

export interface PathInfo {
  path: string;
  /** Last path component ("" for the root). */
  name: string;
  workingCopyRoot: string;
  url: string;
  repositoryRoot: string;
  repositoryUuid: string;
  /** Revision of the checkout. */
  revision: number;
  kind: ObjectKind;
  schedule: "normal" | "added" | "removed";
  /** Revision in which the object last changed at BASE (absent for added paths). */
  lastChangedRevision?: number;
  /** SHA-256 of the BASE content (files with a BASE). */
  checksum?: string;
  size?: number;
  /** Content type of the working metadata (falling back to BASE when that is unreadable). */
  contentType?: string;
  /** The metadata file, relative to the root, when it exists. */
  metaFile?: string;
  /** Status letters, as `zsync status` shows them. */
  status: ContentState;
  metaStatus: "modified" | "unchanged" | "conflict";
  conflict?: ConflictRecord;
  depth: string;
}

export interface InfoResult {
  items: PathInfo[];
  /** Named paths that are not under version control. */
  errors: { path: string; message: string }[];
}

/** The server URL of a checkout path: origin + repository path + path, segments percent-encoded. */
export function urlOf(wc: WorkingCopy, path: string): string {
  const full = [wc.config.path, path].filter((p) => p !== "").join("/");
  return `${wc.config.origin}/${full.split("/").filter((s) => s !== "").map(encodeURIComponent).join("/")}`;
}

/** Describes `opts.paths`. */
export async function info(wc: WorkingCopy, opts: InfoOptions): Promise<InfoResult> {
  const entries = wc.entries.entries;
  const result: InfoResult = { items: [], errors: [] };
  const known = opts.paths.filter((p) => entries.has(p));
  const scan = known.length > 0 ? await scanWorkingCopy(wc.root, entries, { within: known }) : { items: [] };
  const scanned = new Map(scan.items.map((i) => [i.path, i]));
  for (const path of opts.paths) {
    const entry = entries.get(path);
    if (!entry) {
      result.errors.push({ path, message: `'${path === "" ? "." : path}' is not under version control` });
      continue;
    }
    const item = scanned.get(path);
    const working = await readWorkingMeta(wc.root, path);
    const contentType = working.error ? entry.meta?.contentType : working.meta?.contentType;
    const exists = working.meta !== undefined || working.error !== undefined;
    result.items.push({
      path,
      name: path.slice(path.lastIndexOf("/") + 1),
      workingCopyRoot: wc.root,
      url: urlOf(wc, path),
      repositoryRoot: `${wc.config.origin}/`,
      repositoryUuid: wc.config.repository,
      revision: wc.entries.revision,
      kind: entry.kind,
      schedule: entry.schedule ?? "normal",
      ...(entry.revision !== undefined ? { lastChangedRevision: entry.revision } : {}),
      ...(entry.hash !== undefined ? { checksum: entry.hash } : {}),
      ...(entry.size !== undefined ? { size: entry.size } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
      ...(exists ? { metaFile: metaFileOf(path) } : {}),
      status: item?.content ?? "=",
      metaStatus: item?.meta === "M" ? "modified" : item?.meta === "C" ? "conflict" : "unchanged",
      ...(entry.conflict ? { conflict: entry.conflict } : {}),
      depth: wc.config.depth,
    });
  }
  return result;
}
