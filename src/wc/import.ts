/**
 * `import` (zsync's `checkin`): sends a local tree as a new object on the server, in one
 * revision, then — unless told not to — turns the directory into a checkout of that object
 * (svn users expect import-then-checkout; zsync left the tree unattached).
 *
 * Before anything is sent the whole tree is planned: ignored files (the defaults of
 * `src/wc/ignore.ts` and `.zsyncignore` files), symlinks and special files are left out (never
 * followed), `@@meta/<name>.json` files become the metadata of the objects they describe
 * (validated), and names the protocol cannot carry are refused. Attaching moves no user file:
 * the new object is checked out into a temporary directory next to DIR, every file is compared
 * with DIR, and only then is the checkout's `.zsync/` moved into DIR.
 */
import { constants } from "node:fs";
import { copyFile, lstat, mkdir, mkdtemp, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { parseObjectMeta } from "../protocol/manifest.js";
import { ArchivePathError, checkArchivePath, isReservedName, joinArchivePath } from "../protocol/paths.js";
import { treeRecords } from "../protocol/snarf-tree.js";
import type { SnarfInput } from "../protocol/snarf.js";
import type { ObjectMeta } from "../protocol/types.js";
import { ProtocolError, type ZsyncClient } from "../transport/http/client.js";
import { ADMIN_DIR, findWorkingCopy, readConfig, WcError, checkoutUrl } from "./admin.js";
import { checkout } from "./checkout.js";
import { loadEntries, saveEntries } from "./entries.js";
import { createIgnoreMatcher } from "./ignore.js";
import { statCache } from "./stat-cache.js";
import { META_DIR, metaFileOf, objectOfMetaFile, sameMeta } from "./meta-files.js";
import { guessContentType, guessedMeta } from "./guess-type.js";
import { hashFile } from "./pristine.js";

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const MAX_META_FILE_BYTES = 256 * 1024;

export interface ImportOptions {
  client: ZsyncClient;
  /** Server origin, without credentials (recorded in the checkout when attaching). */
  origin: string;
  /** Repository path of the object to create, e.g. `demo/new`: its parent must exist, its last segment is the new name. */
  path: string;
  /** User name recorded in the checkout when attaching. */
  user?: string;
  /** CA file (absolute path) recorded in the checkout when attaching. */
  ca?: string;
  /** The local directory (or single file) to import. */
  dir: string;
  /** Log message (the server's default is `import NAME`). */
  note?: string;
  /** Turn `dir` into a checkout of the new object (default true). */
  attach?: boolean;
}

/** Something in the tree that was not imported, and why. */
export interface SkippedPath {
  /** Path relative to DIR. */
  path: string;
  reason: string;
}

export interface ImportResult {
  /** The revision that created the object. */
  revision: number;
  /** Absolute repository path of the new object, e.g. `/demo/new`. */
  path: string;
  kind: "file" | "folder";
  /** Paths sent, relative to the new object ("" is the object itself), in archive order. */
  imported: { path: string; kind: "file" | "folder" }[];
  /** Objects (relative to the new object) that were given metadata from `@@meta` files. */
  meta: string[];
  skipped: SkippedPath[];
  /** True when `dir` is now a checkout of the new object. */
  attached: boolean;
  /** Why it was not attached (absent when attached or when attaching was not asked for). */
  notAttached?: string;
  /** Absolute path of `dir`. */
  root: string;
}

interface Plan {
  kind: "file" | "folder";
  /** Relative to DIR. */
  files: Set<string>;
  folders: Set<string>;
  /** Metadata keyed by path relative to the parent (`NAME`, `NAME/a.txt`), for the manifest. */
  meta: Record<string, ObjectMeta>;
  /** Metadata keyed by path relative to DIR ("" = DIR itself). */
  metaByObject: Map<string, ObjectMeta>;
  /** Files without a metadata file: the type `zsync add` would give them (sent, and written on attach). */
  guessed: Map<string, ObjectMeta>;
  skipped: SkippedPath[];
}

/** Imports `dir` as the new object `path`; see the module comment. */
export async function importTree(opts: ImportOptions): Promise<ImportResult> {
  const root = resolve(opts.dir);
  const segments = opts.path.split("/").filter((s) => s !== "");
  const name = segments[segments.length - 1];
  if (name === undefined) throw new WcError("bad-url", "the URL must name the object to create (e.g. http://host/folder/NEWNAME), not the repository root", 2);
  if (isReservedName(name)) throw new WcError("reserved-name", `cannot import as ${name}: names starting with @@ are reserved`);
  try {
    checkArchivePath(name);
  } catch (error) {
    if (error instanceof ArchivePathError) throw new WcError("bad-name", `cannot import as ${JSON.stringify(name)}: ${error.message}`);
    throw error;
  }
  const parent = segments.slice(0, -1).join("/");
  const repoPath = segments.join("/");

  const top = await stat(root).catch(() => undefined);
  if (!top) throw new WcError("not-found", `${opts.dir} does not exist; nothing was imported`);
  if (!top.isDirectory() && !top.isFile()) throw new WcError("bad-source", `${opts.dir} is neither a directory nor a regular file; nothing was imported`);

  const plan = top.isDirectory() ? await planTree(root, name) : ({ kind: "file", files: new Set(), folders: new Set(), meta: {}, metaByObject: new Map(), guessed: new Map(), skipped: [] } as Plan);

  // Decide before sending whether attaching can work, so the answer does not depend on timing.
  let notAttached: string | undefined;
  if (opts.attach !== false) {
    if (plan.kind === "file") notAttached = `${opts.dir} is a file; only folders can be checkouts`;
    else {
      const existing = await findWorkingCopy(root).catch(() => undefined);
      if (existing === root) {
        const url = await readConfig(root).then(checkoutUrl, () => "another location");
        notAttached = `${opts.dir} already is a checkout (of ${url}); it stays one`;
      } else if (existing !== undefined) {
        notAttached = `${opts.dir} is inside the checkout at ${existing}; a checkout cannot be nested in another`;
      }
    }
  }

  const imported: ImportResult["imported"] = [];
  const filter = (relPath: string, isDir: boolean) => (isDir ? plan.folders.has(relPath) : plan.files.has(relPath));
  async function* records(): AsyncGenerator<SnarfInput> {
    for await (const record of treeRecords(root, { prefix: name, filter })) {
      const relative = record.path === name ? "" : record.path.slice(name.length + 1);
      imported.push({ path: relative, kind: record.kind === "dir" ? "folder" : "file" });
      yield record;
    }
  }

  let revision: number;
  try {
    ({ revision } = await opts.client.checkin(parent, name, records(), { note: opts.note, meta: plan.meta }));
  } catch (error) {
    if (error instanceof ProtocolError) {
      if (error.status === 403) throw new WcError("forbidden", `${error.message}; nothing was imported`);
      if (error.code === "exists") throw new WcError("exists", `/${repoPath} already exists on the server; nothing was imported`);
      if (error.status === 404) throw new WcError("not-found", `there is no folder /${parent} on the server to import into; nothing was imported`);
      if (error.code === "not-a-folder") throw new WcError("not-a-folder", `/${parent} is not a folder; nothing was imported`);
    }
    throw error;
  }

  const result: ImportResult = {
    revision,
    path: "/" + repoPath,
    kind: plan.kind,
    imported,
    meta: [...plan.metaByObject.keys()].sort(),
    skipped: plan.skipped,
    attached: false,
    root,
  };
  if (opts.attach === false) return result;
  if (notAttached === undefined) notAttached = await attach(opts, root, repoPath, plan);
  if (notAttached === undefined) result.attached = true;
  else result.notAttached = notAttached;
  return result;
}

/** Walks DIR and decides what to send; throws (nothing sent) on names or metadata that cannot go. */
async function planTree(root: string, name: string): Promise<Plan> {
  const ignored = createIgnoreMatcher(root);
  const plan: Plan = { kind: "folder", files: new Set(), folders: new Set(), meta: {}, metaByObject: new Map(), guessed: new Map(), skipped: [] };
  const problems: string[] = [];
  const metaFiles: string[] = [];

  const valid = (rel: string): boolean => {
    try {
      checkArchivePath(joinArchivePath(name, rel));
      return true;
    } catch (error) {
      if (!(error instanceof ArchivePathError)) throw error;
      problems.push(`${rel}: ${isReservedName(basename(rel)) ? "names starting with @@ are reserved" : error.message}`);
      return false;
    }
  };

  const walk = async (relDir: string): Promise<void> => {
    const entries = await readdir(join(root, relDir), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const rel = joinArchivePath(relDir, entry.name);
      if (entry.isSymbolicLink()) {
        if (!ignored(rel, false)) plan.skipped.push({ path: rel, reason: "symlink (never followed)" });
        continue;
      }
      if (entry.name === META_DIR && entry.isDirectory()) {
        await collectMetaFiles(root, rel, metaFiles, plan.skipped);
        continue;
      }
      if (entry.isDirectory()) {
        if (ignored(rel, true)) continue;
        if (!valid(rel)) continue;
        plan.folders.add(rel);
        await walk(rel);
      } else if (entry.isFile()) {
        if (ignored(rel, false)) continue;
        if (!valid(rel)) continue;
        plan.files.add(rel);
      } else if (!ignored(rel, false)) {
        plan.skipped.push({ path: rel, reason: "not a regular file or directory" });
      }
    }
  };
  await walk("");

  for (const file of metaFiles) {
    const object = objectOfMetaFile(file);
    if (object === undefined) {
      plan.skipped.push({ path: file, reason: `not a metadata file (${META_DIR}/ holds NAME.json files)` });
      continue;
    }
    if (object !== "" && !plan.files.has(object) && !plan.folders.has(object)) {
      plan.skipped.push({ path: file, reason: `describes ${object}, which is not imported` });
      continue;
    }
    try {
      const text = await readRegularFile(join(root, file));
      const meta = parseObjectMeta(JSON.parse(text), file);
      if (Object.keys(meta).length === 0) continue;
      plan.metaByObject.set(object, meta);
      plan.meta[joinArchivePath(name, object)] = meta;
    } catch (error) {
      problems.push(`${file}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new WcError("cannot-import", `nothing was imported:\n  ${problems.join("\n  ")}`);
  // A file no metadata file types gets the type `zsync add` would give it.
  for (const file of plan.files) {
    if (plan.metaByObject.has(file)) continue;
    const guess = await guessContentType(root, file);
    if (guess === undefined) continue;
    const meta = guessedMeta(guess, file);
    plan.guessed.set(file, meta);
    plan.meta[joinArchivePath(name, file)] = meta;
  }
  return plan;
}

/** Lists the regular files of one `@@meta` directory (relative to root). */
async function collectMetaFiles(root: string, metaDir: string, into: string[], skipped: SkippedPath[]): Promise<void> {
  const entries = await readdir(join(root, metaDir), { withFileTypes: true });
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const rel = `${metaDir}/${entry.name}`;
    if (entry.isFile()) into.push(rel);
    else skipped.push({ path: rel, reason: entry.isSymbolicLink() ? "symlink (never followed)" : `not a metadata file (${META_DIR}/ holds NAME.json files)` });
  }
}

/** Reads a small regular file without following a symlink that replaced it. */
async function readRegularFile(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | O_NOFOLLOW);
  try {
    const s = await handle.stat();
    if (!s.isFile()) throw new Error("not a regular file");
    if (s.size > MAX_META_FILE_BYTES) throw new Error(`larger than ${MAX_META_FILE_BYTES} bytes`);
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * Makes DIR a checkout of the new object without touching its files: check out next to it,
 * compare, move `.zsync/` over. Returns why it could not, or undefined when it did.
 */
async function attach(opts: ImportOptions, root: string, repoPath: string, plan: Plan): Promise<string | undefined> {
  let temp: string;
  try {
    temp = await mkdtemp(join(dirname(root), `.${basename(root)}.zsync-import-`));
  } catch (error) {
    return `cannot make a temporary checkout next to ${opts.dir}: ${(error as Error).message}`;
  }
  try {
    const co = join(temp, "checkout");
    await checkout({ client: opts.client, origin: opts.origin, path: repoPath, user: opts.user, ca: opts.ca, dir: co });
    const caches = new Map<string, string>();
    const difference = await compareWithCheckout(co, root, plan, caches);
    if (difference) return `${difference}; ${opts.dir} was left as it is (check the object out elsewhere to work on it)`;
    // Fresh stat caches for DIR's own files, so the first status need not read them.
    const entries = await loadEntries(co);
    for (const [path, hash] of caches) {
      const entry = entries.entries.get(path);
      if (entry && entry.hash === hash) {
        const cache = await statCache(join(root, path), hash);
        if (cache) entry.cache = cache;
        else delete entry.cache;
      }
    }
    await saveEntries(co, entries);
    if (await lstat(join(root, ADMIN_DIR)).then(() => true, () => false)) return `${join(opts.dir, ADMIN_DIR)} appeared meanwhile; not attached`;
    // The guessed types' metadata files, as `zsync add` writes them (never over a file that appeared).
    for (const object of plan.guessed.keys()) {
      const metaFile = metaFileOf(object);
      await mkdir(dirname(join(root, metaFile)), { recursive: true });
      await copyFile(join(co, metaFile), join(root, metaFile), constants.COPYFILE_EXCL);
    }
    await rename(join(co, ADMIN_DIR), join(root, ADMIN_DIR));
    return undefined;
  } catch (error) {
    return `could not attach: ${(error as Error).message}`;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * Compares the fresh checkout `co` with DIR: same folders, byte-equal files, equal metadata
 * (as JSON: DIR's `@@meta` files may be formatted differently). Returns the first difference.
 * Records file hashes (path → hash) in `hashes`.
 */
async function compareWithCheckout(co: string, root: string, plan: Plan, hashes: Map<string, string>): Promise<string | undefined> {
  const seenFiles = new Set<string>();
  const seenFolders = new Set<string>();
  const seenMeta = new Set<string>();
  const walk = async (relDir: string): Promise<string | undefined> => {
    for (const entry of await readdir(join(co, relDir), { withFileTypes: true })) {
      if (relDir === "" && entry.name === ADMIN_DIR) continue;
      const rel = joinArchivePath(relDir, entry.name);
      if (entry.name === META_DIR && entry.isDirectory()) {
        for (const file of await readdir(join(co, rel))) {
          const metaFile = `${rel}/${file}`;
          const object = objectOfMetaFile(metaFile);
          if (object === undefined) return `the server's checkout has an unexpected ${metaFile}`;
          const theirs = parseObjectMeta(JSON.parse(await readRegularFile(join(co, metaFile))), metaFile);
          if (!sameMeta(theirs, plan.metaByObject.get(object) ?? plan.guessed.get(object))) return `the server's metadata of ${object || "the new folder"} differs from ${metaFile}`;
          seenMeta.add(object);
        }
        continue;
      }
      const mine = await lstat(join(root, rel)).catch(() => undefined);
      if (entry.isDirectory()) {
        if (!mine?.isDirectory()) return `${rel} is a folder on the server but not in the imported directory`;
        seenFolders.add(rel);
        const inner = await walk(rel);
        if (inner) return inner;
      } else {
        if (!mine?.isFile()) return `${rel} is a file on the server but not in the imported directory`;
        const [theirs, ours] = [await hashFile(join(co, rel)), await hashFile(join(root, rel))];
        if (theirs.hash !== ours.hash) return `${rel} changed while it was imported`;
        hashes.set(rel, ours.hash);
        seenFiles.add(rel);
      }
    }
    return undefined;
  };
  const difference = await walk("");
  if (difference) return difference;
  for (const file of plan.files) if (!seenFiles.has(file)) return `${file} did not arrive on the server`;
  for (const folder of plan.folders) if (!seenFolders.has(folder)) return `${folder} did not arrive on the server`;
  for (const object of [...plan.metaByObject.keys(), ...plan.guessed.keys()]) if (!seenMeta.has(object)) return `the metadata of ${object || "the new folder"} did not arrive on the server`;
  return undefined;
}
