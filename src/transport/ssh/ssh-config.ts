/**
 * Resolves a host the way `ssh` would from ~/.ssh/config (via the ssh-config package): Host
 * aliases, HostName, Port, User and IdentityFile. The URL's user and port win over the file.
 */
import { readFile } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { isAbsolute, join } from "node:path";
import { WcError } from "../../wc/admin.js";

/** Where and as whom to connect. */
export interface SshTarget {
  /** The host as written in the URL (an alias, maybe). */
  alias: string;
  /** The host name to connect to (HostName, else the alias). */
  hostName: string;
  port: number;
  user: string;
  /** IdentityFile entries of the matching Host blocks, expanded. */
  identityFiles: string[];
}

/** The user's home directory; HOME wins so tests (and sudo -E users) can point elsewhere. */
export function homeDir(): string {
  return process.env.HOME || homedir();
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? "root";
  }
}

/** Expands `~` and the tokens %d %u %h %r %p %% of an IdentityFile value. */
function expandPath(value: string, ctx: { home: string; host: string; user: string; port: number }): string {
  let path = value.replace(/%([%duhrpn])/g, (_, token: string) => {
    switch (token) {
      case "%": return "%";
      case "d": return ctx.home;
      case "u": return localUser();
      case "h": return ctx.host;
      case "n": return ctx.host;
      case "r": return ctx.user;
      default: return String(ctx.port);
    }
  });
  if (path === "~" || path.startsWith("~/")) path = join(ctx.home, path.slice(1));
  return isAbsolute(path) ? path : join(ctx.home, ".ssh", path);
}

/** Resolves `host` (and the URL's user/port) through `~/.ssh/config` (or `configFile`). */
export async function resolveSshTarget(url: { host: string; port?: number; user?: string }, opts: { configFile?: string } = {}): Promise<SshTarget> {
  const home = homeDir();
  const file = opts.configFile ?? join(home, ".ssh", "config");
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw new WcError("ssh-config", `cannot read ${file}: ${(error as Error).message}`);
  }
  let computed: Record<string, string | string[]> = {};
  if (text) {
    const { default: SSHConfig } = await import("ssh-config");
    try {
      // Match exec would run commands from the file; ssh does, but zsync has no need to.
      computed = SSHConfig.parse(text).compute(url.host, { ignoreCase: true, matchExec: false } as never) as Record<string, string | string[]>;
    } catch (error) {
      throw new WcError("ssh-config", `cannot parse ${file}: ${(error as Error).message}`);
    }
  }
  const first = (key: string): string | undefined => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const hostName = (first("hostname") ?? url.host).replace(/%h/g, url.host);
  const configPort = first("port");
  const port = url.port ?? (configPort !== undefined ? Number(configPort) : 22);
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) throw new WcError("ssh-config", `${file}: bad Port ${configPort} for ${url.host}`);
  const user = url.user ?? first("user") ?? localUser();
  const rawIdentities = computed.identityfile;
  const identities = rawIdentities === undefined ? [] : Array.isArray(rawIdentities) ? rawIdentities : [rawIdentities];
  const identityFiles = identities.filter((v) => v.toLowerCase() !== "none").map((v) => expandPath(v, { home, host: hostName, user, port }));
  return { alias: url.host, hostName, port, user, identityFiles };
}
