/** Small helpers the `notes` and `contacts` commands share. */
import { spawn } from "node:child_process";
import { WcError } from "../../wc/admin.js";
import { toCheckoutPaths } from "../../wc/session.js";
import { isUrl } from "../history-target.js";

/** Standard input as text when it is not a terminal (piped or redirected); undefined on a terminal. */
export async function pipedInput(): Promise<string | undefined> {
  if (process.stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Runs `$VISUAL`/`$EDITOR` (default vi) on `file` with the terminal; throws when it fails. */
export function runEditor(file: string): Promise<void> {
  const editor = process.env.VISUAL || process.env.EDITOR || "vi";
  return new Promise((done, fail) => {
    const child = spawn("/bin/sh", ["-c", `${editor} "$@"`, "zsync", file], { stdio: "inherit" });
    child.on("error", fail);
    child.on("exit", (code) => (code === 0 ? done() : fail(new WcError("editor-failed", `the editor (${editor}) exited with ${code}; the note is as the editor left it`))));
  });
}

/** A folder option as a checkout path: given relative to the current folder, else `fallback` from the root. */
export function folderOption(root: string, given: string | undefined, fallback: string): string {
  return given === undefined ? fallback : toCheckoutPaths(root, [given])[0]!;
}

/** The `--url` and `--message` options of the tools' actions: work on a server folder instead of the checkout. */
export function remoteOptions<T>(y: import("yargs").Argv<T>) {
  return y
    .option("url", { type: "string", describe: "work on this server folder instead of the checkout (writes are committed at once, one revision)" })
    .option("message", { alias: "m", type: "string", describe: "log message of the revision (with --url)" });
}

/** The server folder URL an action names: `--url`, or a positional that is a URL. */
export function remoteUrl(args: { url?: string }, positional?: string): string | undefined {
  if (args.url !== undefined && positional !== undefined && isUrl(positional)) throw new WcError("usage", "give the URL once: as --url or in place of the folder", 2);
  return args.url ?? (isUrl(positional) ? positional : undefined);
}

/** A folder option on a URL: relative to the URL's folder ("" without one). */
export function remoteFolderOption(given: string | undefined): string {
  const segments = (given ?? "").split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) throw new WcError("usage", `--folder ${given}: with --url, the folder is inside the URL's folder (no ..)`, 2);
  return segments.join("/");
}
