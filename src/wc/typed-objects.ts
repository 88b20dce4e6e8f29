/**
 * Finds the notes or contacts of a checkout (for `zsync notes` and `zsync contacts`): versioned
 * or scheduled files whose content type (working metadata, else BASE) names the type, or, without
 * a content type, whose extension does (`.md`, `.vcf`). Contacts are read into summaries.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { builtinTypeOf, noteTitleOf } from "../merge/content-kinds.js";
import { parseVObjects, unescapeText, type VComponent } from "../merge/vobject.js";
import { readWorkingMeta } from "./meta-files.js";
import type { WorkingCopy } from "./session.js";

export type ToolType = "note" | "contact";

const EXTENSIONS: Record<ToolType, RegExp> = { note: /\.(md|markdown)$/i, contact: /\.(vcf|vcard)$/i };

/** Checkout paths (sorted) of the files of `type`, inside `under` when given. */
export async function typedPaths(wc: WorkingCopy, opts: { type: ToolType; under?: string }): Promise<string[]> {
  const out: string[] = [];
  for (const [path, entry] of wc.entries.entries) {
    if (entry.kind !== "file" || entry.schedule === "removed") continue;
    if (opts.under && opts.under !== "" && !(path === opts.under || path.startsWith(opts.under + "/"))) continue;
    const working = await readWorkingMeta(wc.root, path);
    const contentType = (working.meta ?? entry.meta)?.contentType;
    const byType = builtinTypeOf(contentType);
    if (byType === opts.type || (contentType === undefined && EXTENSIONS[opts.type].test(path))) out.push(path);
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
  const contacts: ContactSummary[] = [];
  const unreadable: { path: string; error: string }[] = [];
  for (const path of await typedPaths(wc, { type: "contact", under: opts.under })) {
    try {
      contacts.push(...summarizeCards(path, parseVObjects(await readFile(join(wc.root, path), "utf8"))));
    } catch (error) {
      unreadable.push({ path, error: (error as Error).message });
    }
  }
  return { contacts, unreadable };
}
