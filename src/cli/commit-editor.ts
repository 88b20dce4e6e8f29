/**
 * The log message of `zsync commit` without `-m`/`-F` on a terminal: `$VISUAL`/`$EDITOR` opens a
 * file listing the changes below svn's marker line; what is above the marker is the message.
 * An empty message aborts the commit (as git does); nothing is sent.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WcError } from "../wc/admin.js";
import type { PathStatus } from "../wc/scan.js";

/** svn's marker: this line and everything below it is not part of the message. */
export const MESSAGE_MARKER = "--This line, and those below, will be ignored--";

/** The text the editor opens: an empty first line, the marker, then one line per change. */
export function messageTemplate(changes: { letters: string; shown: string }[]): string {
  return `\n${MESSAGE_MARKER}\n\n${changes.map((c) => `${c.letters}   ${c.shown}`).join("\n")}\n`;
}

/** The log message in an edited template: the text above the marker, trailing blank lines and spaces dropped. */
export function messageFromEdited(text: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const marker = lines.findIndex((l) => l.trim() === MESSAGE_MARKER);
  const kept = (marker >= 0 ? lines.slice(0, marker) : lines).map((l) => l.replace(/\s+$/, ""));
  while (kept.length > 0 && kept[kept.length - 1] === "") kept.pop();
  while (kept.length > 0 && kept[0] === "") kept.shift();
  return kept.join("\n");
}

/** The editor command: `$VISUAL`, else `$EDITOR`, else `vi` (as svn and git fall back). */
export function editorCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.VISUAL || env.EDITOR || "vi";
}

/**
 * Opens the editor on the template for `changes` and returns the message; throws (nothing
 * committed) when the editor fails or the message is empty.
 */
export async function editCommitMessage(changes: PathStatus[], opts: { show: (path: string) => string }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "zsync-commit-"));
  const file = join(dir, "zsync-commit.txt");
  try {
    await writeFile(file, messageTemplate(changes.map((c) => ({ letters: `${c.content === "=" ? " " : c.content}${c.meta}`, shown: opts.show(c.path) + (c.kind === "folder" && c.path !== "" ? "/" : "") }))));
    const editor = editorCommand();
    // Through the shell, like git: EDITOR may carry arguments ("code --wait").
    const run = spawnSync("/bin/sh", ["-c", `${editor} "$1"`, "zsync-editor", file], { stdio: "inherit" });
    if (run.error || run.status !== 0) {
      throw new WcError("editor-failed", `the editor (${editor}) ${run.error ? `could not be started: ${run.error.message}` : `exited with ${run.status ?? run.signal}`}; nothing was committed`);
    }
    const message = messageFromEdited(await readFile(file, "utf8"));
    if (message === "") throw new WcError("empty-message", "the log message is empty, so the commit was aborted; nothing was committed (use -m \"\" to commit with an empty message)");
    return message;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
