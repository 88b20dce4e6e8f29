/**
 * Reads ssh public keys in authorized_keys format (`TYPE BASE64 [COMMENT]`, one per line) into
 * the store's key records, and computes their fingerprints as `ssh-keygen -lf` prints them.
 */
import { createHash } from "node:crypto";
import ssh2 from "ssh2";

const { utils } = ssh2;

/** A public key ready to be stored for an account. */
export interface PublicKeyRecord {
  /** `SHA256:…`, unpadded base64 of the blob's SHA-256, like `ssh-keygen -lf`. */
  fingerprint: string;
  /** e.g. ssh-ed25519 */
  type: string;
  /** The key blob, base64. */
  data: string;
  comment: string;
}

/** Thrown for text that is not a list of ssh public keys; the message says which line and why. */
export class PublicKeyFormatError extends Error {}

/** The fingerprint of a public key blob. */
export function sshFingerprint(blob: Buffer): string {
  return "SHA256:" + createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/**
 * Parses authorized_keys-format text: blank lines and `#` comments are skipped, anything else must
 * be one public key. Private keys, key options (`from=…`, `command=…`, which this server would not
 * enforce) and garbage are refused, naming the line.
 */
export function parseAuthorizedKeys(text: string, options: { source?: string } = {}): PublicKeyRecord[] {
  const source = options.source ?? "input";
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new PublicKeyFormatError(`${source} holds a private key; give the public key (the .pub file) instead`);
  }
  const keys: PublicKeyRecord[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const where = `${source} line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length < 2 || !/^[A-Za-z0-9+/]+={0,2}$/.test(fields[1])) {
      const hint = /^[a-z0-9-]+=|^(no-|restrict|cert-authority)/i.test(fields[0])
        ? "key options (from=, command=, …) are not supported"
        : "expected `TYPE BASE64 [COMMENT]`";
      throw new PublicKeyFormatError(`${where} is not an ssh public key: ${hint}`);
    }
    const parsed = utils.parseKey(`${fields[0]} ${fields[1]}`);
    if (parsed instanceof Error) throw new PublicKeyFormatError(`${where} is not an ssh public key: ${parsed.message}`);
    if (parsed.isPrivateKey()) throw new PublicKeyFormatError(`${where} is a private key; give the public key instead`);
    const blob = parsed.getPublicSSH();
    keys.push({ fingerprint: sshFingerprint(blob), type: parsed.type, data: blob.toString("base64"), comment: fields.slice(2).join(" ") });
  });
  if (keys.length === 0) throw new PublicKeyFormatError(`${source} holds no ssh public key`);
  return keys;
}
