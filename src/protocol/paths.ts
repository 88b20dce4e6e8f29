/**
 * Rules for paths inside SNARF archives (and, more generally, object paths on the wire).
 *
 * An archive path is relative and `/`-separated; it names an object below the archive's
 * root. The empty path "" is the root itself. Directory-ness is not part of the path: the
 * SNARF codec adds and strips the trailing `/` of directory records.
 */

/** First component of the paths the protocol reserves for itself (`@@zsync/manifest.json`). */
const PROTOCOL_COMPONENT = "@@zsync";

/** Name of a checkout's admin folder (DESIGN.md §3): no object may be called that. */
const ADMIN_COMPONENT = ".zsync";

/** Longest object name, in UTF-8 bytes (the usual file system limit). */
export const MAX_COMPONENT_BYTES = 255;
/** Longest object path, in UTF-8 bytes (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/** Thrown by {@link checkArchivePath} for a path that may not appear in an archive. */
export class ArchivePathError extends Error {
  override name = "ArchivePathError";

  /**
   * @param path the offending path
   * @param reason what is wrong with it
   */
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`invalid archive path ${JSON.stringify(path)}: ${reason}`);
  }
}

/**
 * Throws {@link ArchivePathError} unless `path` is a valid archive path:
 * relative (no leading `/`), `/`-separated, without empty (`a//b`, trailing `/`), `.` or
 * `..` components, without backslash, NUL, LF or lone surrogates, each component at most
 * 255 UTF-8 bytes and the whole at most 4096, no component that a file system may take for
 * the checkout's admin folder `.zsync` (any case; see {@link isAdminName}: it would land in or
 * fake a checkout's admin area), and no component starting with `@@` — except
 * that the first component may be the protocol's own `@@zsync` (e.g. `@@zsync/manifest.json`),
 * whose remainder follows the same rules.
 *
 * The empty path "" is valid: it means the root.
 */
export function checkArchivePath(path: string): void {
  if (typeof path !== "string") throw new ArchivePathError(String(path), "not a string");
  if (path === "" || isPlainArchivePath(path)) return;
  const fail = (reason: string): never => {
    throw new ArchivePathError(path, reason);
  };
  if (path.startsWith("/")) fail("absolute paths are not allowed");
  if (path.includes("\\")) fail("backslash is not allowed");
  if (path.includes("\0")) fail("NUL is not allowed");
  if (path.includes("\n")) fail("line feed is not allowed");
  // A lone surrogate cannot be encoded as UTF-8; it would silently become U+FFFD.
  if (/\p{Cs}/u.test(path)) fail("not valid Unicode (lone surrogate)");
  if (Buffer.byteLength(path, "utf8") > MAX_PATH_BYTES) fail(`longer than ${MAX_PATH_BYTES} UTF-8 bytes`);
  const components = path.split("/");
  components.forEach((component, index) => {
    if (component === "") fail("empty path component (leading, trailing or doubled '/')");
    if (component === "." || component === "..") fail(`'${component}' components are not allowed`);
    if (Buffer.byteLength(component, "utf8") > MAX_COMPONENT_BYTES) {
      fail(`component longer than ${MAX_COMPONENT_BYTES} UTF-8 bytes`);
    }
    if (isAdminName(component)) fail(`component ${JSON.stringify(component)} is reserved for the checkout's admin folder`);
    if (isReservedName(component) && !(index === 0 && component === PROTOCOL_COMPONENT)) {
      fail(`component ${JSON.stringify(component)} starts with the reserved '@@'`);
    }
  });
}

/** Printable ASCII without backslash: one UTF-8 byte per character, no NUL, LF or surrogate. */
const PLAIN_CHARACTERS = /^[\x20-\x5b\x5d-\x7e]*$/;

/**
 * The common case of {@link checkArchivePath} in one pass, as a checkout validates every path of
 * a large tree several times: true only for a valid path of plain characters whose components
 * start with neither `.` nor `@@` (those, and anything else, get the full check and its message).
 */
export function isPlainArchivePath(path: string): boolean {
  if (path.length > MAX_PATH_BYTES || !PLAIN_CHARACTERS.test(path)) return false;
  for (let start = 0; ; ) {
    const slash = path.indexOf("/", start);
    const end = slash < 0 ? path.length : slash;
    const first = path.charCodeAt(start);
    // Empty, too long, `.`-led (`.`, `..`, `.zsync…`) or `@@`-led.
    if (end === start || end - start > MAX_COMPONENT_BYTES || first === 46 || (first === 64 && path.charCodeAt(start + 1) === 64)) return false;
    if (slash < 0) return true;
    start = slash + 1;
  }
}

/** True for the protocol's own paths: `@@zsync` and everything under `@@zsync/`. */
export function isProtocolPath(path: string): boolean {
  return path === PROTOCOL_COMPONENT || path.startsWith(PROTOCOL_COMPONENT + "/");
}

/** Joins two archive paths; either may be "" (the root), e.g. `join("", "a") === "a"`. */
export function joinArchivePath(a: string, b: string): string {
  if (a === "") return b;
  if (b === "") return a;
  return `${a}/${b}`;
}

/** The parent of an archive path: "" for a top-level name (and for "" itself). */
export function parentPath(p: string): string {
  const slash = p.lastIndexOf("/");
  return slash === -1 ? "" : p.slice(0, slash);
}

/** The last component of an archive path ("" for the root). */
export function baseName(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

/** True for a single object name starting with `@@`, which the protocol reserves. */
export function isReservedName(name: string): boolean {
  return name.startsWith("@@");
}

/**
 * True for a name a file system may treat as `.zsync`, the checkout's admin folder: any case
 * (case-insensitive volumes), any Unicode normalization, and with default-ignorable code points
 * (zero-width joiners…) removed, which HFS+ ignores — git's CVE-2014-9390 lesson.
 */
export function isAdminName(name: string): boolean {
  // Fast path: most names are ASCII, and only ASCII names of 6+ characters can fold to `.zsync`.
  const ascii = /^[\x20-\x7e]*$/.test(name);
  if (ascii && name.length < ADMIN_COMPONENT.length) return false;
  const folded = (ascii ? name : name.normalize("NFKC").replace(/\p{Default_Ignorable_Code_Point}/gu, "")).toLowerCase();
  return folded === ADMIN_COMPONENT || folded.replace(/[. ]+$/, "") === ADMIN_COMPONENT;
}
