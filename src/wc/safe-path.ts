/**
 * Keeping every file operation inside the checkout: a path from the server, the journal or the
 * entries is joined to the checkout root only after each of its ancestor folders (below the
 * root) was found, with lstat, to be a real directory — never a symbolic link, which could
 * point anywhere (`link -> /etc`, then the server sends `link/passwd`).
 *
 * The root itself may be reached through symlinks (the user chose where the checkout lives);
 * the last component may be a symlink too: the journal never writes through it (it renames a
 * replacement over it, or moves it aside), and reads use lstat / O_NOFOLLOW.
 */
import { lstatSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isAdminName, isPlainArchivePath } from "../protocol/paths.js";
import { WcError } from "./admin.js";

/**
 * Why `path` is not a well-formed checkout path (relative, `/`-separated, no empty, `.` or `..`
 * component, no backslash or NUL, nothing in `.zsync/`), or undefined when it is. Pure: no disk.
 * Not checkArchivePath: working paths also name `@@meta/…` files and conflict artifacts.
 */
export function checkoutPathProblem(path: unknown): string | undefined {
  // A plain archive path breaks none of the rules below (the common case, in one pass).
  if (path === "" || (typeof path === "string" && isPlainArchivePath(path))) return undefined;
  if (typeof path !== "string" || path.startsWith("/") || /[\\\0]/.test(path)) return `${JSON.stringify(path)} is not a relative checkout path`;
  const components = path.split("/");
  if (components.some((c) => c === "" || c === "." || c === "..")) return `${JSON.stringify(path)} has an empty, '.' or '..' component`;
  if (components.some(isAdminName)) return `${JSON.stringify(path)} names the checkout's admin area .zsync`;
  return undefined;
}

/** Why a checkout path cannot be used (see {@link checkoutPathProblem}, plus no symlinked ancestor), or undefined when it can. */
export function unsafeCheckoutPath(root: string, path: string): string | undefined {
  if (path === "") return undefined;
  const problem = checkoutPathProblem(path);
  if (problem) return problem;
  const components = path.split("/");
  let dir = root;
  for (const component of components.slice(0, -1)) {
    dir = join(dir, component);
    let stats;
    try {
      stats = lstatSync(dir);
    } catch {
      return undefined; // a missing ancestor: whatever creates it creates a real directory
    }
    if (stats.isSymbolicLink()) return `${JSON.stringify(path)} lies beyond the symbolic link ${JSON.stringify(dir.slice(root.length + 1))}, which zsync never follows`;
    if (!stats.isDirectory()) return undefined; // a file where a folder should be: callers handle obstructions
  }
  return undefined;
}

/**
 * A checker like {@link unsafeCheckoutPath} for many paths in one go (a checkout's 20,000 files):
 * each ancestor folder is lstat'ed once, not once per path below it. Use one per phase — a folder
 * found real stays trusted for the checker's lifetime, so make a new one before touching the disk
 * after a pause (planning, then receiving) in which a symlink could have replaced it.
 */
export function checkoutPathChecker(root: string): (path: string) => string | undefined {
  /** Folders (relative paths) found to be real directories, or missing / not a folder (nothing to follow). */
  const fine = new Set<string>([""]);
  /** Folders found to be symbolic links. */
  const links = new Set<string>();
  return (path) => {
    if (path === "") return undefined;
    const problem = checkoutPathProblem(path);
    if (problem) return problem;
    const cut = path.lastIndexOf("/");
    if (cut < 0) return undefined;
    const parent = path.slice(0, cut);
    if (fine.has(parent)) return undefined;
    let at = 0;
    for (;;) {
      const next = path.indexOf("/", at);
      if (next < 0 || next > cut) break;
      const dir = path.slice(0, next);
      at = next + 1;
      if (links.has(dir)) return `${JSON.stringify(path)} lies beyond the symbolic link ${JSON.stringify(dir)}, which zsync never follows`;
      if (fine.has(dir)) continue;
      let stats;
      try {
        stats = lstatSync(join(root, dir));
      } catch {
        // A missing ancestor: whatever creates it creates a real directory (mkdir steps and
        // writes make real folders, and move aside anything else found in their place).
        fine.add(dir);
        continue;
      }
      if (stats.isSymbolicLink()) {
        links.add(dir);
        return `${JSON.stringify(path)} lies beyond the symbolic link ${JSON.stringify(dir)}, which zsync never follows`;
      }
      if (!stats.isDirectory()) return undefined; // a file where a folder should be: callers handle obstructions
      fine.add(dir);
    }
    return undefined;
  };
}

/**
 * Throws a {@link WcError} (`unsafe-path`) unless `path` stays inside the checkout at `root`
 * without passing through a symbolic link. `what` says where the path came from.
 */
export function assertSafeCheckoutPath(root: string, path: string, what: string): void {
  const problem = unsafeCheckoutPath(root, path);
  if (problem) throw new WcError("unsafe-path", `${what}: ${problem}; refused, nothing was written`);
}

/**
 * Reads a file of the checkout, refusing (synchronously, so a `.catch()` meant for a missing
 * file cannot swallow it) a path that lies beyond a symbolic link: a link made inside a checkout
 * must not make zsync read, and then show, diff or copy, a file from outside it.
 */
export function readCheckoutFile(root: string, path: string): Promise<Buffer>;
export function readCheckoutFile(root: string, path: string, encoding: "utf8"): Promise<string>;
export function readCheckoutFile(root: string, path: string, encoding?: "utf8"): Promise<Buffer | string> {
  const problem = unsafeCheckoutPath(root, path);
  if (problem) throw new WcError("unsafe-path", `${problem}; refused, nothing was read`);
  return encoding ? readFile(join(root, path), encoding) : readFile(join(root, path));
}
