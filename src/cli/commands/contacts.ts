/**
 * `zsync contacts list|show|add|import|export`: contacts (vCard files) in a checkout, or with
 * `--url` (or a URL for the folder) in a server folder, where add and import commit one revision.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseVObjects, serializeVObjects, type VComponent } from "../../merge/vobject.js";
import { WcError } from "../../wc/admin.js";
import { importContacts, newCard, planContactFiles, type ImportedContact } from "../../wc/contacts-import.js";
import { displayPath, withWorkingCopy } from "../../wc/session.js";
import { listContacts, pickContacts, summarizeContactFiles, typedPaths, type ContactSummary } from "../../wc/typed-objects.js";
import { defineCommand } from "../command.js";
import { isUrl } from "../history-target.js";
import { createOutput, type GlobalArgs, type Output } from "../output.js";
import { commitFiles, openRemoteFolder, remoteHas, typedMeta } from "../typed-remote.js";
import { folderOption, remoteFolderOption, remoteOptions, remoteUrl } from "./type-tools.js";

interface Args extends GlobalArgs {
  folder?: string;
  name?: string;
  file?: string;
  email?: string[];
  tel?: string[];
  org?: string;
  url?: string;
  message?: string;
}

function printContact(out: Output, shown: (path: string) => string, c: ContactSummary): void {
  out.line(`${c.name}  (${shown(c.path)}${c.index > 0 ? ` #${c.index + 1}` : ""})`);
  if (c.organization) out.line(`  organization: ${c.organization}`);
  for (const e of c.emails) out.line(`  email: ${e}`);
  for (const p of c.phones) out.line(`  phone: ${p}`);
}

/** Fails unless `url` is a URL. */
function checkUrl(url: string): string {
  if (!isUrl(url)) throw new WcError("usage", `${url} is no URL (http://host/folder, zsync+ssh://host/folder)`, 2);
  return url;
}

const listCommand = defineCommand<Args>({
  command: "list [folder]",
  aliases: ["ls"],
  describe: "list the contacts (of FOLDER, default the whole checkout; or of a server folder URL)",
  builder: (y) => remoteOptions(y.positional("folder", { type: "string", describe: "a folder of the checkout, or a server folder URL" })),
  handler: async (args) => {
    const out = createOutput(args);
    const print = (listed: ReturnType<typeof summarizeContactFiles>, shown: (path: string) => string) => {
      for (const c of listed.contacts) out.line(`${c.name}  ${[c.emails[0], c.phones[0]].filter(Boolean).join("  ")}  (${shown(c.path)})`);
      for (const u of listed.unreadable) out.warn(`${shown(u.path)} is not a readable vCard: ${u.error}`);
      if (listed.contacts.length === 0) out.line("No contacts.");
    };
    const url = remoteUrl(args, args.folder);
    if (url !== undefined) {
      const folder = await openRemoteFolder(url, args, { type: "contact", under: args.url !== undefined ? remoteFolderOption(args.folder) : "" });
      const listed = summarizeContactFiles(folder.files);
      out.result({ revision: folder.revision, ...listed });
      print(listed, (p) => p);
      return;
    }
    await withWorkingCopy(".", {}, async (wc) => {
      const listed = await listContacts(wc, { under: folderOption(wc.root, args.folder, "") });
      out.result(listed);
      print(listed, (p) => displayPath(wc.root, p));
    });
  },
});

const showCommand = defineCommand<Args>({
  command: "show <name> [url]",
  describe: "show a contact (by name or path), of the checkout or of a server folder URL",
  builder: (y) => remoteOptions(y.positional("name", { type: "string", demandOption: true }).positional("url", { type: "string", describe: "a server folder URL" })),
  handler: async (args) => {
    const out = createOutput(args);
    if (args.url !== undefined) {
      const folder = await openRemoteFolder(checkUrl(args.url), args, { type: "contact" });
      const matches = pickContacts(summarizeContactFiles(folder.files).contacts, { name: args.name!, where: args.url });
      out.result({ contacts: matches });
      for (const c of matches) printContact(out, (p) => p, c);
      return;
    }
    await withWorkingCopy(".", {}, async (wc) => {
      const matches = pickContacts((await listContacts(wc)).contacts, { name: args.name!, where: "this checkout" });
      out.result({ contacts: matches });
      for (const c of matches) printContact(out, (p) => displayPath(wc.root, p), c);
    });
  },
});

/** `add` and `import` on a URL: one file per card in the URL's folder (or --folder in it), one revision. */
async function importRemote(args: Args, text: string, source: string): Promise<{ imported: ImportedContact[]; revision: number }> {
  const url = checkUrl(args.url!);
  const folder = await openRemoteFolder(url, args, { type: "contact" });
  const planned = await planContactFiles({ text, source, folder: remoteFolderOption(args.folder), exists: async (path) => remoteHas(folder, path) });
  const note = args.message ?? (planned.length === 1 ? `add contact ${planned[0]!.name}` : `import ${planned.length} contacts from ${source}`);
  const revision = await commitFiles(folder, { note, writes: planned.map((p) => ({ path: p.path, text: p.text, meta: typedMeta("contact", p.path) })) });
  return { imported: planned.map(({ path, name }) => ({ path, name })), revision };
}

const addCommand = defineCommand<Args>({
  command: "add <name>",
  describe: "write a new contact (vCard 4.0) into FOLDER and schedule it for addition (with --url: commit it)",
  builder: (y) =>
    remoteOptions(
      y
        .positional("name", { type: "string", demandOption: true })
        .option("email", { type: "string", array: true, describe: "an e-mail address (repeatable)" })
        .option("tel", { type: "string", array: true, describe: "a phone number (repeatable)" })
        .option("org", { type: "string", describe: "organization" })
        .option("folder", { type: "string", describe: "folder of the contact (default: contacts/ at the top of the checkout; with --url, the URL's folder)" }),
    ),
  handler: async (args) => {
    const out = createOutput(args);
    const text = newCard({ name: args.name!, emails: args.email, phones: args.tel, organization: args.org });
    if (args.url !== undefined) {
      const { imported, revision } = await importRemote(args, text, "the new contact");
      out.result({ ...imported[0]!, displayPath: imported[0]!.path, revision });
      out.line(`Added contact '${imported[0]!.name}' (${imported[0]!.path}) in revision ${revision}.`);
      return;
    }
    await withWorkingCopy(".", { lock: "contacts" }, async (wc) => {
      const [made] = await importContacts(wc, { text, source: "the new contact", folder: folderOption(wc.root, args.folder, "contacts") });
      out.result({ ...made!, displayPath: displayPath(wc.root, made!.path) });
      out.line(`A  ${displayPath(wc.root, made!.path)}  (contact '${made!.name}'; commit to store it)`);
    });
  },
});

const importCommand = defineCommand<Args>({
  command: "import <file>",
  describe: "import every card of a vCard file (2.1, 3.0, 4.0) as one contact file each, scheduled for addition (one commit stores them all; with --url: committed as one revision)",
  builder: (y) =>
    remoteOptions(
      y
        .positional("file", { type: "string", demandOption: true })
        .option("folder", { type: "string", describe: "folder of the contacts (default: contacts/ at the top of the checkout; with --url, the URL's folder)" }),
    ),
  handler: async (args) => {
    const out = createOutput(args);
    const file = resolve(args.file!);
    const text = await readFile(file, "utf8").catch((error: Error) => {
      throw new WcError("not-found", `can't read ${args.file}: ${error.message}`);
    });
    const plural = (n: number) => `${n} contact${n === 1 ? "" : "s"}`;
    if (args.url !== undefined) {
      const { imported, revision } = await importRemote(args, text, args.file!);
      out.result({ revision, imported: imported.map((c) => ({ ...c, displayPath: c.path })) });
      for (const c of imported) out.line(`A  ${c.path}`);
      out.line(`Imported ${plural(imported.length)} in revision ${revision}.`);
      return;
    }
    await withWorkingCopy(".", { lock: "contacts" }, async (wc) => {
      const imported = await importContacts(wc, { text, source: args.file!, folder: folderOption(wc.root, args.folder, "contacts") });
      out.result({ imported: imported.map((c) => ({ ...c, displayPath: displayPath(wc.root, c.path) })) });
      for (const c of imported) out.line(`A  ${displayPath(wc.root, c.path)}`);
      out.line(`Imported ${plural(imported.length)}; commit to store them.`);
    });
  },
});

const exportCommand = defineCommand<Args>({
  command: "export [file]",
  describe: "write every contact of the checkout, of --folder, or of a server folder URL as one vCard file (standard output without FILE)",
  builder: (y) =>
    remoteOptions(y.positional("file", { type: "string", describe: "the file to write, or a server folder URL to export from" }).option("folder", { type: "string", describe: "only the contacts in this folder" })),
  handler: async (args) => {
    const out = createOutput(args);
    const url = remoteUrl(args, args.file);
    const target = url !== undefined && args.url === undefined ? undefined : args.file;
    const collect = (files: { path: string; text: string }[], shown: (path: string) => string): VComponent[] => {
      const cards: VComponent[] = [];
      for (const f of files) {
        try {
          cards.push(...parseVObjects(f.text).filter((c) => c.name === "VCARD"));
        } catch (error) {
          throw new WcError("bad-vcard", `${shown(f.path)}: ${(error as Error).message}; nothing was exported`);
        }
      }
      return cards;
    };
    let cards: VComponent[];
    if (url !== undefined) {
      const folder = await openRemoteFolder(url, args, { type: "contact", under: remoteFolderOption(args.folder) });
      cards = collect(folder.files, (p) => p);
    } else {
      cards = await withWorkingCopy(".", {}, async (wc) => {
        const files = [];
        for (const path of await typedPaths(wc, { type: "contact", under: folderOption(wc.root, args.folder, "") })) files.push({ path, text: await readFile(join(wc.root, path), "utf8") });
        return collect(files, (p) => displayPath(wc.root, p));
      });
    }
    const text = serializeVObjects(cards);
    if (target !== undefined) await writeFile(resolve(target), text);
    out.result({ contacts: cards.length, ...(target !== undefined ? { file: resolve(target) } : { vcard: text }) });
    if (target !== undefined) out.line(`Exported ${cards.length} contact${cards.length === 1 ? "" : "s"} to ${target}.`);
    else if (!args.json) process.stdout.write(text);
  },
});

export const contactsCommand = defineCommand<GlobalArgs>({
  command: "contacts <action>",
  describe: "contacts (vCard files) of this checkout or of a server folder (--url): list, show, add, import, export",
  builder: (y) =>
    y.command(listCommand).command(showCommand).command(addCommand).command(importCommand).command(exportCommand).demandCommand(1, "name an action: list, show, add, import or export"),
  handler: async () => {},
});
