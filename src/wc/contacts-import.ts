/**
 * `contacts import FILE.vcf` and `contacts add`: writes each card as its own `.vcf` file (named
 * after the contact) into a folder of the checkout and schedules them for addition, so one commit
 * makes one contact object per card. The input is parsed whole first: a malformed file changes
 * nothing.
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { foldLine, parseVObjects, serializeVObjects, escapeText, VObjectSyntaxError, type VComponent } from "../merge/vobject.js";
import { WcError } from "./admin.js";
import { add, checkObjectPath, lstatOrNone } from "./add.js";
import type { WorkingCopy } from "./session.js";
import { summarizeCards } from "./typed-objects.js";

export interface ImportContactsOptions {
  /** The vCard text to import (one or more cards). */
  text: string;
  /** Where it came from, for error messages. */
  source: string;
  /** Checkout folder that receives the files (made and added when new). */
  folder: string;
}

/** One imported card. */
export interface ImportedContact {
  path: string;
  name: string;
}

/** One file per card: where it goes, the contact's name and the file's text. */
export interface PlannedContact {
  path: string;
  name: string;
  text: string;
}

/**
 * Parses the whole input and names one file per card (`FOLDER/NAME.vcf`, `NAME (2).vcf` when
 * taken, `exists` says what is); throws, having changed nothing, on input that does not parse.
 */
export async function planContactFiles(opts: ImportContactsOptions & { exists: (path: string) => Promise<boolean> }): Promise<PlannedContact[]> {
  let components: VComponent[];
  try {
    components = parseVObjects(opts.text);
  } catch (error) {
    if (error instanceof VObjectSyntaxError) throw new WcError("bad-vcard", `${opts.source}: ${error.message}; nothing was imported`);
    throw error;
  }
  const cards = components.filter((c) => c.name === "VCARD");
  if (cards.length === 0) throw new WcError("bad-vcard", `${opts.source}: no BEGIN:VCARD found; nothing was imported`);
  const summaries = summarizeCards("", cards);
  const taken = new Set<string>();
  const planned: PlannedContact[] = [];
  for (const [i, card] of cards.entries()) {
    const name = summaries[i]!.name;
    const path = await freeName(opts.folder, fileStem(name), taken, opts.exists);
    checkObjectPath(path, "import");
    planned.push({ path, name, text: serializeVObjects([card]) });
  }
  return planned;
}

/** Writes and schedules one file per card; returns them in input order. */
export async function importContacts(wc: WorkingCopy, opts: ImportContactsOptions): Promise<ImportedContact[]> {
  const planned = await planContactFiles({ ...opts, exists: async (path) => (await lstatOrNone(join(wc.root, path))) !== undefined });
  for (const p of planned) {
    await writeFile(join(wc.root, p.path), p.text, { flag: "wx" }).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
      await mkdir(join(wc.root, opts.folder), { recursive: true });
      await writeFile(join(wc.root, p.path), p.text, { flag: "wx" });
    });
  }
  await add(wc, { paths: planned.map((p) => p.path), contentType: "contact" });
  return planned.map(({ path, name }) => ({ path, name }));
}

/** A new vCard 4.0 for `contacts add`. */
export function newCard(opts: { name: string; emails?: string[]; phones?: string[]; organization?: string }): string {
  const lines = ["BEGIN:VCARD", "VERSION:4.0", `FN:${escapeText(opts.name)}`];
  for (const email of opts.emails ?? []) lines.push(`EMAIL:${escapeText(email)}`);
  for (const phone of opts.phones ?? []) lines.push(`TEL:${escapeText(phone)}`);
  if (opts.organization) lines.push(`ORG:${escapeText(opts.organization)}`);
  lines.push(`UID:urn:uuid:${nodeCrypto().randomUUID()}`, "END:VCARD");
  return lines.map((l) => foldLine(l) + "\r\n").join("");
}

/** A file name stem from a contact's name: no slashes, control characters or leading dots. */
function fileStem(name: string): string {
  const stem = name.replace(/[\u0000-\u001f\u007f/\\]/g, " ").replace(/\s+/g, " ").trim().replace(/^\.+/, "").slice(0, 100);
  return stem === "" || stem.startsWith("@@") ? "contact" : stem;
}

/** `folder/stem.vcf`, or `folder/stem (2).vcf`… when that is taken (`exists`) or in this import. */
async function freeName(folder: string, stem: string, taken: Set<string>, exists: (path: string) => Promise<boolean>): Promise<string> {
  for (let n = 1; ; n++) {
    const name = `${stem}${n === 1 ? "" : ` (${n})`}.vcf`;
    const path = folder === "" ? name : `${folder}/${name}`;
    if (taken.has(path.toLowerCase()) || (await exists(path))) continue;
    taken.add(path.toLowerCase());
    return path;
  }
}
