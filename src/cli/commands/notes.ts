/**
 * `zsync notes list|show|add|edit`: notes (`Title.md`) in a checkout, or with `--url` (or a URL
 * for the folder) in a server folder, for people who'd rather not touch files.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { noteTitleOf } from "../../merge/content-kinds.js";
import { WcError } from "../../wc/admin.js";
import { addNote, editNote, findNote, notePath, pickNote } from "../../wc/notes.js";
import { displayPath, withWorkingCopy } from "../../wc/session.js";
import { listNotes, type NoteSummary } from "../../wc/typed-objects.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs, type Output } from "../output.js";
import { isUrl } from "../history-target.js";
import { commitFiles, openRemoteFolder, remoteHas, typedMeta } from "../typed-remote.js";
import { folderOption, pipedInput, remoteFolderOption, remoteOptions, remoteUrl, runEditor } from "./type-tools.js";

interface Args extends GlobalArgs {
  folder?: string;
  name?: string;
  title?: string;
  body?: string;
  url?: string;
  message?: string;
}

function printNotes(out: Output, notes: NoteSummary[], shown: (path: string) => string): void {
  for (const n of notes) out.line(`${n.title}  (${shown(n.path)})${n.firstLine && n.firstLine !== n.title ? `  ${n.firstLine.slice(0, 60)}` : ""}`);
  if (notes.length === 0) out.line("No notes.");
}

const summary = (path: string, body: string): NoteSummary => {
  const first = body.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  return { path, title: noteTitleOf(path), firstLine: first.replace(/^#+\s*/, "").trim() };
};

const listCommand = defineCommand<Args>({
  command: "list [folder]",
  aliases: ["ls"],
  describe: "list the notes (of FOLDER, default the whole checkout; or of a server folder URL)",
  builder: (y) => remoteOptions(y.positional("folder", { type: "string", describe: "a folder of the checkout, or a server folder URL" })),
  handler: async (args) => {
    const out = createOutput(args);
    const url = remoteUrl(args, args.folder);
    if (url !== undefined) {
      const folder = await openRemoteFolder(url, args, { type: "note", under: args.url !== undefined ? remoteFolderOption(args.folder) : "" });
      const notes = folder.files.map((f) => summary(f.path, f.text));
      out.result({ revision: folder.revision, notes: notes.map((n) => ({ ...n, displayPath: n.path })) });
      printNotes(out, notes, (p) => p);
      return;
    }
    await withWorkingCopy(".", {}, async (wc) => {
      const notes = await listNotes(wc, { under: folderOption(wc.root, args.folder, "") });
      out.result({ notes: notes.map((n) => ({ ...n, displayPath: displayPath(wc.root, n.path) })) });
      printNotes(out, notes, (p) => displayPath(wc.root, p));
    });
  },
});

const showCommand = defineCommand<Args>({
  command: "show <name> [url]",
  describe: "print a note (by title or path), of the checkout or of a server folder URL",
  builder: (y) => remoteOptions(y.positional("name", { type: "string", demandOption: true }).positional("url", { type: "string", describe: "a server folder URL" })),
  handler: async (args) => {
    const out = createOutput(args);
    const print = (path: string, shown: string, body: string) => {
      out.result({ path, displayPath: shown, title: noteTitleOf(path), body });
      if (!args.json) process.stdout.write(body.endsWith("\n") || body === "" ? body : body + "\n");
    };
    const url = args.url;
    if (url !== undefined) {
      if (!isUrl(url)) throw new WcError("usage", `${url} is no URL (http://host/folder, zsync+ssh://host/folder)`, 2);
      const folder = await openRemoteFolder(url, args, { type: "note" });
      const path = pickNote(folder.files.map((f) => f.path), { name: args.name!, where: url });
      print(path, path, folder.files.find((f) => f.path === path)!.text);
      return;
    }
    await withWorkingCopy(".", {}, async (wc) => {
      const path = await findNote(wc, { name: args.name! });
      print(path, displayPath(wc.root, path), await readFile(join(wc.root, path), "utf8"));
    });
  },
});

const addCommand = defineCommand<Args>({
  command: "add <title>",
  describe: "write a new note FOLDER/TITLE.md (body from --body or standard input) and schedule it for addition (with --url: commit it)",
  builder: (y) =>
    remoteOptions(
      y
        .positional("title", { type: "string", demandOption: true })
        .option("body", { type: "string", describe: "the Markdown body (default: standard input when piped, else empty)" })
        .option("folder", { type: "string", describe: "folder of the note (default: notes/ at the top of the checkout; with --url, the URL's folder)" }),
    ),
  handler: async (args) => {
    const out = createOutput(args);
    const body = args.body ?? (await pipedInput()) ?? "";
    if (args.url !== undefined) {
      const path = notePath(remoteFolderOption(args.folder), args.title!);
      const folder = await openRemoteFolder(args.url, args, { type: "note" });
      if (remoteHas(folder, path)) throw new WcError("exists", `a note '${args.title}' exists already (${path}); use \`zsync notes edit\``);
      const revision = await commitFiles(folder, { note: args.message ?? `add note ${noteTitleOf(path)}`, writes: [{ path, text: body, meta: typedMeta("note", path) }] });
      out.result({ path, displayPath: path, title: noteTitleOf(path), revision });
      out.line(`Added note '${noteTitleOf(path)}' (${path}) in revision ${revision}.`);
      return;
    }
    await withWorkingCopy(".", { lock: "notes" }, async (wc) => {
      const note = await addNote(wc, { title: args.title!, body, folder: folderOption(wc.root, args.folder, "notes") });
      out.result({ ...note, displayPath: displayPath(wc.root, note.path) });
      out.line(`A  ${displayPath(wc.root, note.path)}  (note '${note.title}'; commit to store it)`);
    });
  },
});

const editCommand = defineCommand<Args>({
  command: "edit <name>",
  describe: "replace a note's body (--body, or standard input when piped), or edit it in $EDITOR (with --url: commit it)",
  builder: (y) => remoteOptions(y.positional("name", { type: "string", demandOption: true }).option("body", { type: "string", describe: "the new Markdown body" })),
  handler: async (args) => {
    const out = createOutput(args);
    const piped = args.body === undefined ? await pipedInput() : undefined;
    // An empty pipe is no new body (it would wipe the note): say so instead.
    if (piped === "") throw new WcError("usage", "no new body on standard input; give it with --body, pipe it, or run in a terminal to use $EDITOR", 2);
    const body = args.body ?? piped;
    if (args.url !== undefined) {
      if (body === undefined) throw new WcError("usage", "with --url, give the new body with --body or on standard input", 2);
      const folder = await openRemoteFolder(args.url, args, { type: "note" });
      const path = pickNote(folder.files.map((f) => f.path), { name: args.name!, where: args.url });
      const changed = folder.files.find((f) => f.path === path)!.text !== body;
      const revision = changed ? await commitFiles(folder, { note: args.message ?? `edit note ${noteTitleOf(path)}`, writes: [{ path, text: body }] }) : undefined;
      out.result({ path, displayPath: path, title: noteTitleOf(path), changed, ...(revision !== undefined ? { revision } : {}) });
      out.line(changed ? `Committed note '${noteTitleOf(path)}' (${path}) in revision ${revision}.` : `${path} is unchanged.`);
      return;
    }
    await withWorkingCopy(".", { lock: "notes" }, async (wc) => {
      let result: { path: string; changed: boolean };
      if (body !== undefined) {
        result = await editNote(wc, { name: args.name!, body });
      } else {
        if (args.json) throw new WcError("usage", "give the new body with --body or on standard input (--json runs no editor)", 2);
        const path = await findNote(wc, { name: args.name! });
        const before = await readFile(join(wc.root, path), "utf8");
        await runEditor(join(wc.root, path));
        result = { path, changed: (await readFile(join(wc.root, path), "utf8")) !== before };
      }
      out.result({ ...result, displayPath: displayPath(wc.root, result.path), title: noteTitleOf(result.path) });
      out.line(result.changed ? `M  ${displayPath(wc.root, result.path)}  (commit to store it)` : `${displayPath(wc.root, result.path)} is unchanged.`);
    });
  },
});

export const notesCommand = defineCommand<GlobalArgs>({
  command: "notes <action>",
  describe: "notes (Title.md files) of this checkout or of a server folder (--url): list, show, add, edit",
  builder: (y) => y.command(listCommand).command(showCommand).command(addCommand).command(editCommand).demandCommand(1, "name an action: list, show, add or edit"),
  handler: async () => {},
});
