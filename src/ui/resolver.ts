/**
 * The interactive conflict resolver (inquirer): walks the conflicted paths and, per path, offers
 * a menu — show a diff, edit in `$EDITOR`, mine/theirs for every conflict or for the whole file,
 * a choice per conflicting hunk, an external merge tool, mark resolved, postpone.
 *
 * It only decides: every change to the checkout is made by src/wc/resolve.ts. Prompts read and
 * write the given streams (inquirer's context), so tests can drive it without a terminal.
 */
import { spawn } from "node:child_process";
import { nodeCrypto } from "../protocol/crypto.js";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
// @inquirer/prompts and diff load on first use (a prompt, a diff): every other command starts without them.
import { DIR_CONFLICT_REASONS } from "../merge/dir-decision.js";
import { FILE_CONFLICT_REASONS } from "../merge/file-decision.js";
import { adminPaths } from "../wc/admin.js";
import type { ConflictRecord } from "../wc/entries.js";
import type { JournalReport } from "../wc/journal.js";
import { metaFileOf } from "../wc/meta-files.js";
import {
  conflictHunks,
  conflictVersion,
  markerLine,
  resolve,
  ResolveRefusedError,
  resolveHunks,
  type Accept,
  type ConflictHunk,
  type HunkChoice,
  type ResolvedPath,
  type ResolveResult,
} from "../wc/resolve.js";
import type { WorkingCopy } from "../wc/session.js";

export interface ResolverOptions {
  /** Where keystrokes come from (default: stdin). When given, child programs get no terminal. */
  input?: NodeJS.ReadableStream;
  /** Where prompts and messages go (default: stdout). */
  output?: NodeJS.WritableStream;
  /** Environment for `EDITOR`/`VISUAL` and `ZSYNC_MERGE_TOOL` (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** How a checkout path is shown (default: as is). */
  show?: (path: string) => string;
}

export interface ResolverResult {
  resolved: ResolvedPath[];
  /** Paths left in conflict. */
  postponed: string[];
  savedAside: JournalReport["savedAside"];
}

type Action = "d" | "dm" | "e" | "mc" | "tc" | "mf" | "tf" | "h" | "l" | "r" | "p" | "q";

interface MenuItem {
  key: Action;
  name: string;
}

/** Runs the resolver over `paths` (conflicted checkout paths), in order. */
export async function runResolver(wc: WorkingCopy, paths: string[], opts: ResolverOptions = {}): Promise<ResolverResult> {
  const out = opts.output ?? process.stdout;
  const env = opts.env ?? process.env;
  const show = opts.show ?? ((p: string) => p);
  const interactiveChildren = opts.input === undefined;
  const print = (text: string) => void out.write(text.endsWith("\n") ? text : text + "\n");
  const result: ResolverResult = { resolved: [], postponed: [], savedAside: [] };

  /** inquirer ends the output stream it is given when a prompt is done; give it one that forwards instead. */
  const context = () => {
    if (!opts.output) return { input: opts.input };
    // Forwarded synchronously, so what one prompt wrote is out before the next prompt writes.
    const forward = new Writable({
      write(chunk, _encoding, callback) {
        out.write(chunk);
        callback();
      },
    }) as Writable & { columns?: number; rows?: number };
    forward.columns = (out as { columns?: number }).columns ?? 80;
    forward.rows = (out as { rows?: number }).rows ?? 24;
    return { input: opts.input, output: forward };
  };
  const choose = async <T extends string>(message: string, items: { key: T; name: string }[]): Promise<T> =>
    (await import("@inquirer/prompts")).rawlist({ message, choices: items.map((i) => ({ key: i.key, value: i.key, name: i.name })) }, context());

  const report = (r: ResolveResult) => {
    result.resolved.push(...r.resolved);
    result.savedAside.push(...r.savedAside);
    for (const x of r.resolved) {
      const notes: string[] = [];
      if (x.savedAs) notes.push(`your version saved as ${show(x.savedAs)}`);
      if (x.metaSavedAs) notes.push(`your metadata saved as ${show(x.metaSavedAs)}`);
      if (x.note) notes.push(x.note);
      print(`Resolved conflicted state of '${show(x.path)}'${notes.length ? ` (${notes.join("; ")})` : ""}`);
    }
  };
  /** Applies a choice; on refusal says why and returns false. */
  const attempt = async (work: () => Promise<ResolveResult>): Promise<boolean> => {
    try {
      report(await work());
      return true;
    } catch (error) {
      if (error instanceof ResolveRefusedError) {
        for (const r of error.refusals) print(`Not resolved: ${r.message}`);
        return false;
      }
      throw error;
    }
  };
  const accept = (path: string, choice: Accept) => attempt(() => resolve(wc, { paths: [path], accept: choice, exact: true }));

  /** Runs a program through the shell with extra arguments; a terminal's stdio when interactive. */
  const runProgram = (command: string, args: string[]): Promise<number> =>
    new Promise((done) => {
      const child = spawn("/bin/sh", ["-c", `${command} "$@"`, "zsync", ...args], {
        cwd: wc.root,
        env,
        stdio: interactiveChildren ? "inherit" : ["ignore", "pipe", "pipe"],
      });
      child.stdout?.on("data", (chunk) => out.write(chunk));
      child.stderr?.on("data", (chunk) => out.write(chunk));
      child.on("error", (error) => {
        print(`could not run ${command}: ${error.message}`);
        done(127);
      });
      child.on("close", (code) => done(code ?? 1));
    });

  const showDiff = async (path: string, conflict: ConflictRecord, from: "working" | "mine") => {
    const a = await conflictVersion(wc, path, from);
    const b = await conflictVersion(wc, path, "theirs");
    if (a === undefined || b === undefined) {
      print(`No ${a === undefined ? from : "theirs"} version of '${show(path)}' to compare.`);
      return;
    }
    const theirs = `${show(path)}${conflict.labels?.theirs ?? ".theirs"} (theirs)`;
    const ours = from === "working" ? `${show(path)} (working file)` : `${show(path)}.mine (mine)`;
    const { createTwoFilesPatch } = await import("diff");
    print(createTwoFilesPatch(ours, theirs, a.toString("utf8"), b.toString("utf8"), undefined, undefined, { context: 3 }));
  };

  const showHunk = (h: ConflictHunk, n: number, total: number, conflict: ConflictRecord) => {
    const absent = "(absent)";
    if (h.type === "text") {
      print(`Conflict ${n} of ${total}:`);
      print(`<<<<<<< mine`);
      if (h.mine) print(h.mine);
      print(`||||||| base ${conflict.labels?.base ?? ""}`.trimEnd());
      if (h.base) print(h.base);
      print(`=======`);
      if (h.theirs) print(h.theirs);
      print(`>>>>>>> theirs ${conflict.labels?.theirs ?? ""}`.trimEnd());
    } else {
      print(`Metadata key ${h.label} (${n} of ${total}):`);
      print(`  mine:   ${h.mine ?? absent}`);
      print(`  base:   ${h.base ?? absent}`);
      print(`  theirs: ${h.theirs ?? absent}`);
    }
  };

  const perHunk = async (path: string, conflict: ConflictRecord): Promise<boolean> => {
    const hunks = await conflictHunks(wc, path);
    const choices: HunkChoice[] = [];
    for (const [i, h] of hunks.entries()) {
      showHunk(h, i + 1, hunks.length, conflict);
      const items: { key: string; name: string; value: HunkChoice }[] = [
        { key: "m", name: "mine", value: "mine" },
        { key: "t", name: "theirs", value: "theirs" },
        { key: "mt", name: "both: mine, then theirs", value: "both" },
        { key: "b", name: "base", value: "base" },
      ];
      const key = await choose(`Keep which side of ${h.type === "text" ? `conflict ${i + 1}` : h.label}?`, items.filter((x) => h.choices.includes(x.value)));
      choices.push(items.find((x) => x.key === key)!.value);
    }
    return attempt(() => resolveHunks(wc, path, choices));
  };

  const mergeTool = async (path: string, conflict: ConflictRecord): Promise<boolean> => {
    const tool = env.ZSYNC_MERGE_TOOL;
    if (!tool) {
      print("No merge tool configured: set ZSYNC_MERGE_TOOL to a command; zsync runs it as `$ZSYNC_MERGE_TOOL BASE MINE THEIRS MERGED` (MERGED is the working file).");
      return false;
    }
    const dir = join(adminPaths(wc.root).tmp, `merge-${nodeCrypto().randomBytes(6).toString("hex")}`);
    await mkdir(dir, { recursive: true });
    try {
      const name = path.slice(path.lastIndexOf("/") + 1);
      const files: string[] = [];
      for (const which of ["base", "mine", "theirs"] as const) {
        const file = join(dir, `${name}.${which}`);
        await writeFile(file, (await conflictVersion(wc, path, which)) ?? Buffer.alloc(0));
        files.push(file);
      }
      const merged = join(wc.root, path);
      const code = await runProgram(tool, [...files, merged]);
      if (code !== 0) {
        print(`The merge tool exited with ${code}; '${show(path)}' stays in conflict.`);
        return false;
      }
      const text = await readFile(merged, "utf8").catch(() => undefined);
      const line = text === undefined ? undefined : markerLine(text);
      if (text === undefined || line !== undefined) {
        print(text === undefined ? `The merge tool left no '${show(path)}'.` : `'${show(path)}' still contains conflict markers (line ${line}).`);
        return false;
      }
      const { confirm } = await import("@inquirer/prompts");
      if (!(await confirm({ message: `The merge tool finished. Mark '${show(path)}' resolved?`, default: true }, context()))) return false;
      return accept(path, "working");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  try {
    for (let index = 0; index < paths.length; index++) {
      const path = paths[index];
      const conflict = wc.entries.entries.get(path)?.conflict;
      if (!conflict) continue;
      print(`\nConflict in '${show(path)}': ${describe(conflict)}`);
      const hunks = conflict.kind === "text" || (conflict.kind === "meta" && conflict.meta) ? await conflictHunks(wc, path).catch(() => []) : [];
      const items = menu(conflict, hunks.length > 0, path, show);
      let done = false;
      while (!done) {
        const action = await choose(`Select for '${show(path)}':`, items);
        switch (action) {
          case "d":
            if (conflict.kind === "meta") hunks.forEach((h, i) => showHunk(h, i + 1, hunks.length, conflict));
            else await showDiff(path, conflict, "working");
            break;
          case "dm":
            await showDiff(path, conflict, "mine");
            break;
          case "e": {
            const file = conflict.kind === "meta" ? metaFileOf(path) : path;
            const editor = env.VISUAL || env.EDITOR || "vi";
            const code = await runProgram(editor, [join(wc.root, file)]);
            if (code !== 0) print(`The editor exited with ${code}.`);
            break;
          }
          case "mc":
            done = await accept(path, "mine-conflict");
            break;
          case "tc":
            done = await accept(path, "theirs-conflict");
            break;
          case "mf":
            done = await accept(path, conflict.kind === "tree" ? "working" : conflict.kind === "meta" && !conflict.meta ? "working" : "mine-full");
            break;
          case "tf":
            done = await accept(path, "theirs-full");
            break;
          case "h":
            done = await perHunk(path, conflict);
            break;
          case "l":
            done = await mergeTool(path, conflict);
            break;
          case "r":
            done = await accept(path, "working");
            break;
          case "p":
            result.postponed.push(path);
            done = true;
            break;
          case "q":
            result.postponed.push(...paths.slice(index).filter((p) => wc.entries.entries.get(p)?.conflict));
            return result;
        }
      }
    }
  } catch (error) {
    // Ctrl-C or a closed input: what was resolved stays resolved, the rest is postponed.
    const name = (error as Error)?.name;
    if (name !== "ExitPromptError" && name !== "AbortPromptError") throw error;
    const done = new Set(result.resolved.map((r) => r.path));
    result.postponed = paths.filter((p) => !done.has(p) && wc.entries.entries.get(p)?.conflict);
  }
  return result;
}

/** One line saying what the conflict is. */
export function describe(conflict: ConflictRecord): string {
  switch (conflict.kind) {
    case "text":
      return `both sides changed the text (${conflict.reason ?? "conflicting regions"})`;
    case "binary":
      return "both sides changed this binary file";
    case "meta":
      return conflict.reason ?? "metadata conflict";
    case "tree":
      return `tree conflict: ${conflict.reason ?? "unknown"}`;
  }
}

/** The menu for one conflict: only the choices that apply to its kind. */
function menu(conflict: ConflictRecord, hasHunks: boolean, path: string, show: (p: string) => string): MenuItem[] {
  const tail: MenuItem[] = [
    { key: "p", name: "postpone: leave it in conflict, go to the next" },
    { key: "q", name: "quit: postpone this and all remaining conflicts" },
  ];
  switch (conflict.kind) {
    case "text":
      return [
        { key: "d", name: "show diff: the conflicted file against theirs" },
        { key: "dm", name: "show diff: mine (before the update) against theirs" },
        { key: "e", name: "edit the file in $EDITOR" },
        { key: "mc", name: "mine for every conflict (clean merges kept)" },
        { key: "tc", name: "theirs for every conflict (clean merges kept)" },
        { key: "mf", name: "mine: the whole file as it was before the update" },
        { key: "tf", name: "theirs: the whole file as on the server" },
        ...(hasHunks ? [{ key: "h" as const, name: "choose per conflicting hunk (mine, theirs, both, base)" }] : []),
        { key: "l", name: "launch the merge tool ($ZSYNC_MERGE_TOOL BASE MINE THEIRS MERGED)" },
        { key: "r", name: "mark resolved: the file as it is now (refused while conflict markers remain)" },
        ...tail,
      ];
    case "binary":
      return [
        { key: "mf", name: "mine: keep your file" },
        { key: "tf", name: "theirs: take the server's file" },
        { key: "r", name: "mark resolved: the file as it is now" },
        ...tail,
      ];
    case "meta":
      if (!conflict.meta) {
        return [
          { key: "e", name: `edit ${show(metaFileOf(path))} in $EDITOR` },
          { key: "mf", name: "mine: keep your metadata file (it must be valid)" },
          { key: "tf", name: "theirs: take the server's metadata" },
          ...tail,
        ];
      }
      return [
        { key: "d", name: "show the conflicting keys" },
        { key: "e", name: `edit ${show(metaFileOf(path))} in $EDITOR` },
        { key: "mc", name: "mine for every conflicting key" },
        { key: "tc", name: "theirs for every conflicting key" },
        ...(hasHunks ? [{ key: "h" as const, name: "choose per conflicting key (mine, theirs, base)" }] : []),
        { key: "r", name: `mark resolved: the metadata file as edited (refused while "@@conflict" objects remain)` },
        ...tail,
      ];
    case "tree": {
      const [mine, theirs] = treeChoices(conflict.reason ?? "");
      return [{ key: "mf", name: mine }, { key: "tf", name: theirs }, ...tail];
    }
  }
}

function treeChoices(reason: string): [string, string] {
  switch (reason) {
    case FILE_CONFLICT_REASONS.editedLocallyDeletedRemotely:
      return ["mine: keep your file (it stays scheduled for addition)", "theirs: accept the deletion (your file is saved as FILE.orig)"];
    case FILE_CONFLICT_REASONS.removedLocallyChangedRemotely:
      return ["mine: keep the removal (the next commit deletes it on the server)", "theirs: restore the server's file (a local file that differs is saved as FILE.orig)"];
    case FILE_CONFLICT_REASONS.obstructedByUnversionedFile:
      return ["mine: keep your file (it becomes a modification of the server's)", "theirs: take the server's file (yours is saved as FILE.orig)"];
    case DIR_CONFLICT_REASONS.deletedRemotelyWithLocalChanges:
      return ["mine: keep the folder and its contents (scheduled for addition)", "theirs: accept the deletion (the folder is saved as DIR.orig/)"];
    default:
      return ["mine: keep the local state (mark resolved)", "theirs: take the server's (yours is saved as .orig; then zsync update)"];
  }
}
