/** `zsync contacts list|show|add|import|export`: contacts (vCard files) in a checkout. */
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseVObjects, serializeVObjects } from "../../merge/vobject.js";
import { WcError } from "../../wc/admin.js";
import { importContacts, newCard } from "../../wc/contacts-import.js";
import { displayPath, withWorkingCopy } from "../../wc/session.js";
import { listContacts, typedPaths, type ContactSummary } from "../../wc/typed-objects.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs, type Output } from "../output.js";
import { folderOption } from "./type-tools.js";

interface Args extends GlobalArgs {
  folder?: string;
  name?: string;
  file?: string;
  email?: string[];
  tel?: string[];
  org?: string;
}

function printContact(out: Output, root: string, c: ContactSummary): void {
  out.line(`${c.name}  (${displayPath(root, c.path)}${c.index > 0 ? ` #${c.index + 1}` : ""})`);
  if (c.organization) out.line(`  organization: ${c.organization}`);
  for (const e of c.emails) out.line(`  email: ${e}`);
  for (const p of c.phones) out.line(`  phone: ${p}`);
}

const listCommand = defineCommand<Args>({
  command: "list [folder]",
  aliases: ["ls"],
  describe: "list the contacts (of FOLDER, default the whole checkout)",
  builder: (y) => y.positional("folder", { type: "string" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(".", {}, async (wc) => {
      const { contacts, unreadable } = await listContacts(wc, { under: folderOption(wc.root, args.folder, "") });
      out.result({ contacts, unreadable });
      for (const c of contacts) out.line(`${c.name}  ${[c.emails[0], c.phones[0]].filter(Boolean).join("  ")}  (${displayPath(wc.root, c.path)})`);
      for (const u of unreadable) out.warn(`${displayPath(wc.root, u.path)} is not a readable vCard: ${u.error}`);
      if (contacts.length === 0) out.line("No contacts.");
    });
  },
});

const showCommand = defineCommand<Args>({
  command: "show <name>",
  describe: "show a contact (by name or path)",
  builder: (y) => y.positional("name", { type: "string", demandOption: true }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(".", {}, async (wc) => {
      const { contacts } = await listContacts(wc);
      const wanted = args.name!;
      const found = contacts.filter((c) => c.path === wanted || c.name === wanted);
      const matches = found.length > 0 ? found : contacts.filter((c) => c.name.toLowerCase().includes(wanted.toLowerCase()));
      if (matches.length === 0) throw new WcError("not-found", `no contact '${wanted}' in this checkout (see \`zsync contacts list\`)`);
      out.result({ contacts: matches });
      for (const c of matches) printContact(out, wc.root, c);
    });
  },
});

const addCommand = defineCommand<Args>({
  command: "add <name>",
  describe: "write a new contact (vCard 4.0) into FOLDER and schedule it for addition",
  builder: (y) =>
    y
      .positional("name", { type: "string", demandOption: true })
      .option("email", { type: "string", array: true, describe: "an e-mail address (repeatable)" })
      .option("tel", { type: "string", array: true, describe: "a phone number (repeatable)" })
      .option("org", { type: "string", describe: "organization" })
      .option("folder", { type: "string", describe: "folder of the contact (default: contacts/ at the top of the checkout)" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(".", { lock: "contacts" }, async (wc) => {
      const text = newCard({ name: args.name!, emails: args.email, phones: args.tel, organization: args.org });
      const [made] = await importContacts(wc, { text, source: "the new contact", folder: folderOption(wc.root, args.folder, "contacts") });
      out.result({ ...made!, displayPath: displayPath(wc.root, made!.path) });
      out.line(`A  ${displayPath(wc.root, made!.path)}  (contact '${made!.name}'; commit to store it)`);
    });
  },
});

const importCommand = defineCommand<Args>({
  command: "import <file>",
  describe: "import every card of a vCard file (2.1, 3.0, 4.0) as one contact file each, scheduled for addition (one commit stores them all)",
  builder: (y) =>
    y.positional("file", { type: "string", demandOption: true }).option("folder", { type: "string", describe: "folder of the contacts (default: contacts/ at the top of the checkout)" }),
  handler: async (args) => {
    const out = createOutput(args);
    const file = resolve(args.file!);
    const text = await readFile(file, "utf8").catch((error: Error) => {
      throw new WcError("not-found", `can't read ${args.file}: ${error.message}`);
    });
    await withWorkingCopy(".", { lock: "contacts" }, async (wc) => {
      const imported = await importContacts(wc, { text, source: args.file!, folder: folderOption(wc.root, args.folder, "contacts") });
      out.result({ imported: imported.map((c) => ({ ...c, displayPath: displayPath(wc.root, c.path) })) });
      for (const c of imported) out.line(`A  ${displayPath(wc.root, c.path)}`);
      out.line(`Imported ${imported.length} contact${imported.length === 1 ? "" : "s"}; commit to store them.`);
    });
  },
});

const exportCommand = defineCommand<Args>({
  command: "export [file]",
  describe: "write every contact of the checkout (or of --folder) as one vCard file (standard output without FILE)",
  builder: (y) => y.positional("file", { type: "string" }).option("folder", { type: "string", describe: "only the contacts in this folder" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(".", {}, async (wc) => {
      const paths = await typedPaths(wc, { type: "contact", under: folderOption(wc.root, args.folder, "") });
      const cards = [];
      for (const path of paths) {
        try {
          cards.push(...parseVObjects(await readFile(join(wc.root, path), "utf8")).filter((c) => c.name === "VCARD"));
        } catch (error) {
          throw new WcError("bad-vcard", `${displayPath(wc.root, path)}: ${(error as Error).message}; nothing was exported`);
        }
      }
      const text = serializeVObjects(cards);
      if (args.file !== undefined) await writeFile(resolve(args.file), text);
      out.result({ contacts: cards.length, ...(args.file !== undefined ? { file: resolve(args.file) } : { vcard: text }) });
      if (args.file !== undefined) out.line(`Exported ${cards.length} contact${cards.length === 1 ? "" : "s"} to ${args.file}.`);
      else if (!args.json) process.stdout.write(text);
    });
  },
});

export const contactsCommand = defineCommand<GlobalArgs>({
  command: "contacts <action>",
  describe: "contacts (vCard files) of this checkout: list, show, add, import, export",
  builder: (y) =>
    y.command(listCommand).command(showCommand).command(addCommand).command(importCommand).command(exportCommand).demandCommand(1, "name an action: list, show, add, import or export"),
  handler: async () => {},
});

