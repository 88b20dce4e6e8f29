/**
 * The admin area `.zsync/` of a checkout: where it is, its layout, its config.
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
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

/** Paths inside the admin area of the checkout rooted at `root`. */
export function adminPaths(root: string) {
  const admin = join(root, ADMIN_DIR);
  return {
    admin,
    format: join(admin, "format"),
    config: join(admin, "config.json"),
    entries: join(admin, "entries.json"),
    pristine: join(admin, "pristine"),
    journal: join(admin, "journal.json"),
    lock: join(admin, "lock"),
    tmp: join(admin, "tmp"),
  };
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
    config = JSON.parse(await readFile(paths.config, "utf8")) as WcConfig;
  } catch (error) {
    throw new WcError("corrupt-admin", `${paths.config} is unreadable or not JSON (${(error as Error).message}); check out again`);
  }
  const ok =
    typeof config?.origin === "string" &&
    (/^https?:\/\/[^/@]+$/.test(config.origin) || /^zsync\+ssh:\/\/[^/@:]+@[^/@]+$/.test(config.origin)) &&
    typeof config.path === "string" &&
    isArchivePath(config.path) &&
    typeof config.repository === "string" &&
    ["empty", "files", "immediates", "infinity"].includes(config.depth);
  if (!ok) throw new WcError("corrupt-admin", `${paths.config} does not have the expected fields; check out again`);
  return config;
}

function isArchivePath(path: string): boolean {
  try {
    checkArchivePath(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes the config atomically. */
export async function writeConfig(root: string, config: WcConfig): Promise<void> {
  await writeFileAtomic(adminPaths(root).config, JSON.stringify(config, null, 2) + "\n");
}

/** The checkout's URL as shown to users: origin + path (no credentials). */
export function checkoutUrl(config: WcConfig): string {
  return `${config.origin}/${config.path}`;
}
