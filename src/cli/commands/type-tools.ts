/** Small helpers the `notes` and `contacts` commands share. */
import { spawn } from "node:child_process";
import { WcError } from "../../wc/admin.js";
import { toCheckoutPaths } from "../../wc/session.js";

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
