/**
 * Decides one ssh authentication attempt: public keys against the account's stored keys, and
 * passwords (only when enabled) against its scrypt hash. Refusals are logged once each, never
 * with a secret in the line.
 */
import { timingSafeEqual } from "node:crypto";
import type { LoginGuard } from "../login-guard.js";
import ssh2 from "ssh2";
import type { AuthContext, AuthenticationType } from "ssh2";
import { hashPassword, verifyPassword, type Principal } from "../auth.js";
import type { Store } from "../store/types.js";
import { sshFingerprint } from "./authorized-keys.js";

const { utils } = ssh2;

/** How the endpoint authenticates. */
export interface SshAuthOptions {
  store: Store;
  /** Accept the `password` method (checked like HTTP Basic passwords). */
  passwordAuth: boolean;
  /** The client's address and port, for log lines. */
  remote: string;
  /** The client's address, for the failed-login guard. */
  remoteAddress?: string;
  log: (line: string) => void;
  /** Counts failed passwords (with HTTP Basic's) and refuses them during a cool-down. */
  guard?: LoginGuard;
}

/** Hash of a random password: unknown users pay the same scrypt cost as known ones. */
let dummyHash: Promise<string> | undefined;

/** What became of one attempt: `probe` is the method list query (`none`) or a key query answered yes. */
export type SshAuthOutcome = { outcome: "accepted"; principal: Principal } | { outcome: "probe" } | { outcome: "refused" };

/**
 * Handles one authentication request. Refusals and probes are answered here; an `accepted` outcome
 * is left for the caller to `ctx.accept()`, after it has recorded the principal (the connection's
 * `ready` event follows the accept synchronously).
 */
export async function authenticateSsh(ctx: AuthContext, options: SshAuthOptions): Promise<SshAuthOutcome> {
  // keyboard-interactive asks one question, the password: what OpenSSH clients prefer over `password`.
  const methods: AuthenticationType[] = options.passwordAuth ? ["publickey", "keyboard-interactive", "password"] : ["publickey"];
  const user = JSON.stringify(ctx.username);
  const refuse = (why: string): SshAuthOutcome => {
    options.log(`ssh: refused ${ctx.method} for ${user} from ${options.remote}: ${why}`);
    ctx.reject(methods);
    return { outcome: "refused" };
  };
  if (ctx.method === "none") {
    ctx.reject(methods);
    return { outcome: "probe" };
  }
  if ((ctx.method === "password" || ctx.method === "keyboard-interactive") && !options.passwordAuth) return refuse(`${ctx.method} authentication is off`);
  if (ctx.method !== "publickey" && ctx.method !== "password" && ctx.method !== "keyboard-interactive") return refuse(`method ${ctx.method} not supported`);

  let typed: string | undefined;
  if (ctx.method === "keyboard-interactive") {
    const k = ctx;
    const answers = await new Promise<string[]>((resolve) => k.prompt([{ prompt: "Password: ", echo: false }], "zsync", "", resolve));
    if (answers.length !== 1) return refuse("keyboard-interactive: expected one answer");
    typed = answers[0];
  } else if (ctx.method === "password") typed = ctx.password;

  const account = await options.store.getAccount(ctx.username);
  if (typed !== undefined) {
    const attempt = { remoteAddress: options.remoteAddress ?? options.remote, scheme: "basic" as const, user: ctx.username };
    try {
      options.guard?.assertAllowed(attempt);
    } catch {
      return refuse("too many failed logins from this address; cooling down");
    }
    dummyHash ??= hashPassword(Math.random().toString(36));
    const ok = await verifyPassword(typed, account?.passwordHash ?? (await dummyHash));
    if (!account || !ok) {
      options.guard?.failed(attempt);
      return refuse(account ? "wrong password" : "no such account");
    }
    options.guard?.succeeded(attempt);
    return { outcome: "accepted", principal: { name: account.name, role: account.role } };
  }
  if (ctx.method !== "publickey") return refuse(`method ${ctx.method} not supported`);

  const offered = ctx.key.data;
  const fingerprint = sshFingerprint(offered);
  if (!account) return refuse(`no such account (key ${fingerprint})`);
  const keys = await options.store.listAccountKeys(account.name);
  const match = keys.find((key) => {
    const stored = Buffer.from(key.data, "base64");
    return stored.length === offered.length && timingSafeEqual(stored, offered);
  });
  if (!match) return refuse(`key ${fingerprint} is not one of the account's keys`);
  if (!ctx.signature) {
    // The client only asks whether this key would do; the signed attempt follows.
    ctx.accept();
    return { outcome: "probe" };
  }
  const parsed = utils.parseKey(`${match.type} ${match.data}`);
  if (parsed instanceof Error || !ctx.blob || parsed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
    return refuse(`bad signature for key ${fingerprint}`);
  }
  return { outcome: "accepted", principal: { name: account.name, role: account.role } };
}
