/** What every zsync-server command shares: where the store is, and reading a password. */
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Argv } from "yargs";
import { openStore } from "../store/open.js";
import type { Store } from "../store/types.js";

/**
 * The data directory when neither `--data-dir` nor `ZSYNC_DATA_DIR` names one: per the XDG base
 * directory spec, `$XDG_DATA_HOME/zsync-server`, else `~/.local/share/zsync-server` — never the
 * current directory, so a server started from another folder finds the same repository.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZSYNC_DATA_DIR) return env.ZSYNC_DATA_DIR;
  const xdg = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith("/") ? env.XDG_DATA_HOME : join(homedir(), ".local", "share");
  return join(xdg, "zsync-server");
}

/** The global options every command gets. */
export interface StoreArgs {
  dataDir: string;
  store?: string;
}

/** The global options as yargs declares them (`cli.ts`); commands register onto this. */
export type ServerArgv = Argv<{ "data-dir": string } & { store: string | undefined }>;

/** The store spec the options name (default: the SQLite file in the data directory). */
export function storeSpec(args: StoreArgs): string {
  return args.store ?? `sqlite:${join(resolve(args.dataDir), "repository.sqlite")}`;
}

/** Opens the store, runs `work`, and closes the store whatever happens. */
export async function withStore<T>(args: StoreArgs, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(storeSpec(args));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** A password from a prompt on a TTY, or the first line of standard input. */
export async function readPassword(fromStdin: boolean): Promise<string> {
  if (!fromStdin && process.stdin.isTTY) {
    const { password } = await import("@inquirer/prompts");
    return password({ message: "Password:", mask: "*" });
  }
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const line = text.split(/\r?\n/)[0];
  if (!line) throw new Error("no password on standard input");
  return line;
}
