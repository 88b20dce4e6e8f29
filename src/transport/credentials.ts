/**
 * Where a command's password comes from: the URL given on this command line, `--password`,
 * `ZSYNC_PASSWORD`, or a prompt on a TTY. Passwords are never written to disk (stored login
 * tokens: client-auth.ts).
 */
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
  const segments = parsed.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (segments.some((s) => s === "." || s === ".." || s.startsWith("@@"))) throw new WcError("bad-url", `bad repository path in ${url}`, 2);
  return {
    origin: parsed.origin,
    path: segments.join("/"),
    user: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

/** Finds the password for `user`, prompting only on a TTY and only when interactive. */
export async function resolvePassword(opts: { user?: string; password?: string; interactive: boolean }): Promise<string | undefined> {
  if (opts.user === undefined) return undefined;
  if (opts.password !== undefined) return opts.password;
  if (process.env.ZSYNC_PASSWORD !== undefined) return process.env.ZSYNC_PASSWORD;
  if (opts.interactive && process.stdin.isTTY && process.stderr.isTTY) {
    const { password } = await import("@inquirer/prompts");
    return password({ message: `Password for ${opts.user}:`, mask: "*" }, { output: process.stderr });
  }
  throw new WcError("no-password", `a password for ${opts.user} is needed: run \`zsync login\`, pass --password, set ZSYNC_PASSWORD, or run on a terminal to be asked`);
}
