/**
 * The ssh endpoint's host key: the file `--ssh-host-key` names, or DATA_DIR/ssh_host_ed25519_key,
 * generated on first start (mode 0600, with its `.pub` beside it) and reused after, so clients'
 * known_hosts entries stay valid across restarts.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import ssh2 from "ssh2";
import { sshFingerprint } from "./authorized-keys.js";

const { utils } = ssh2;

/** The default host key file name inside the data directory. */
export const DEFAULT_HOST_KEY_NAME = "ssh_host_ed25519_key";

/** A loaded host key. */
export interface HostKey {
  /** The private key file's contents, as ssh2's Server takes it. */
  privateKey: Buffer;
  /** `TYPE BASE64` (what a known_hosts line needs after the host name). */
  publicKey: string;
  /** `SHA256:…` like `ssh-keygen -lf`. */
  fingerprint: string;
  file: string;
  /** True when this start created the key. */
  generated: boolean;
}

/** Loads the host key `file` (or the data directory's default one, generating it when absent). */
export async function loadHostKey(dataDir: string, options: { file?: string } = {}): Promise<HostKey> {
  const file = options.file ?? join(dataDir, DEFAULT_HOST_KEY_NAME);
  let privateKey: Buffer;
  let generated = false;
  try {
    privateKey = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || options.file !== undefined) {
      throw new Error(`cannot read the ssh host key ${file}: ${(error as Error).message}`);
    }
    // `--store sqlite:ELSEWHERE` never made the data directory: make it (0700, it holds a private key).
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const pair = generateEd25519Pair();
    privateKey = Buffer.from(pair.private);
    // "wx": never overwrite a key another process wrote meanwhile.
    await writeFile(file, privateKey, { mode: 0o600, flag: "wx" });
    await chmod(file, 0o600);
    await writeFile(`${file}.pub`, pair.public + "\n", { mode: 0o644 });
    generated = true;
  }
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`the ssh host key ${file} cannot be used: ${parsed.message}`);
  if (!parsed.isPrivateKey()) throw new Error(`the ssh host key ${file} is a public key; give the private key file`);
  const blob = parsed.getPublicSSH();
  return { privateKey, publicKey: `${parsed.type} ${blob.toString("base64")}`, fingerprint: sshFingerprint(blob), file, generated };
}

/**
 * A fresh ed25519 pair that ssh2 itself can read back. ssh2 1.17's generator strips leading zero
 * bytes of the public key, so about one key in 256 is malformed (mscdex/ssh2#1513); such a pair
 * is thrown away and another made.
 */
export function generateEd25519Pair(): { private: string; public: string } {
  for (let attempt = 0; attempt < 64; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", { comment: "zsync-server host key" });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error("could not generate a usable ed25519 host key");
}
