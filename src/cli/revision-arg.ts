/**
 * `-r` arguments in svn's words: `N`, `HEAD`, `BASE` (the checkout's revision), and ranges
 * `A:B`. Parsing is pure; turning words into numbers needs the checkout or the server.
 */
import { WcError } from "../wc/admin.js";

/** One end of a revision argument. */
export type RevisionWord = number | "HEAD" | "BASE";

/** A parsed `-r` argument: one revision, or a range. */
export interface RevisionArg {
  start: RevisionWord;
  end?: RevisionWord;
}

function word(text: string, whole: string): RevisionWord {
  const upper = text.trim().toUpperCase();
  if (upper === "HEAD" || upper === "BASE") return upper;
  const digits = /^r?(\d{1,15})$/i.exec(text.trim());
  if (!digits) throw new WcError("bad-revision", `bad revision ${JSON.stringify(whole)}: use a number, HEAD or BASE, or a range A:B`, 2);
  return Number(digits[1]);
}

/** Parses `5`, `r5`, `HEAD`, `BASE`, `2:5`, `HEAD:1`; usage error (exit 2) otherwise. */
export function parseRevisionArg(text: string | number): RevisionArg {
  const whole = String(text);
  const parts = whole.split(":");
  if (parts.length > 2) throw new WcError("bad-revision", `bad revision ${JSON.stringify(whole)}: at most one ':'`, 2);
  return parts.length === 2 ? { start: word(parts[0], whole), end: word(parts[1], whole) } : { start: word(parts[0], whole) };
}

/** What a revision word means here: BASE needs a checkout, HEAD asks the server (lazily). */
export async function resolveRevisionWord(value: RevisionWord, context: { base?: number; head: () => Promise<number> }): Promise<number> {
  if (typeof value === "number") return value;
  if (value === "HEAD") return context.head();
  if (context.base === undefined) throw new WcError("bad-revision", "BASE needs a working copy path, not a URL", 2);
  return context.base;
}
