/**
 * OpenSSH known_hosts files: parsing, host matching (plain names, `[host]:port`, comma lists,
 * `*`/`?` wildcards, `!` negation, hashed `|1|salt|hash` entries), key lookup with `@revoked`,
 * and appending a key atomically. Only zsync's own file is ever written.
 */
import { nodeCrypto } from "../../protocol/crypto.js";
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomic } from "../../wc/atomic.js";
import { WcError } from "../../wc/admin.js";

/** One key line of a known_hosts file. */
export interface KnownHostEntry {
  file: string;
  /** 1-based line number. */
  line: number;
  marker?: "revoked" | "cert-authority";
  /** The host field as written (comma list, or one hashed name). */
  hosts: string;
  keyType: string;
  key: Buffer;
}

/** An ssh public key as the server sent it. */
export interface HostKey {
  type: string;
  /** The key blob (ssh wire format). */
  blob: Buffer;
}

/** The name known_hosts uses for a host and port: `host` for 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** Reads the key type out of a key blob (its first ssh string). */
export function hostKeyFromBlob(blob: Buffer): HostKey {
  if (blob.length < 4) throw new Error("short host key");
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) throw new Error("malformed host key");
  return { type: blob.subarray(4, 4 + length).toString("latin1"), blob };
}

/** OpenSSH's fingerprint: `SHA256:` + unpadded base64 of the blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return "SHA256:" + nodeCrypto().createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** The short name OpenSSH prints for a key type (ED25519, ECDSA, RSA, …). */
export function keyTypeLabel(type: string): string {
  if (type === "ssh-ed25519") return "ED25519";
  if (type.startsWith("ecdsa-")) return "ECDSA";
  if (type === "ssh-rsa") return "RSA";
  if (type === "ssh-dss") return "DSA";
  return type.toUpperCase();
}

/** Parses known_hosts text; comments, blank and malformed lines are skipped (as ssh does). */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === "" || fields[0].startsWith("#")) return;
    let marker: KnownHostEntry["marker"];
    if (fields[0].startsWith("@")) {
      const name = fields.shift()!.slice(1);
      if (name !== "revoked" && name !== "cert-authority") return;
      marker = name;
    }
    if (fields.length < 3) return;
    const [hosts, keyType, base64] = fields;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return;
    const key = Buffer.from(base64, "base64");
    if (key.length === 0) return;
    entries.push({ file, line: index + 1, marker, hosts, keyType, key });
  });
  return entries;
}

/**
 * OpenSSH's wildcard match (`*`, `?`), case-insensitive. Greedy with one backtrack point, so
 * O(pattern × name) at worst — a regular expression built from `*a*a*a…b` backtracks
 * exponentially and would hang on a crafted known_hosts line.
 */
function globMatch(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  const n = name.toLowerCase();
  let pi = 0;
  let ni = 0;
  let star = -1;
  let resume = 0;
  while (ni < n.length) {
    if (pi < p.length && (p[pi] === "?" || p[pi] === n[ni])) {
      pi++;
      ni++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      resume = ni;
    } else if (star >= 0) {
      pi = star + 1;
      ni = ++resume;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

/** Whether a known_hosts host field matches `name` (already in `[host]:port` form when needed). */
export function hostFieldMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith("|1|")) {
    const [, , salt64, hash64] = hosts.split("|");
    if (!salt64 || !hash64) return false;
    const expected = Buffer.from(hash64, "base64");
    const actual = nodeCrypto().createHmac("sha1", Buffer.from(salt64, "base64")).update(name).digest();
    return expected.length === actual.length && nodeCrypto().timingSafeEqual(expected, actual);
  }
  let matched = false;
  for (const pattern of hosts.split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatch(pattern.slice(1), name)) return false;
    } else if (globMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/** What the known_hosts files say about a key a host presented. */
export type HostKeyStatus =
  | { status: "known"; entry: KnownHostEntry }
  | { status: "revoked"; entry: KnownHostEntry }
  | { status: "changed"; known: KnownHostEntry[] }
  | { status: "unknown" };

/**
 * Looks the presented key up. A revoked key is refused; a host with keys on file but none equal
 * to the presented one has changed its key (zsync, stricter than ssh, also counts a key of another
 * type as a change: it asks the server for the known types first, see connection.ts).
 */
export function checkHostKey(entries: KnownHostEntry[], name: string, key: HostKey): HostKeyStatus {
  const matching = entries.filter((e) => e.marker !== "cert-authority" && hostFieldMatches(e.hosts, name));
  const same = (e: KnownHostEntry) => e.key.equals(key.blob);
  const revoked = entries.find((e) => e.marker === "revoked" && same(e));
  if (revoked) return { status: "revoked", entry: revoked };
  const known = matching.find((e) => e.marker === undefined && same(e));
  if (known) return { status: "known", entry: known };
  const others = matching.filter((e) => e.marker === undefined);
  return others.length > 0 ? { status: "changed", known: others } : { status: "unknown" };
}

/** Key types on file for a host, to ask the server for those first. */
export function knownKeyTypes(entries: KnownHostEntry[], name: string): string[] {
  return [...new Set(entries.filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, name)).map((e) => e.keyType))];
}

/**
 * Reads known_hosts files. A missing file is empty; any other read error (a directory in its
 * place, no permission, an I/O error) fails closed: trust cannot be decided without the file.
 */
export async function readKnownHosts(files: string[]): Promise<KnownHostEntry[]> {
  const entries: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new WcError("known-hosts-unreadable", `cannot read the known hosts file ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); refusing to connect without it`);
    }
    entries.push(...parseKnownHosts(text, file));
  }
  return entries;
}

/** The known_hosts line for a key: `host type base64` or `[host]:port type base64`. */
export function formatKnownHostLine(name: string, key: HostKey): string {
  return `${name} ${key.type} ${key.blob.toString("base64")}`;
}

/** Appends a key line to `file` atomically (temp file + rename), creating it (0600) and its folder (0700). */
export async function appendKnownHost(file: string, name: string, key: HostKey): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let existing = "";
  try {
    existing = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new WcError("known-hosts-unwritable", `cannot read ${file} to add the host key: ${(error as Error).message}`);
  }
  if (existing && !existing.endsWith("\n")) existing += "\n";
  try {
    await writeFileAtomic(file, existing + formatKnownHostLine(name, key) + "\n", { mode: 0o600 });
  } catch (error) {
    throw new WcError("known-hosts-unwritable", `cannot write the host key to ${file}: ${(error as Error).message}`);
  }
}
