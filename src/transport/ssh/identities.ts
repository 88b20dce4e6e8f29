/**
 * Which keys the client offers, in order: `-i FILE`, then ssh-agent (SSH_AUTH_SOCK), then the
 * IdentityFile entries of ~/.ssh/config, else the default files (~/.ssh/id_ed25519, id_ecdsa,
 * id_rsa). A key file is read, and an encrypted one's passphrase asked for, only when its turn
 * comes, through ssh2's authHandler — which ssh2 calls only after the host key was verified.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AuthHandlerMiddleware, ParsedKey } from "ssh2";
import { WcError } from "../../wc/admin.js";
import { homeDir } from "./ssh-config.js";

/** Default identity files, in OpenSSH's order (those that exist are offered). */
export const DEFAULT_IDENTITY_FILES = ["id_ed25519", "id_ecdsa", "id_rsa"];

/** Options of the key sequence. */
export interface IdentityOptions {
  user: string;
  /** `-i FILE`: offered first; a missing or unusable file is an error. */
  identity?: string;
  /** IdentityFile entries from ~/.ssh/config. */
  configIdentityFiles: string[];
  /** ssh-agent socket (SSH_AUTH_SOCK). */
  agent?: string;
  /** A terminal to ask passphrases on. */
  interactive: boolean;
  /** Runs around a prompt (the connect timer must not run while a person types). */
  duringPrompt?: <T>(work: () => Promise<T>) => Promise<T>;
  /** Password for the password / keyboard-interactive methods, tried after every key. */
  password?: string;
  /** `user@host`, named in the password prompt. */
  where?: string;
}

/** The ssh2 authHandler plus what to tell the user when it runs out of keys. */
export interface Identities {
  authHandler: AuthHandlerMiddleware;
  /** Set when a key could not be used in a way the user must hear about (wrong passphrase, bad -i). */
  fatal(): WcError | undefined;
  /** The message for "the server accepted none of the keys". */
  explainFailure(host: string): string;
}

type Step = { kind: "agent"; socket: string } | { kind: "file"; path: string; explicit: boolean } | { kind: "password" };

/** Password prompts on a terminal: svn asks up to three times. */
const PASSWORD_TRIES = 3;

/** Builds the key sequence for one connection. */
export function createIdentities(opts: IdentityOptions): Identities {
  const steps: Step[] = [];
  if (opts.identity) steps.push({ kind: "file", path: opts.identity, explicit: true });
  if (opts.agent) steps.push({ kind: "agent", socket: opts.agent });
  for (const path of opts.configIdentityFiles) if (path !== opts.identity) steps.push({ kind: "file", path, explicit: false });
  if (!opts.identity && opts.configIdentityFiles.length === 0) {
    for (const name of DEFAULT_IDENTITY_FILES) steps.push({ kind: "file", path: join(homeDir(), ".ssh", name), explicit: false });
  }
  // Keys first (as OpenSSH does); a password only when one was given or a person can type one.
  const passwordTries = opts.password !== undefined ? 1 : opts.interactive ? PASSWORD_TRIES : 0;
  for (let i = 0; i < passwordTries; i++) steps.push({ kind: "password" });
  let passwordOffered = false;
  const offered: string[] = [];
  const locked: string[] = [];
  let fatal: WcError | undefined;
  const during = opts.duringPrompt ?? (<T>(work: () => Promise<T>) => work());

  /** Loads a key file: the parsed key, undefined to skip it, or sets `fatal`. */
  async function load(step: { path: string; explicit: boolean }): Promise<ParsedKey | undefined> {
    let data: Buffer;
    try {
      data = await readFile(step.path);
    } catch (error) {
      if (step.explicit) fatal = new WcError("identity-unreadable", `cannot read the ssh key ${step.path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, 2);
      return undefined;
    }
    // ssh2 is CommonJS: its `utils` is reachable through the default export only.
    const ssh2 = (await import("ssh2")) as unknown as { default?: typeof import("ssh2"); utils?: typeof import("ssh2").utils };
    const utils = ssh2.utils ?? ssh2.default!.utils;
    const first = (parsed: ParsedKey | ParsedKey[] | Error) => (Array.isArray(parsed) ? parsed[0] : parsed);
    let key = first(utils.parseKey(data));
    if (key instanceof Error && /no passphrase given/i.test(key.message)) {
      if (!opts.interactive) {
        locked.push(step.path);
        return undefined;
      }
      const { password } = await import("@inquirer/prompts");
      let passphrase: string;
      try {
        passphrase = await during(() => password({ message: `Enter passphrase for key '${step.path}':`, mask: false }, { output: process.stderr }));
      } catch {
        fatal = new WcError("passphrase-cancelled", `no passphrase was given for the ssh key ${step.path}`);
        return undefined;
      }
      key = first(utils.parseKey(data, passphrase));
      if (key instanceof Error) {
        fatal = new WcError("wrong-passphrase", /passphrase/i.test(key.message) ? `wrong passphrase for the ssh key ${step.path}` : `cannot unlock the ssh key ${step.path}: ${key.message}`);
        return undefined;
      }
    }
    if (key instanceof Error || !key.isPrivateKey()) {
      if (step.explicit) fatal = new WcError("identity-unusable", `${step.path} is not an ssh private key zsync can use${key instanceof Error ? ` (${key.message})` : ""}`, 2);
      return undefined;
    }
    return key;
  }

  /** The password to try: the given one, else asked for on the terminal. */
  async function passwordFor(): Promise<string | undefined> {
    if (opts.password !== undefined) return opts.password;
    const { password } = await import("@inquirer/prompts");
    const again = passwordOffered ? "Permission denied, please try again.\n" : "";
    if (again) process.stderr.write(again);
    try {
      return await during(() => password({ message: `${opts.where ?? opts.user}'s password:`, mask: false }, { output: process.stderr }));
    } catch {
      fatal = new WcError("password-cancelled", `no password was given for ${opts.where ?? opts.user}`);
      return undefined;
    }
  }

  let probed = false;
  const authHandler: AuthHandlerMiddleware = (methodsLeft, _partial, next) => {
    void (async () => {
      while (!fatal) {
        const step = steps.shift();
        if (!step) break;
        if (step.kind === "password") {
          if (!methodsLeft && !probed) {
            // Ask the server which methods it takes (RFC 4252 "none") before choosing one.
            probed = true;
            steps.unshift(step);
            return next({ type: "none", username: opts.user });
          }
          // OpenSSH's order (PreferredAuthentications): keyboard-interactive before password.
          const method = methodsLeft?.includes("keyboard-interactive") ? "keyboard-interactive" : !methodsLeft || methodsLeft.includes("password") ? "password" : undefined;
          if (!method) break;
          const secret = await passwordFor();
          if (secret === undefined) break;
          passwordOffered = true;
          if (method === "password") return next({ type: "password", username: opts.user, password: secret });
          return next({ type: "keyboard-interactive", username: opts.user, prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => secret)) });
        }
        if (methodsLeft && !methodsLeft.includes("publickey")) continue;
        if (step.kind === "agent") {
          offered.push(`the keys of ssh-agent (${step.socket})`);
          return next({ type: "agent", username: opts.user, agent: step.socket });
        }
        const key = await load(step);
        if (key) {
          offered.push(step.path);
          return next({ type: "publickey", username: opts.user, key });
        }
      }
      next(false as never);
    })().catch((error: unknown) => {
      fatal = new WcError("ssh-auth", `ssh authentication failed: ${(error as Error).message}`);
      next(false as never);
    });
  };

  return {
    authHandler,
    fatal: () => fatal,
    explainFailure(host) {
      const lockedNote = locked.length
        ? ` ${locked.join(", ")} ${locked.length === 1 ? "is" : "are"} encrypted and there is no terminal to ask for the passphrase: add it to ssh-agent (ssh-add ${locked[0]}) or run on a terminal.`
        : "";
      if (passwordOffered) {
        return `${host} refused the password for ${opts.user}${offered.length ? ` (and the ssh keys offered: ${offered.join("; ")})` : ""}; check the password, or use an ssh key (-i FILE)`;
      }
      if (offered.length === 0) {
        return `no ssh key to offer to ${host}: no ssh-agent (SSH_AUTH_SOCK) and no usable key among ${opts.identity ?? (opts.configIdentityFiles.length ? opts.configIdentityFiles.join(", ") : DEFAULT_IDENTITY_FILES.map((n) => `~/.ssh/${n}`).join(", "))}; pass -i FILE.${lockedNote}`;
      }
      return `${host} refused the ssh keys offered for ${opts.user} (${offered.join("; ")}): add your public key to the server for ${opts.user}, or choose the key with -i FILE.${lockedNote}`;
    },
  };
}
