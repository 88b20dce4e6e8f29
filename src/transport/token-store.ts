/**
 * The user's stored logins: `credentials` in the zsync config directory (`ZSYNC_CONFIG_DIR`,
 * else `$XDG_CONFIG_HOME/zsync`, else `~/.config/zsync`). Directory 0700, file 0600, replaced
 * atomically. It holds tokens only — never a password — keyed by origin and user.
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { chmod, mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { WcError } from "../wc/admin.js";

/** One stored login. */
export interface StoredLogin {
  /** `scheme://host:port`, port always spelled out. */
  origin: string;
  user: string;
  token: string;
  /** Token id on the server (for `zsync-server token revoke`). */
  id: string;
  expiresAt: string | null;
  createdAt: string;
}

interface CredentialsFile {
  version: 1;
  logins: StoredLogin[];
}

/** The zsync config directory. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZSYNC_CONFIG_DIR) return env.ZSYNC_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "zsync");
  return join(homedir(), ".config", "zsync");
}

/** The credentials file. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), "credentials");
}

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443" };

/** `scheme://host:port` with the port spelled out, so `http://h` and `http://h:80` are one login. */
export function loginOrigin(origin: string): string {
  const url = new URL(origin);
  const port = url.port || DEFAULT_PORTS[url.protocol] || "";
  return `${url.protocol}//${url.hostname}${port ? `:${port}` : ""}`;
}

/** Every stored login (empty when there is no file). Refuses a file others can read. */
export async function readLogins(): Promise<StoredLogin[]> {
  const file = credentialsFile();
  let text: string;
  try {
    const info = await stat(file);
    if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
      throw new WcError(
        "credentials-exposed",
        `${file} is readable by other users (mode ${(info.mode & 0o777).toString(8)}): run \`chmod 600 ${file}\`, then \`zsync logout\` and \`zsync login\` to replace tokens others may have read`,
      );
    }
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as CredentialsFile;
    if (parsed?.version !== 1 || !Array.isArray(parsed.logins)) throw new Error("unknown layout");
    return parsed.logins.filter((l) => typeof l?.origin === "string" && typeof l.user === "string" && typeof l.token === "string");
  } catch {
    throw new WcError("bad-credentials-file", `${file} is damaged; delete it and run \`zsync login\` again`);
  }
}

/**
 * The login for `origin` and `user`; without a user, the only login for that origin (none when
 * there are several: the user must be named).
 */
export async function findLogin(origin: string, user?: string): Promise<StoredLogin | undefined> {
  const key = loginOrigin(origin);
  const matches = (await readLogins()).filter((l) => l.origin === key && (user === undefined || l.user === user));
  return matches.length === 1 ? matches[0] : undefined;
}

/** Stores a login, replacing any for the same origin and user. */
export async function saveLogin(login: StoredLogin): Promise<string> {
  const entry = { ...login, origin: loginOrigin(login.origin) };
  const others = (await readLogins()).filter((l) => !(l.origin === entry.origin && l.user === entry.user));
  return writeLogins([...others, entry]);
}

/** Removes the login for `origin` and `user`; false when there was none. */
export async function removeLogin(origin: string, user: string): Promise<boolean> {
  const key = loginOrigin(origin);
  const logins = await readLogins();
  const kept = logins.filter((l) => !(l.origin === key && l.user === user));
  if (kept.length === logins.length) return false;
  await writeLogins(kept);
  return true;
}

/** Replaces the file atomically: a private temp file, fsync, rename, fsync of the directory. */
async function writeLogins(logins: StoredLogin[]): Promise<string> {
  const dir = configDir();
  const file = credentialsFile();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const temp = join(dir, `.credentials.${process.pid}.${nodeCrypto().randomBytes(4).toString("hex")}.tmp`);
  const body: CredentialsFile = { version: 1, logins };
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(JSON.stringify(body, null, 2) + "\n");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const dirHandle = await open(dir, "r").catch(() => undefined);
  await dirHandle?.sync().catch(() => {});
  await dirHandle?.close();
  return file;
}
