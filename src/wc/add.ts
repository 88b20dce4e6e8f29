/**
 * `add`: schedules unversioned files and folders for addition (recursively for folders),
 * honouring ignore rules, skipping `@@meta` folders and symlinks. A named folder that is already
 * versioned is searched for unversioned paths (so `zsync add .` adds everything new, like
 * `svn add --force .`); it is reported as "already under version control" only when nothing in
 * it is new. Unversioned parents of a named path are added too (svn's `--parents`, here the
 * default). A file's content type goes into its `@@meta/<name>.json` (given with `--type`,
 * otherwise guessed from the extension when known).
 *
 * Also exports the small path checks that `mkdir` and `copy` share.
 */
import { readCheckoutFile } from "./safe-path.js";
import { nodeCrypto } from "../protocol/crypto.js";
import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { announcedTypeByName, BUILTIN_MEDIA_TYPES, builtinTypeOf, noteTitleOf } from "../merge/content-kinds.js";
import { readServerTypes } from "./server-types.js";
import { guessContentType, guessedMeta } from "./guess-type.js";
import { join } from "node:path";
import { parseObjectMeta } from "../protocol/manifest.js";
import { ArchivePathError, baseName, checkArchivePath, parentPath } from "../protocol/paths.js";
import type { ObjectKind, ObjectMeta } from "../protocol/types.js";
import { ADMIN_DIR, WcError } from "./admin.js";
import type { Entry } from "./entries.js";
import { createIgnoreMatcher } from "./ignore.js";
import { runJournalOn, type JournalReport, type JournalStep } from "./journal.js";
import { formatMeta, META_DIR, metaFileOf } from "./meta-files.js";
import type { WorkingCopy } from "./session.js";

export interface AddOptions {
  /** Checkout paths (see `toCheckoutPaths`) to add. */
  paths: string[];
  /** Content type to record for the named files (`--type`): a media type, or `contact`, `event`, `note`. */
  contentType?: string;
  /** Also add what ignore rules exclude (`--no-ignore`). */
  noIgnore?: boolean;
}

export interface AddedPath {
  path: string;
  kind: ObjectKind;
  /** Content type recorded in (or already present in) the path's metadata file. */
  contentType?: string;
  /** The metadata file this command wrote, relative to the root. */
  metaFile?: string;
  /** True for an unversioned parent folder added so that a named path could be added. */
  parent?: true;
}

export type SkipReason = "versioned" | "scheduled-removal" | "ignored" | "symlink" | "special" | "bad-name";

export interface SkippedPath {
  path: string;
  reason: SkipReason;
  message: string;
  /** True when the path was named on the command line (false: found while recursing). */
  explicit: boolean;
}

export interface AddResult {
  /** In order: parents before children. */
  added: AddedPath[];
  skipped: SkippedPath[];
  /** Files the journal had to move aside (they changed while the command ran). */
  savedAside: JournalReport["savedAside"];
}

/** Throws (exit 1) unless `path` may name an object: valid archive path, no `@@` component. */
export function checkObjectPath(path: string, verb: string): void {
  if (path.split("/").some((c) => c.startsWith("@@"))) {
    throw new WcError("reserved-name", `can't ${verb} '${path}': names beginning with '@@' are reserved (metadata files are committed with the object they describe)`);
  }
  try {
    checkArchivePath(path);
  } catch (error) {
    if (error instanceof ArchivePathError) throw new WcError("bad-name", `can't ${verb} '${path}': ${error.message}`);
    throw error;
  }
}

/** lstat, or undefined when nothing is there. */
export async function lstatOrNone(absolute: string): Promise<Stats | undefined> {
  return lstat(absolute).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT" || error.code === "ENOTDIR") return undefined;
    throw error;
  });
}

/** Throws unless `path` is a versioned folder (not scheduled for removal) present on disk. */
export async function requireVersionedFolder(wc: WorkingCopy, path: string, what: string): Promise<void> {
  const entry = wc.entries.entries.get(path);
  const shown = path === "" ? "the checkout root" : `'${path}'`;
  if (!entry) throw new WcError("parent-unversioned", `${what}: its parent ${shown} is not under version control (zsync add it first)`);
  if (entry.kind !== "folder") throw new WcError("parent-not-folder", `${what}: its parent ${shown} is a file`);
  if (entry.schedule === "removed") throw new WcError("parent-removed", `${what}: its parent ${shown} is scheduled for removal (zsync revert it first)`);
  const s = await lstatOrNone(join(wc.root, path));
  if (!s?.isDirectory()) throw new WcError("parent-missing", `${what}: its parent ${shown} is missing on disk (zsync revert or update it first)`);
}

/** Validates a `--type` value; a bad one is a usage error. */
export function checkContentType(value: string): void {
  if (value.length > 255 || !/^[A-Za-z0-9][\w.+-]*\/[A-Za-z0-9][\w.+-]*(\s*;\s*[^\x00-\x1f]*)?$/.test(value)) {
    throw new WcError("bad-content-type", `'${value}' is not a content type like text/plain`, 2);
  }
}

/** SHA-256 of a string or bytes. */
export function sha256(data: string | Uint8Array): string {
  return nodeCrypto().createHash("sha256").update(data).digest("hex");
}

/** Schedules `opts.paths` for addition. Validates everything first: on error nothing changed. */
export async function add(wc: WorkingCopy, given: AddOptions): Promise<AddResult> {
  // The server's announced types (plug-ins) are named and guessed like the built-ins.
  const serverTypes = await readServerTypes(wc.root);
  const named =
    given.contentType === undefined
      ? undefined
      : Object.hasOwn(BUILTIN_MEDIA_TYPES, given.contentType)
        ? BUILTIN_MEDIA_TYPES[given.contentType as keyof typeof BUILTIN_MEDIA_TYPES]
        : serverTypes.find((t) => t.name === given.contentType)?.mediaTypes[0];
  const opts = named ? { ...given, contentType: named } : given;
  if (opts.contentType !== undefined) checkContentType(opts.contentType);
  const entries = wc.entries.entries;
  const ignored = createIgnoreMatcher(wc.root);
  const isIgnored = (path: string, isDir: boolean) => {
    const name = baseName(path);
    if (name === ADMIN_DIR || /\.zsync-tmp-/.test(name)) return true; // never, not even with --no-ignore
    return !opts.noIgnore && ignored(path, isDir);
  };
  const planned = new Map<string, AddedPath>();
  const skipped: SkippedPath[] = [];
  const namedFiles = new Set<string>();

  const plan = (path: string, kind: ObjectKind, parent = false) => {
    const known = planned.get(path);
    if (!known) planned.set(path, { path, kind, ...(parent ? { parent: true as const } : {}) });
    else if (!parent) delete known.parent; // named (or reached by recursion) after being added as a parent
  };

  const recurse = async (dir: string) => {
    const names = (await readdir(join(wc.root, dir))).sort();
    for (const name of names) {
      if (name === META_DIR) continue;
      const path = dir === "" ? name : `${dir}/${name}`;
      const known = planned.get(path);
      if (known && !known.parent) continue;
      const s = await lstatOrNone(join(wc.root, path));
      if (!s) continue;
      const entry = entries.get(path);
      if (entry) {
        // Look for new files inside versioned folders too (`zsync add .`).
        if (entry.kind === "folder" && entry.schedule !== "removed" && s.isDirectory()) await recurse(path);
        continue;
      }
      if (s.isSymbolicLink()) {
        skipped.push({ path, reason: "symlink", message: `'${path}' is a symbolic link; symlinks are not versioned`, explicit: false });
        continue;
      }
      if (!s.isFile() && !s.isDirectory()) {
        skipped.push({ path, reason: "special", message: `'${path}' is not a regular file or folder`, explicit: false });
        continue;
      }
      if (isIgnored(path, s.isDirectory())) continue; // silently, like svn
      try {
        checkObjectPath(path, "add");
      } catch (error) {
        skipped.push({ path, reason: "bad-name", message: (error as Error).message, explicit: false });
        continue;
      }
      plan(path, s.isDirectory() ? "folder" : "file");
      if (s.isDirectory()) await recurse(path);
    }
  };

  for (const path of [...new Set(opts.paths)]) {
    const entry = entries.get(path);
    const shown = path === "" ? "." : path;
    if (entry) {
      if (entry.schedule === "removed") {
        skipped.push({ path, reason: "scheduled-removal", message: `'${shown}' is scheduled for removal; \`zsync revert ${shown}\` undoes that`, explicit: true });
        continue;
      }
      // A versioned folder: add what is new inside it; say "already versioned" only when there is nothing.
      const before = planned.size;
      if (entry.kind === "folder" && (await lstatOrNone(join(wc.root, path)))?.isDirectory()) {
        if (opts.contentType !== undefined) throw new WcError("type-on-folder", `--type applies to files; '${shown}' is a folder`, 2);
        await recurse(path);
      }
      if (planned.size === before) skipped.push({ path, reason: "versioned", message: `'${shown}' is already under version control`, explicit: true });
      continue;
    }
    const known = planned.get(path);
    if (known && !known.parent) continue;
    checkObjectPath(path, "add");
    const s = await lstatOrNone(join(wc.root, path));
    if (!s) throw new WcError("not-found", `can't add '${path}': it does not exist`);
    if (s.isSymbolicLink()) {
      skipped.push({ path, reason: "symlink", message: `'${path}' is a symbolic link; symlinks are not versioned`, explicit: true });
      continue;
    }
    if (!s.isFile() && !s.isDirectory()) {
      skipped.push({ path, reason: "special", message: `'${path}' is not a regular file or folder`, explicit: true });
      continue;
    }
    if (isIgnored(path, s.isDirectory())) {
      skipped.push({ path, reason: "ignored", message: `'${path}' is ignored (.zsyncignore or built-in rules); use --no-ignore to add it anyway`, explicit: true });
      continue;
    }
    if (s.isDirectory() && opts.contentType !== undefined) {
      throw new WcError("type-on-folder", `--type applies to files; '${path}' is a folder`, 2);
    }
    // Unversioned parents are added too, outermost first.
    const chain: string[] = [];
    let parent = parentPath(path);
    while (parent !== "" && !entries.has(parent) && !planned.has(parent)) {
      chain.unshift(parent);
      parent = parentPath(parent);
    }
    if (!planned.has(parent)) await requireVersionedFolder(wc, parent, `can't add '${path}'`);
    for (const p of chain) {
      checkObjectPath(p, "add");
      if (isIgnored(p, true)) throw new WcError("parent-ignored", `can't add '${path}': its parent '${p}' is ignored; add it with --no-ignore`);
    }
    for (const p of chain) plan(p, "folder", true);
    if (s.isDirectory()) {
      plan(path, "folder");
      await recurse(path);
    } else {
      plan(path, "file");
      namedFiles.add(path);
    }
  }

  // Metadata files: --type for named files, otherwise a guess for files without one.
  const steps: JournalStep[] = [];
  for (const item of planned.values()) {
    if (item.kind !== "file") continue;
    const metaFile = metaFileOf(item.path);
    const existing = await readCheckoutFile(wc.root, metaFile).catch(() => undefined);
    let existingMeta: ObjectMeta | undefined;
    let existingError: string | undefined;
    if (existing) {
      try {
        existingMeta = parseObjectMeta(JSON.parse(existing.toString("utf8")), metaFile);
      } catch (error) {
        existingError = (error as Error).message;
      }
    }
    if (opts.contentType !== undefined && namedFiles.has(item.path)) {
      if (existingError) throw new WcError("bad-meta", `can't set the type of '${item.path}': ${metaFile} is not valid metadata (${existingError}); fix or delete it`);
      const meta: ObjectMeta = { ...(existingMeta ?? {}), contentType: opts.contentType };
      if (builtinTypeOf(opts.contentType) === "note" && meta.extra?.title === undefined) meta.extra = { ...meta.extra, title: noteTitleOf(item.path) };
      steps.push({ do: "write-text", path: metaFile, text: formatMeta(meta), expect: existing ? { hash: sha256(existing) } : "absent" });
      item.contentType = opts.contentType;
      item.metaFile = metaFile;
    } else if (existing) {
      if (existingMeta?.contentType) item.contentType = existingMeta.contentType;
    } else {
      const guess = announcedTypeByName(item.path, serverTypes)?.mediaTypes[0] ?? (await guessContentType(wc.root, item.path));
      if (typeof guess === "string") {
        const meta = guessedMeta(guess, item.path);
        steps.push({ do: "write-text", path: metaFile, text: formatMeta(meta), expect: "absent" });
        item.contentType = guess;
        item.metaFile = metaFile;
      }
    }
  }

  const added = [...planned.values()];
  let savedAside: JournalReport["savedAside"] = [];
  if (added.length > 0) {
    const journalEntries: Record<string, Entry> = {};
    for (const item of added) journalEntries[item.path] = { kind: item.kind, schedule: "added" };
    ({ savedAside } = await runJournalOn(wc, { command: "add", steps, entries: journalEntries }));
  }
  return { added, skipped, savedAside };
}
