/**
 * The admin area `.zsync/` of a checkout: where it is, its layout, its config.
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { isConflictPolicy, type ConflictPolicy } from "../merge/content-kinds.js";
import { checkArchivePath } from "../protocol/paths.js";
import { writeFileAtomic } from "./atomic.js";

/** Name of the admin directory (fixed by DESIGN.md §3). */
export const ADMIN_DIR = ".zsync";
/** Layout version written to `.zsync/format`. */
export const FORMAT_VERSION = 1;

export type Depth = "empty" | "files" | "immediates" | "infinity";

/** `.zsync/config.json`: where the checkout comes from. Never credentials. */
export interface WcConfig {
  /** Server origin, e.g. `http://127.0.0.1:8080` (no user, no password) or `zsync+ssh://alice@host:22`. */
  origin: string;
  /** Repository path of the checked-out folder, e.g. `demo` ("" for the root). */
  path: string;
  /** User name used at checkout (not a credential; svn keeps it too). */
  user?: string;
  /** Repository uuid, to refuse talking to another repository at the same URL. */
  repository: string;
  depth: Depth;
  /**
   * Absolute path of the CA certificate file (PEM) given with `--ca` at checkout, trusted for
   * this checkout's https:// server besides the system store. A path, never the certificate:
   * replacing the file (a renewed CA) needs no new checkout.
   */
  ca?: string;
  /** Conflict policies by path prefix (`zsync config policy contacts/ theirs`); see docs/CONTENT-TYPES.md. */
  policies?: Record<string, ConflictPolicy>;
}

/** A user-facing error about the working copy, with the exit code it should cause. */
export class WcError extends Error {
  readonly exitCode: number;
  readonly code: string;
  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = "WcError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** adminPaths per root: a checkout asks per file. */
const adminPathsOf = new Map<string, ReturnType<typeof makeAdminPaths>>();

/** Paths inside the admin area of the checkout rooted at `root`. */
export function adminPaths(root: string): ReturnType<typeof makeAdminPaths> {
  let paths = adminPathsOf.get(root);
  if (paths === undefined) adminPathsOf.set(root, (paths = makeAdminPaths(root)));
  return paths;
}

function makeAdminPaths(root: string) {
  const admin = join(root, ADMIN_DIR);
  return Object.freeze({
    admin,
    format: join(admin, "format"),
    config: join(admin, "config.json"),
    /** The index of entries (entries.ts, index-file.ts). */
    index: join(admin, "index"),
    /** What a no-op update needs from the index, naming the index it summarises (index-summary.ts). */
    summary: join(admin, "index-summary"),
    /** The previous format's entries file, upgraded to `index` on first use. */
    entries: join(admin, "entries.json"),
    pristine: join(admin, "pristine"),
    journal: join(admin, "journal.json"),
    lock: join(admin, "lock"),
    tmp: join(admin, "tmp"),
    /** Present while a checkout has not finished (interrupted: `zsync update` finishes it). */
    incomplete: join(admin, "incomplete"),
  });
}

/** Finds the checkout containing `start` (walking up); throws when there is none. */
export async function findWorkingCopy(start: string): Promise<string> {
  let dir = resolve(start);
  for (;;) {
    const isDir = await stat(join(dir, ADMIN_DIR)).then((s) => s.isDirectory(), () => false);
    if (isDir) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new WcError("not-a-working-copy", `${resolve(start)} is not inside a zsync checkout (no ${ADMIN_DIR}/ found)`);
    dir = parent;
  }
}

/** Reads and validates `.zsync/format` and `.zsync/config.json`. */
export async function readConfig(root: string): Promise<WcConfig> {
  const paths = adminPaths(root);
  const format = await readFile(paths.format, "utf8").catch(() => "");
  if (format.trim() !== String(FORMAT_VERSION)) {
    throw new WcError("corrupt-admin", `${paths.format}: unknown checkout format ${JSON.stringify(format.trim())} (this zsync reads format ${FORMAT_VERSION})`);
  }
  let config: WcConfig;
  try {
    const text = await readFile(paths.config, "utf8");
    if (text.length > MAX_CONFIG_CHARS) throw new Error(`larger than ${MAX_CONFIG_CHARS} characters`);
    config = JSON.parse(text) as WcConfig;
  } catch (error) {
    throw new WcError("corrupt-admin", `${paths.config} is unreadable or not JSON (${(error as Error).message}); check out again`);
  }
  const problem = configProblem(config);
  if (problem) throw new WcError("corrupt-admin", `${paths.config} is not valid (${problem}); nothing was done. Check out again`);
  return config;
}

const MAX_CONFIG_CHARS = 64 * 1024;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * What is wrong with a config read from disk, or undefined. The origin must be a bare
 * `http(s)://host[:port]` or `zsync+ssh://[user@]host[:port]` origin: no password, no path, no
 * query — a crafted config must not smuggle credentials or aim requests elsewhere.
 */
export function configProblem(config: unknown): string | undefined {
  if (typeof config !== "object" || config === null || Array.isArray(config)) return "not a JSON object";
  const c = config as Partial<Record<keyof WcConfig, unknown>>;
  if (typeof c.origin !== "string" || c.origin.length > 2048 || CONTROL.test(c.origin)) return "origin must be a URL";
  let url: URL;
  try {
    url = new URL(c.origin);
  } catch {
    return `origin ${JSON.stringify(c.origin)} is not a URL`;
  }
  if (!["http:", "https:", "zsync+ssh:"].includes(url.protocol)) return `origin ${JSON.stringify(c.origin)}: only http, https and zsync+ssh servers`;
  if (url.password || (url.username && url.protocol !== "zsync+ssh:")) return "origin must not carry credentials";
  // Exactly what checkout stores: URL.origin for http(s) (no path, not even "/"), and
  // `zsync+ssh://[user@]host[:port]` for ssh (URL.origin is "null" there).
  const bare = url.protocol === "zsync+ssh:" ? /^zsync\+ssh:\/\/[^/?#]+$/.test(c.origin) : c.origin === url.origin;
  if (!bare || url.search || url.hash) return "origin must be a bare scheme://host[:port], without a path, query or fragment";
  if (typeof c.path !== "string") return "path must be a string";
  try {
    checkArchivePath(c.path);
  } catch (error) {
    return `path: ${(error as Error).message}`;
  }
  if (c.user !== undefined && (typeof c.user !== "string" || c.user.length > 256 || CONTROL.test(c.user))) return "user must be a short string";
  if (typeof c.repository !== "string" || c.repository.length > 256 || CONTROL.test(c.repository)) return "repository must be the repository uuid";
  if (!["empty", "files", "immediates", "infinity"].includes(c.depth as string)) return "depth must be empty, files, immediates or infinity";
  if (c.ca !== undefined && (typeof c.ca !== "string" || !isAbsolute(c.ca) || c.ca.length > 4096 || CONTROL.test(c.ca))) return "ca must be an absolute file path";
  if (c.policies !== undefined) {
    if (typeof c.policies !== "object" || c.policies === null || Array.isArray(c.policies)) return "policies must be an object of path prefix → policy";
    for (const [prefix, policy] of Object.entries(c.policies)) {
      if (prefix.length > 4096 || CONTROL.test(prefix)) return "policies: a path prefix is too long or has control characters";
      if (!isConflictPolicy(policy)) return `policies: ${JSON.stringify(prefix)} has no policy (merge, mine, theirs, newest or error)`;
    }
  }
  return undefined;
}

/** Writes the config atomically. */
export async function writeConfig(root: string, config: WcConfig): Promise<void> {
  await writeFileAtomic(adminPaths(root).config, JSON.stringify(config, null, 2) + "\n");
}

/** The checkout's URL as shown to users: origin + path (no credentials). */
export function checkoutUrl(config: WcConfig): string {
  return `${config.origin}/${config.path}`;
}
