/**
 * Bridges between SNARF records and a directory on disk: zsync's `Snarfer.addtree` and
 * `Unsnarfer.unsnarf`, the latter hardened so a hostile archive cannot write outside the
 * target directory.
 */
import { constants } from "node:fs";
import { lstat, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { nodeCrypto } from "./crypto.js";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { ArchivePathError, checkArchivePath, isProtocolPath, joinArchivePath, parentPath } from "./paths.js";
import { SnarfError, type SnarfInput, type SnarfRecord } from "./snarf.js";

const READ_CHUNK_BYTES = 1 << 20;
/** Refuse to open a symlink that replaced a regular file after we listed it. 0 where unsupported. */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Yields the records of the tree at `dir`, like zsync's `addtree`: first the directory record
 * for `prefix` (the root "" without one), then the entries sorted by name (plain string
 * order, so `f1` < `f1~` < `f2`), depth-first, each directory's record before its contents.
 * Symlinks and special files are skipped, never followed. File bodies are opened lazily, one
 * at a time, when the encoder reaches them; a file that changed size since it was listed
 * makes the encoder fail rather than write a corrupt archive.
 *
 * Names are not validated here: one the archive cannot carry (`@@…`, a backslash, …) makes
 * the encoder fail, so leave such names out with `filter`.
 *
 * If `dir` is a regular file, yields just that file under `prefix` (zsync's `add(file, name)`).
 * `dir` itself may be a symlink: the caller chose it. An invalid prefix throws ArchivePathError.
 *
 * @param opts.prefix archive path of `dir` itself (a trailing `/` is accepted, e.g. `top/`)
 * @param opts.filter return false to leave out a path (relative to `dir`, `/`-separated);
 *   a left-out directory is left out with everything in it
 */
export async function* treeRecords(
  dir: string,
  opts: { prefix?: string; filter?: (relPath: string, isDir: boolean) => boolean } = {},
): AsyncGenerator<SnarfInput> {
  const prefix = (opts.prefix ?? "").replace(/\/$/, "");
  checkArchivePath(prefix);
  const filter = opts.filter ?? (() => true);

  const root = await stat(dir);
  if (root.isFile()) {
    if (prefix === "") throw new ArchivePathError(prefix, "a single file needs a non-empty prefix");
    yield fileRecord(dir, prefix, root.size);
    return;
  }
  if (!root.isDirectory()) throw new Error(`${dir} is neither a directory nor a regular file`);
  yield { kind: "dir", path: prefix };
  yield* walk(dir, "");

  async function* walk(absDir: string, relDir: string): AsyncGenerator<SnarfInput> {
    const entries = await readdir(absDir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relPath = joinArchivePath(relDir, entry.name);
      const absPath = join(absDir, entry.name);
      const archivePath = joinArchivePath(prefix, relPath);
      if (entry.isDirectory()) {
        if (!filter(relPath, true)) continue;
        yield { kind: "dir", path: archivePath };
        yield* walk(absPath, relPath);
      } else if (entry.isFile()) {
        if (!filter(relPath, false)) continue;
        yield fileRecord(absPath, archivePath, (await lstat(absPath)).size);
      }
    }
  }
}

function fileRecord(absPath: string, archivePath: string, size: number): SnarfInput {
  return {
    kind: "file",
    path: archivePath,
    size,
    body: async function* () {
      const handle = await open(absPath, constants.O_RDONLY | O_NOFOLLOW);
      // The stream closes the handle when it ends or is destroyed.
      yield* handle.createReadStream({ highWaterMark: READ_CHUNK_BYTES }) as AsyncIterable<Buffer>;
    },
  };
}

/**
 * Extracts records into `dir` (created if missing), like zsync's unsnarf made safe:
 * directories are created, files written by streaming into a temporary file in the same
 * directory that is then renamed over the target (so a failed extraction never leaves a
 * half-written file). Every path is re-checked; extraction stops with {@link SnarfError} on
 * an invalid path, on a symlink anywhere in the chain of directories below `dir` leading to
 * a target, and where a file stands in the way of a directory or vice versa. Protocol
 * records (`@@zsync/…`) are not extracted; their bodies are skipped.
 *
 * @returns the archive paths written (directories and files, in archive order; not the root "")
 */
export async function extractRecords(records: AsyncIterable<SnarfRecord>, dir: string): Promise<string[]> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  /** Archive paths of directories known to be real directories (not symlinks) inside root. */
  const verifiedDirs = new Set<string>([""]);
  const written: string[] = [];

  for await (const record of records) {
    if (isProtocolPath(record.path)) {
      for await (const _ of record.body); // skip
      continue;
    }
    const target = targetPath(root, record.path);
    if (record.kind === "dir") {
      await ensureDirectory(root, record.path, verifiedDirs);
      if (record.path !== "") written.push(record.path);
      continue;
    }
    if (record.path === "") throw new SnarfError("file record with the empty (root) path");
    await ensureDirectory(root, parentPath(record.path), verifiedDirs);
    await writeFileAtomically(target, record);
    written.push(record.path);
  }
  return written;
}

/** The filesystem path of an archive path, refusing anything that could leave `root`. */
function targetPath(root: string, path: string): string {
  try {
    checkArchivePath(path);
  } catch (error) {
    if (error instanceof ArchivePathError) throw new SnarfError(`refusing to extract: ${error.message}`, { cause: error });
    throw error;
  }
  // Windows would treat these as drive or stream separators (zsync rejected them there too).
  if (process.platform === "win32" && path.includes(":")) {
    throw new SnarfError(`refusing to extract ${JSON.stringify(path)}: ':' is not allowed on Windows`);
  }
  const target = join(root, ...path.split("/"));
  const rel = relative(root, target);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new SnarfError(`refusing to extract ${JSON.stringify(path)}: it resolves outside the target directory`);
  }
  return target;
}

/**
 * Makes archive directory `path` exist below `root`, component by component, refusing to
 * pass through symlinks (which could point anywhere) or non-directories.
 */
async function ensureDirectory(root: string, path: string, verifiedDirs: Set<string>): Promise<void> {
  if (verifiedDirs.has(path)) return;
  await ensureDirectory(root, parentPath(path), verifiedDirs);
  const abs = targetPath(root, path);
  const existing = await lstat(abs).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing === undefined) {
    await mkdir(abs);
  } else if (existing.isSymbolicLink()) {
    throw new SnarfError(`refusing to extract through ${JSON.stringify(path)}: it is a symlink`);
  } else if (!existing.isDirectory()) {
    throw new SnarfError(`cannot create directory ${JSON.stringify(path)}: a non-directory is in the way`);
  }
  verifiedDirs.add(path);
}

/** Streams a record body into a fresh temp file next to `target`, then renames it into place. */
async function writeFileAtomically(target: string, record: SnarfRecord): Promise<void> {
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new SnarfError(`cannot write file ${JSON.stringify(record.path)}: a directory is in the way`);
  }
  // Short fixed-length name, so a 255-byte target name cannot make it too long; "wx" fails
  // if the name exists, so the temp file can never be a planted symlink.
  const temp = join(dirname(target), `.snarf-${nodeCrypto().randomBytes(8).toString("hex")}.tmp`);
  let written = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of record.body) {
      written += chunk.length;
      yield chunk;
    }
  }
  // Created before the body is read: a write stream opens its file in the background, so a body
  // that failed at once could be cleaned up before the file existed, which was then left behind.
  const handle = await open(temp, "wx");
  try {
    await pipeline(counted(), handle.createWriteStream());
    if (written !== record.size) {
      throw new SnarfError(`body of ${JSON.stringify(record.path)} has ${written} bytes, declared size is ${record.size}`);
    }
    // rename replaces a symlink at `target` itself rather than writing through it.
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
