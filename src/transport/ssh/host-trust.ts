/**
 * Host key trust with OpenSSH semantics: a known key connects silently; an unknown one is asked
 * about on a terminal (type and SHA256 fingerprint, yes/no) or stored with --accept-new-host-key;
 * a changed or revoked key is refused with no override but editing the file.
 */
import { join } from "node:path";
import { WcError } from "../../wc/admin.js";
import { appendKnownHost, checkHostKey, fingerprint, hostKeyFromBlob, keyTypeLabel, knownHostName, knownKeyTypes, readKnownHosts, type HostKey, type KnownHostEntry } from "./known-hosts.js";
import { homeDir } from "./ssh-config.js";

/** Which known_hosts files are read and which one is written. */
export interface KnownHostsFiles {
  read: string[];
  write: string;
}

/**
 * `--known-hosts FILE` / `ZSYNC_KNOWN_HOSTS` replace both defaults; otherwise ~/.ssh/known_hosts
 * (read only: it belongs to OpenSSH) and ~/.ssh/zsync_known_hosts (read and written).
 */
export function knownHostsFiles(opts: { knownHosts?: string }): KnownHostsFiles {
  const chosen = opts.knownHosts ?? process.env.ZSYNC_KNOWN_HOSTS;
  if (chosen) return { read: [chosen], write: chosen };
  const ssh = join(homeDir(), ".ssh");
  return { read: [join(ssh, "known_hosts"), join(ssh, "zsync_known_hosts")], write: join(ssh, "zsync_known_hosts") };
}

/** Options of a host key decision. */
export interface HostTrustOptions {
  /** Host name as connected to (after ~/.ssh/config) and port. */
  host: string;
  port: number;
  files: KnownHostsFiles;
  /** Store an unknown key without asking. */
  acceptNew: boolean;
  /** A terminal to ask on (stdin and stderr are TTYs and --non-interactive is off). */
  interactive: boolean;
  /** Runs around a prompt (the connect timer must not run while a person reads). */
  duringPrompt?: <T>(work: () => Promise<T>) => Promise<T>;
}

/** What is known before connecting: the entries, and the key types to ask the server for first. */
export interface HostTrust {
  entries: KnownHostEntry[];
  preferredKeyTypes: string[];
  /** Decides on the key the server presented; resolves when trusted, throws a WcError when not. */
  verify(blob: Buffer): Promise<void>;
}

function changedMessage(name: string, key: HostKey, known: KnownHostEntry[]): string {
  const bar = "@".repeat(59);
  const where = known.map((e) => `${e.file}:${e.line}`).join(", ");
  return [
    "",
    bar,
    "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
    bar,
    "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
    "Someone could be eavesdropping on you right now (man-in-the-middle attack)!",
    "It is also possible that a host key has just been changed.",
    `The ${keyTypeLabel(key.type)} key sent by the remote host ${name} has fingerprint ${fingerprint(key.blob)}.`,
    `The key on file for ${name} (${known.map((e) => keyTypeLabel(e.keyType)).join(", ")}) is in ${where}.`,
    `Host key verification failed; nothing was sent. If the server's key really changed, remove the old line (ssh-keygen -R '${name}' -f ${known[0].file}) and connect again.`,
  ].join("\n");
}

async function askYesNo(name: string, key: HostKey): Promise<boolean> {
  const print = `${fingerprint(key.blob)}`;
  process.stderr.write(`The authenticity of host '${name}' can't be established.\n${keyTypeLabel(key.type)} key fingerprint is ${print}.\n`);
  const { input } = await import("@inquirer/prompts");
  const answer = await input(
    {
      message: "Are you sure you want to continue connecting (yes/no/[fingerprint])?",
      validate: (value) => /^(yes|no)$/i.test(value.trim()) || value.trim() === print || "Please type 'yes', 'no' or the fingerprint.",
    },
    { output: process.stderr },
  );
  return /^yes$/i.test(answer.trim()) || answer.trim() === print;
}

/** Reads the known_hosts files (failing closed) and prepares the decision for one host. */
export async function loadHostTrust(opts: HostTrustOptions): Promise<HostTrust> {
  const entries = await readKnownHosts(opts.files.read);
  const name = knownHostName(opts.host, opts.port);
  // ssh2 asks again at every re-key of the connection: the key verified first is the only one
  // that may follow (a different one is a change, whatever the files say).
  let verified: Buffer | undefined;
  return {
    entries,
    preferredKeyTypes: knownKeyTypes(entries, name),
    async verify(blob) {
      if (verified) {
        if (verified.equals(blob)) return;
        throw new WcError("host-key-changed", `${name} presented another host key (${fingerprint(blob)}) in the middle of the connection; refusing to go on`);
      }
      await decide(blob);
      verified = Buffer.from(blob);
    },
  };

  async function decide(blob: Buffer): Promise<void> {
    let key: HostKey;
    try {
      key = hostKeyFromBlob(blob);
    } catch (error) {
      throw new WcError("host-key-malformed", `${name} sent a malformed host key (${(error as Error).message}); refusing to connect`);
    }
    const found = checkHostKey(entries, name, key);
    if (found.status === "known") return;
    if (found.status === "revoked") {
      throw new WcError("host-key-revoked", `the ${keyTypeLabel(key.type)} host key of ${name} (${fingerprint(key.blob)}) is marked @revoked in ${found.entry.file}:${found.entry.line}; refusing to connect`);
    }
    if (found.status === "changed") throw new WcError("host-key-changed", changedMessage(name, key, found.known));
    const describe = `${keyTypeLabel(key.type)} key fingerprint ${fingerprint(key.blob)}`;
    if (opts.acceptNew) {
      await appendKnownHost(opts.files.write, name, key);
      process.stderr.write(`zsync: permanently added '${name}' (${keyTypeLabel(key.type)}, ${fingerprint(key.blob)}) to ${opts.files.write}\n`);
      return;
    }
    if (!opts.interactive) {
      throw new WcError(
        "host-key-unknown",
        `the ssh host key of ${name} is not known (${describe}). Check the fingerprint with the server's administrator, then run again with --accept-new-host-key (or ZSYNC_SSH_ACCEPT_NEW=1) to store it in ${opts.files.write}, or run on a terminal to be asked.`,
      );
    }
    const during = opts.duringPrompt ?? (<T>(work: () => Promise<T>) => work());
    let yes: boolean;
    try {
      yes = await during(() => askYesNo(name, key));
    } catch {
      yes = false;
    }
    if (!yes) throw new WcError("host-key-rejected", `Host key verification failed: the ${describe} of ${name} was not accepted; nothing was stored or sent`);
    await appendKnownHost(opts.files.write, name, key);
    process.stderr.write(`Warning: Permanently added '${name}' (${keyTypeLabel(key.type)}) to the list of known hosts (${opts.files.write}).\n`);
  }
}
