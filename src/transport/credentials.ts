/**
 * Where a command's password comes from: the URL given on this command line, `--password`,
 * `ZSYNC_PASSWORD`, or a prompt on a TTY. Passwords are never written to disk (stored login
 * tokens: client-auth.ts).
 */
import { checkArchivePath } from "../protocol/paths.js";
import { WcError } from "../wc/admin.js";

/** A server URL split into origin, repository path and credentials. */
export interface ParsedUrl {
  origin: string;
  path: string;
  user?: string;
  password?: string;
}

/** Parses `http://user:pw@host:port/path` (http and https only for now). */
export function parseServerUrl(url: string): ParsedUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WcError("bad-url", `not a URL: ${url}`, 2);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new WcError("bad-url", `unsupported URL scheme ${parsed.protocol} (use http://, https:// or zsync+ssh://)`, 2);
  }
  const bad = (): never => {
    throw new WcError("bad-url", `bad repository path in ${url}`, 2);
  };
  // `new URL` already resolved `..` and `%2e%2e`: look at what was typed (as `new URL` reads it:
  // outer controls and spaces trimmed, tabs and line feeds dropped, `\` is `/`), so a URL is
  // never silently re-aimed.
  const typed = url.replace(/^[\0-\x20]+|[\0-\x20]+$/g, "").replace(/[\t\n\r]/g, "").split(/[?#]/)[0].split(/[/\\]/).map((s) => decodeOrUndefined(s) ?? s);
  if (typed.some((s) => s === "." || s === "..")) bad();
  const segments = parsed.pathname.split("/").filter(Boolean).map((s) => decodeOrUndefined(s) ?? bad());
  const path = segments.join("/");
  // No encoded `/` or `\`, no `@@` (views, protocol) and a valid archive path (NUL, `.zsync`, …).
  if (segments.some((s) => /[/\\]/.test(s) || s.startsWith("@@"))) bad();
  try {
    checkArchivePath(path);
  } catch {
    bad();
  }
  const decode = (part: string) => {
    const decoded = decodeOrUndefined(part);
    if (decoded === undefined) throw new WcError("bad-url", `bad percent-encoding in the user name or password of ${url}`, 2);
    return decoded;
  };
  return {
    origin: parsed.origin,
    path,
    user: parsed.username ? decode(parsed.username) : undefined,
    password: parsed.password ? decode(parsed.password) : undefined,
  };
}

function decodeOrUndefined(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Finds the password for `user`, prompting only on a TTY and only when interactive. */
export async function resolvePassword(opts: { user?: string; password?: string; interactive: boolean; server?: string }): Promise<string | undefined> {
  if (opts.user === undefined) return undefined;
  if (opts.password !== undefined) return opts.password;
  if (process.env.ZSYNC_PASSWORD !== undefined) return process.env.ZSYNC_PASSWORD;
  if (opts.interactive && process.stdin.isTTY && process.stderr.isTTY) {
    const { password } = await import("@inquirer/prompts");
    return password({ message: `Password for ${opts.user}${opts.server ? ` at ${opts.server}` : ""}:`, mask: "*" }, { output: process.stderr });
  }
  throw new WcError("no-password", `a password for ${opts.user} is needed: run \`zsync login\`, pass --password, set ZSYNC_PASSWORD, or run on a terminal to be asked`);
}
