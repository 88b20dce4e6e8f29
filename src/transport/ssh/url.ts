/**
 * `zsync+ssh://[user@]host[:port]/path` URLs: parsing, and the origin a checkout stores
 * (`zsync+ssh://user@host:port`, never a secret).
 */
import { WcError } from "../../wc/admin.js";

/** The URL scheme of the ssh transport. */
export const SSH_SCHEME = "zsync+ssh:";

/** A parsed `zsync+ssh://` URL. `host` is as written (it may be a ~/.ssh/config alias). */
export interface SshUrl {
  host: string;
  /** Port from the URL; undefined when the URL has none (then ~/.ssh/config, else 22). */
  port?: number;
  user?: string;
  /** A password given in the URL: for this one command's password login, never stored. */
  password?: string;
  /** Repository path (no leading slash, "" for the root). */
  path: string;
}

/** True for `zsync+ssh://…` URLs (and stored ssh origins). */
export function isSshUrl(url: string): boolean {
  return url.toLowerCase().startsWith("zsync+ssh://");
}

/** Parses a `zsync+ssh://` URL; bad URLs are usage errors (exit code 2). */
export function parseSshUrl(url: string): SshUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WcError("bad-url", `not a URL: ${url}`, 2);
  }
  if (parsed.protocol !== SSH_SCHEME || !parsed.hostname) throw new WcError("bad-url", `not a zsync+ssh://[user@]host[:port]/path URL: ${url}`, 2);
  if (parsed.search || parsed.hash) throw new WcError("bad-url", `a zsync+ssh:// URL has no query or fragment: ${url}`, 2);
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new WcError("bad-url", `malformed %-escape in ${url}`, 2);
    }
  };
  const segments = parsed.pathname.split("/").filter(Boolean).map(decode);
  if (segments.some((s) => s === "." || s === ".." || s.startsWith("@@"))) throw new WcError("bad-url", `bad repository path in ${url}`, 2);
  const port = parsed.port ? Number(parsed.port) : undefined;
  if (port !== undefined && !(port >= 1 && port <= 65535)) throw new WcError("bad-url", `bad port in ${url}`, 2);
  return {
    host: parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname,
    port,
    user: parsed.username ? decode(parsed.username) : undefined,
    ...(parsed.password ? { password: decode(parsed.password) } : {}),
    path: segments.join("/"),
  };
}

/** The origin a checkout stores and reconnects through: `zsync+ssh://user@host:port`. */
export function sshOrigin(target: { host: string; port: number; user: string }): string {
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `zsync+ssh://${encodeURIComponent(target.user)}@${host}:${target.port}`;
}
