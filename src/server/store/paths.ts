/**
 * Repository path helpers for the store. Repository paths have no leading or trailing slash;
 * "" is the root folder, "a/b" the object "b" inside folder "a".
 */

/**
 * True for a well-formed repository path: "" (the root), or names joined by "/" where no name is
 * empty, "." or "..", and nothing contains a NUL character.
 */
export function isValidPath(path: string): boolean {
  if (path === "") return true;
  if (path.includes("\0")) return false;
  for (const name of path.split("/")) {
    if (name === "" || name === "." || name === "..") return false;
  }
  return true;
}

/** The folder containing `path` ("" for top-level names). Must not be called for the root. */
export function parentPath(path: string): string {
  if (path === "") throw new Error("the root folder has no parent");
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** All strict ancestors of `path`, nearest first, ending with the root "". */
export function ancestorPaths(path: string): string[] {
  const out: string[] = [];
  let p = path;
  while (p !== "") {
    p = parentPath(p);
    out.push(p);
  }
  return out;
}

/** True when `path` lies strictly inside `folder` (the root contains every other path). */
export function isInside(folder: string, path: string): boolean {
  if (folder === "") return path !== "";
  return path.length > folder.length + 1 && path.startsWith(folder) && path[folder.length] === "/";
}

/**
 * Tree order: compares paths segment by segment (names by UTF-16 code units), so every folder
 * comes right before its own descendants and siblings are sorted by name: "a", "a/b", "a-b".
 * Equivalent to comparing `path.split("/")` arrays element-wise, shorter first on a tie.
 */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca === 0x2f) return -1; // "/" ends a's name first: a's name is a prefix of b's name
    if (cb === 0x2f) return 1;
    return ca - cb;
  }
  return a.length - b.length;
}

/** Sorts in place by `comparePaths` of the selected key and returns the array. */
export function sortByPath<T>(items: T[], key: (item: T) => string): T[] {
  return items.sort((x, y) => comparePaths(key(x), key(y)));
}

/**
 * An SQL condition selecting `path` and/or everything inside it, written as an index-friendly
 * range: descendants of "p" are exactly the strings in ["p/", "p0") in binary (byte/C) collation,
 * since "0" is the character right after "/". Never uses LIKE, so user input needs no escaping.
 * `column` must be a trusted identifier (it is interpolated); values are returned as parameters.
 */
export function subtreeCondition(
  column: string,
  path: string,
  opts: { includeSelf: boolean } = { includeSelf: true },
): { sql: string; params: string[] } {
  if (path === "") {
    return opts.includeSelf ? { sql: "1 = 1", params: [] } : { sql: `${column} <> ''`, params: [] };
  }
  const range = `(${column} >= ? AND ${column} < ?)`;
  const lo = `${path}/`;
  const hi = `${path}0`;
  return opts.includeSelf
    ? { sql: `(${column} = ? OR ${range})`, params: [path, lo, hi] }
    : { sql: range, params: [lo, hi] };
}
