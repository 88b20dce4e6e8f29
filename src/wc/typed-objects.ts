/**
 * Finds the notes or contacts of a checkout (for `zsync notes` and `zsync contacts`): versioned
 * or scheduled files whose content type (working metadata, else BASE) names the type, or, without
 * a content type, whose extension does (`.md`, `.vcf`). Contacts are read into summaries.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { builtinTypeOf, noteTitleOf } from "../merge/content-kinds.js";
import { parseVObjects, unescapeText, type VComponent } from "../merge/vobject.js";
import { WcError } from "./admin.js";
import { readWorkingMeta } from "./meta-files.js";
import type { WorkingCopy } from "./session.js";

export type ToolType = "note" | "contact";

const EXTENSIONS: Record<ToolType, RegExp> = { note: /\.(md|markdown)$/i, contact: /\.(vcf|vcard)$/i };

/** True when a file at `path` with `contentType` is of the tool type (by content type, else by extension). */
export function isToolType(path: string, contentType: string | undefined, type: ToolType): boolean {
  return builtinTypeOf(contentType) === type || (contentType === undefined && EXTENSIONS[type].test(path));
}

/** Checkout paths (sorted) of the files of `type`, inside `under` when given. */
export async function typedPaths(wc: WorkingCopy, opts: { type: ToolType; under?: string }): Promise<string[]> {
  const out: string[] = [];
  for (const [path, entry] of wc.entries.entries) {
    if (entry.kind !== "file" || entry.schedule === "removed") continue;
    if (opts.under && opts.under !== "" && !(path === opts.under || path.startsWith(opts.under + "/"))) continue;
    const working = await readWorkingMeta(wc.root, path);
    const contentType = (working.meta ?? entry.meta)?.contentType;
    if (isToolType(path, contentType, opts.type)) out.push(path);
  }
  return out.sort();
}

/** A note as the tools show it. */
export interface NoteSummary {
  path: string;
  title: string;
  /** First non-empty line of the body, without Markdown heading marks. */
  firstLine: string;
}

/** The notes of the checkout. */
export async function listNotes(wc: WorkingCopy, opts: { under?: string } = {}): Promise<NoteSummary[]> {
  const notes: NoteSummary[] = [];
  for (const path of await typedPaths(wc, { type: "note", under: opts.under })) {
    const body = await readFile(join(wc.root, path), "utf8").catch(() => "");
    const first = body.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
    notes.push({ path, title: noteTitleOf(path), firstLine: first.replace(/^#+\s*/, "").trim() });
  }
  return notes;
}

/** One contact (one card of a .vcf file) as the tools show it. */
export interface ContactSummary {
  path: string;
  /** Position of the card in its file (0 for the first). */
  index: number;
  name: string;
  emails: string[];
  phones: string[];
  organization?: string;
  uid?: string;
}

/** Summaries of the cards in `components`. */
export function summarizeCards(path: string, components: VComponent[]): ContactSummary[] {
  return components
    .filter((c) => c.name === "VCARD")
    .map((card, index) => {
      const values = (name: string) => card.properties.filter((p) => p.name === name).map((p) => unescapeText(p.value));
      const n = values("N")[0]?.split(";").filter(Boolean).reverse().join(" ");
      const org = values("ORG")[0]?.replace(/;+$/, "");
      const uid = values("UID")[0];
      return {
        path,
        index,
        name: values("FN")[0] ?? n ?? noteTitleOf(path).replace(/\.(vcf|vcard)$/i, ""),
        emails: values("EMAIL"),
        phones: values("TEL"),
        ...(org ? { organization: org } : {}),
        ...(uid ? { uid } : {}),
      };
    });
}

/** The contacts of the checkout; a file that does not parse is reported in `unreadable`. */
export async function listContacts(wc: WorkingCopy, opts: { under?: string } = {}): Promise<{ contacts: ContactSummary[]; unreadable: { path: string; error: string }[] }> {
  const files: { path: string; text: string }[] = [];
  const missing: { path: string; error: string }[] = [];
  for (const path of await typedPaths(wc, { type: "contact", under: opts.under })) {
    await readFile(join(wc.root, path), "utf8").then(
      (text) => files.push({ path, text }),
      (error: Error) => missing.push({ path, error: error.message }),
    );
  }
  const summary = summarizeContactFiles(files);
  return { contacts: summary.contacts, unreadable: [...summary.unreadable, ...missing] };
}

/** The contacts `contacts show NAME` means: by path or exact name, else by part of the name (any case); `where` names the place for errors. */
export function pickContacts(contacts: ContactSummary[], opts: { name: string; where: string }): ContactSummary[] {
  const found = contacts.filter((c) => c.path === opts.name || c.name === opts.name);
  const matches = found.length > 0 ? found : contacts.filter((c) => c.name.toLowerCase().includes(opts.name.toLowerCase()));
  if (matches.length === 0) throw new WcError("not-found", `no contact '${opts.name}' in ${opts.where} (see \`zsync contacts list\`)`);
  return matches;
}

/** Summaries of the contacts in files already read; a file that does not parse goes to `unreadable`. */
export function summarizeContactFiles(files: { path: string; text: string }[]): { contacts: ContactSummary[]; unreadable: { path: string; error: string }[] } {
  const contacts: ContactSummary[] = [];
  const unreadable: { path: string; error: string }[] = [];
  for (const file of files) {
    try {
      contacts.push(...summarizeCards(file.path, parseVObjects(file.text)));
    } catch (error) {
      unreadable.push({ path: file.path, error: (error as Error).message });
    }
  }
  return { contacts, unreadable };
}
