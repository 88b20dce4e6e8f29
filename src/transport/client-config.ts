/**
 * The user's client settings: `config` in the zsync config directory, `key = value` lines
 * (`#` comments), like svn's `~/.subversion/config`. Only `store-tokens` is read today.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { configDir } from "./token-store.js";

/** The settings the client reads. */
export interface ClientConfig {
  /** Exchange a password for a stored login token after the first successful command (default true). */
  storeTokens: boolean;
}

/** The config file's path. */
export function clientConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), "config");
}

/** Reads the config file (defaults when there is none). */
export async function readClientConfig(env: NodeJS.ProcessEnv = process.env): Promise<ClientConfig> {
  const text = await readFile(clientConfigFile(env), "utf8").catch(() => "");
  const values = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq).trim().toLowerCase(), line.slice(eq + 1).trim().toLowerCase());
  }
  const storeTokens = values.get("store-tokens");
  return { storeTokens: storeTokens === undefined || !["false", "no", "0", "off"].includes(storeTokens) };
}
