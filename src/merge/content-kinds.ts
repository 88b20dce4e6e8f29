/**
 * The built-in content types the client and server both know (pure: no I/O): which media type
 * names a contact, an event or a note, how `add` recognises them by content, and the conflict
 * policies (pysyncml's set) with the rule that picks one for a path.
 */
import type { AnnouncedType } from "../protocol/types.js";

/** Built-in content types besides plain files and folders. */
export type RecordKind = "contact" | "event";
export type BuiltinTypeName = "file" | "folder" | "note" | RecordKind;

/** The media type `add` records for each built-in type (`add --type contact` records `text/vcard`). */
export const BUILTIN_MEDIA_TYPES: Readonly<Record<"note" | RecordKind, string>> = {
  contact: "text/vcard",
  event: "text/calendar",
  note: "text/markdown",
};

/** Media types read as each built-in type (older vCard names included). */
const MEDIA_ALIASES: Readonly<Record<string, "note" | RecordKind>> = {
  "text/vcard": "contact",
  "text/x-vcard": "contact",
  "text/directory": "contact",
  "text/calendar": "event",
  "text/markdown": "note",
  "text/x-markdown": "note",
};

/** The built-in type a media type names (parameters and case ignored), or undefined for a plain file. */
export function builtinTypeOf(contentType: string | undefined): "note" | RecordKind | undefined {
  if (!contentType) return undefined;
  const essence = contentType.split(";", 1)[0]!.trim().toLowerCase();
  return MEDIA_ALIASES[essence];
}

/** A media type recognised from the first bytes (a vCard or iCalendar file without the usual extension), or undefined. */
export function sniffContentType(head: Uint8Array): string | undefined {
  const text = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, 64)).toString("utf8").replace(/^\uFEFF/, "").trimStart().toUpperCase();
  if (text.startsWith("BEGIN:VCARD")) return BUILTIN_MEDIA_TYPES.contact;
  if (text.startsWith("BEGIN:VCALENDAR")) return BUILTIN_MEDIA_TYPES.event;
  return undefined;
}

/** A note's title: its file name without `.md` (`Shopping list.md` → `Shopping list`). */
export function noteTitleOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.replace(/\.(md|markdown)$/i, "");
}

/** How concurrent changes of one file are settled. */
export type ConflictPolicy = "merge" | "mine" | "theirs" | "newest" | "error";
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ["merge", "mine", "theirs", "newest", "error"];

/** True when `value` names a policy. */
export function isConflictPolicy(value: unknown): value is ConflictPolicy {
  return typeof value === "string" && (CONFLICT_POLICIES as readonly string[]).includes(value);
}

/**
 * The policy for `path`: the command's `--policy` first, then the longest matching prefix of the
 * checkout's per-path policies (`contacts/` matches `contacts/ann.vcf` and `contacts` itself; `""`
 * matches everything), then the type's default, then `merge`.
 */
export function choosePolicy(path: string, opts: { override?: ConflictPolicy; byPath?: Record<string, ConflictPolicy>; typeDefault?: ConflictPolicy }): ConflictPolicy {
  if (opts.override) return opts.override;
  let best: { length: number; policy: ConflictPolicy } | undefined;
  for (const [prefix, policy] of Object.entries(opts.byPath ?? {})) {
    const bare = prefix.replace(/\/+$/, "");
    const matches = bare === "" || path === bare || path.startsWith(bare + "/");
    if (matches && (!best || bare.length > best.length)) best = { length: bare.length, policy };
  }
  return best?.policy ?? opts.typeDefault ?? "merge";
}

/**
 * How a client merges a type's files without running the server's code for it: `lines` (text by
 * lines), `json` (per key, src/merge/json.ts), `records` (vCard/iCalendar per property) or
 * `binary` (never merged: both versions kept). The server announces one per type.
 */
export type MergeKind = "lines" | "json" | "records" | "binary";
export const MERGE_KINDS: readonly MergeKind[] = ["lines", "json", "records", "binary"];

/** True when `value` names a merge kind. */
export function isMergeKind(value: unknown): value is MergeKind {
  return typeof value === "string" && (MERGE_KINDS as readonly string[]).includes(value);
}

export type { AnnouncedType };

/** The built-in types as a client knows them without a server's announcement. */
export const BUILTIN_ANNOUNCED_TYPES: readonly AnnouncedType[] = [
  { name: "note", mediaTypes: ["text/markdown", "text/x-markdown"], extensions: [".md", ".markdown"], merge: "lines", defaultPolicy: "merge" },
  { name: "contact", mediaTypes: ["text/vcard", "text/x-vcard", "text/directory"], extensions: [".vcf", ".vcard"], merge: "records", defaultPolicy: "merge" },
  { name: "event", mediaTypes: ["text/calendar"], extensions: [".ics", ".ical"], merge: "records", defaultPolicy: "merge" },
];

/**
 * The type a media type names among `announced` (the server's list; parameters and case ignored),
 * else among the built-ins; undefined for a plain file.
 */
export function announcedTypeOf(contentType: string | undefined, announced: readonly AnnouncedType[] = []): AnnouncedType | undefined {
  if (!contentType) return undefined;
  const essence = contentType.split(";", 1)[0]!.trim().toLowerCase();
  const named = (list: readonly AnnouncedType[]) => list.find((t) => t.mediaTypes.some((m) => m.toLowerCase() === essence));
  return named(announced) ?? named(BUILTIN_ANNOUNCED_TYPES);
}

/** The announced type whose extensions match the file name (`.todo`), if any; built-ins are not included. */
export function announcedTypeByName(path: string, announced: readonly AnnouncedType[]): AnnouncedType | undefined {
  const name = path.slice(path.lastIndexOf("/") + 1).toLowerCase();
  return announced.find((t) => t.extensions.some((e) => name.endsWith(e.toLowerCase()) && name.length > e.length));
}
