/** `zsync notes list|show|add|edit`: notes (`Title.md`) in a checkout, for people who'd rather not touch files. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { noteTitleOf } from "../../merge/content-kinds.js";
import { WcError } from "../../wc/admin.js";
import { addNote, editNote, findNote } from "../../wc/notes.js";
import { displayPath, withWorkingCopy } from "../../wc/session.js";
import { listNotes } from "../../wc/typed-objects.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { folderOption, pipedInput, runEditor } from "./type-tools.js";

interface Args extends GlobalArgs {
  folder?: string;
  name?: string;
  title?: string;
  body?: string;
}

const listCommand = defineCommand<Args>({
  command: "list [folder]",
  aliases: ["ls"],
  describe: "list the notes (of FOLDER, default the whole checkout)",
  builder: (y) => y.positional("folder", { type: "string" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(".", {}, async (wc) => {
      const notes = await listNotes(wc, { under: folderOption(wc.root, args.folder, "") });
      out.result({ notes: notes.map((n) => ({ ...n, displayPath: displayPath(wc.root, n.path) })) });
      for (const n of notes) out.line(`${n.title}  (${displayPath(wc.root, n.path)})${n.firstLine && n.firstLine !== n.title ? `  ${n.firstLine.slice(0, 60)}` : ""}`);
      if (notes.length === 0) out.line("No notes.");
    });
  },
});

const showCommand = defineCommand<Args>({
  command: "show <name>",
  describe: "print a note (by title or path)",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(".", {}, async (wc) => {
      const path = await findNote(wc, { name: args.name! });
      const body = await readFile(join(wc.root, path), "utf8");
      out.result({ path, displayPath: displayPath(wc.root, path), title: noteTitleOf(path), body });
      if (!args.json) process.stdout.write(body.endsWith("\n") || body === "" ? body : body + "\n");
    });
  },
});

const addCommand = defineCommand<Args>({
  command: "add <title>",
  describe: "write a new note FOLDER/TITLE.md (body from --body or standard input) and schedule it for addition",
  builder: (y) =>
    y
      .positional("title", { type: "string", demandOption: true })
      .option("body", { type: "string", describe: "the Markdown body (default: standard input when piped, else empty)" })
      .option("folder", { type: "string", describe: "folder of the note (default: notes/ at the top of the checkout)" }),
  handler: async (args) => {
    const out = createOutput(args);
    const body = args.body ?? (await pipedInput()) ?? "";
    await withWorkingCopy(".", { lock: "notes" }, async (wc) => {
      const note = await addNote(wc, { title: args.title!, body, folder: folderOption(wc.root, args.folder, "notes") });
      out.result({ ...note, displayPath: displayPath(wc.root, note.path) });
      out.line(`A  ${displayPath(wc.root, note.path)}  (note '${note.title}'; commit to store it)`);
    });
  },
});

const editCommand = defineCommand<Args>({
  command: "edit <name>",
  describe: "replace a note's body (--body, or standard input when piped), or edit it in $EDITOR",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }).option("body", { type: "string", describe: "the new Markdown body" }),
  handler: async (args) => {
    const out = createOutput(args);
    const piped = args.body === undefined ? await pipedInput() : undefined;
    // An empty pipe is no new body (it would wipe the note): say so instead.
    if (piped === "") throw new WcError("usage", "no new body on standard input; give it with --body, pipe it, or run in a terminal to use $EDITOR", 2);
    const body = args.body ?? piped;
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
  describe: "notes (Title.md files) of this checkout: list, show, add, edit",
  builder: (y) => y.command(listCommand).command(showCommand).command(addCommand).command(editCommand).demandCommand(1, "name an action: list, show, add or edit"),
  handler: async () => {},
});
