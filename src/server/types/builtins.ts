/**
 * The built-in content types: `file` and `folder` (anything; text merged by lines), `note`
 * (a title and a Markdown body), `contact` (vCard) and `event` (iCalendar), the last two parsed
 * with line numbers and merged per property.
 */
import { mergeRecords } from "../../merge/records.js";
import { mergeText } from "../../merge/text.js";
import { parseVObjects, serializeVObjects, VObjectSyntaxError, type VComponent } from "../../merge/vobject.js";
import { ContentParseError, type ContentTypeDefinition } from "./interface.js";

const LINE_LABELS = { mine: "mine", base: "base", theirs: "theirs" };

function lineMerge(base: string | undefined, mine: string, theirs: string) {
  const merged = mergeText(base ?? "", mine, theirs, LINE_LABELS);
  return { value: merged.text, conflicts: merged.clean ? [] : [`${merged.conflicts} conflicting region(s)`] };
}

/** Plain files: any bytes; text is merged by lines. */
export const fileType: ContentTypeDefinition<string> = {
  name: "file",
  mediaTypes: [],
  extensions: [],
  defaultPolicy: "merge",
  mergeAs: "lines",
  parse: (text) => text,
  serialize: (value) => value,
  merge: lineMerge,
};

/** Folders: no content of their own. */
export const folderType: ContentTypeDefinition<string> = { ...fileType, name: "folder" };

/** A note: its title (the file name without `.md`, also `extra.title` in its metadata) and a Markdown body. */
export interface Note {
  body: string;
}

/** Notes: `Title.md`; the body is Markdown (any UTF-8 text), merged by lines. */
export const noteType: ContentTypeDefinition<Note> = {
  name: "note",
  mediaTypes: ["text/markdown", "text/x-markdown"],
  extensions: [".md", ".markdown"],
  defaultPolicy: "merge",
  mergeAs: "lines",
  parse: (text) => ({ body: text }),
  serialize: (note) => note.body,
  merge(base, mine, theirs) {
    const merged = lineMerge(base?.body, mine.body, theirs.body);
    return { value: { body: merged.value }, conflicts: merged.conflicts };
  },
};

/** Parses vCard/iCalendar text, requiring `top` components only, as ContentParseErrors. */
function parseTop(text: string, top: string, check: (c: VComponent) => void): VComponent[] {
  let components: VComponent[];
  try {
    components = parseVObjects(text);
  } catch (error) {
    if (error instanceof VObjectSyntaxError) throw new ContentParseError(error.line, error.message.replace(/^line \d+: /, ""));
    throw error;
  }
  if (components.length === 0) throw new ContentParseError(1, `no BEGIN:${top} found`);
  for (const c of components) {
    if (c.name !== top) throw new ContentParseError(c.line, `expected BEGIN:${top}, found BEGIN:${c.name}`);
    check(c);
  }
  return components;
}

function recordMerge(kind: string) {
  return (base: VComponent[] | undefined, mine: VComponent[], theirs: VComponent[]) => {
    const merged = mergeRecords(base && serializeVObjects(base), serializeVObjects(mine), serializeVObjects(theirs));
    if (!merged) throw new Error(`${kind}: a version does not parse`); // unreachable: the inputs were parsed
    return { value: parseVObjects(merged.text), conflicts: merged.conflicts };
  };
}

/** Contacts: vCard 4.0 (RFC 6350); 2.1 and 3.0 are read too. One or more cards per file. */
export const contactType: ContentTypeDefinition<VComponent[]> = {
  name: "contact",
  mediaTypes: ["text/vcard", "text/x-vcard", "text/directory"],
  extensions: [".vcf", ".vcard"],
  defaultPolicy: "merge",
  mergeAs: "records",
  parse: (text) =>
    parseTop(text, "VCARD", (card) => {
      const version = card.properties.find((p) => p.name === "VERSION");
      if (!version) throw new ContentParseError(card.line, "BEGIN:VCARD without a VERSION property");
      if (!["2.1", "3.0", "4.0"].includes(version.value.trim())) throw new ContentParseError(version.line, `unknown vCard version ${JSON.stringify(version.value)} (2.1, 3.0 and 4.0 are read)`);
      if (version.value.trim() !== "2.1" && !card.properties.some((p) => p.name === "FN")) throw new ContentParseError(card.line, "vCard without an FN (formatted name) property");
    }),
  serialize: serializeVObjects,
  merge: recordMerge("contact"),
};

/** Events: iCalendar (RFC 5545) with VEVENTs; each VEVENT needs a UID. */
export const eventType: ContentTypeDefinition<VComponent[]> = {
  name: "event",
  mediaTypes: ["text/calendar"],
  extensions: [".ics", ".ical"],
  defaultPolicy: "merge",
  mergeAs: "records",
  parse: (text) =>
    parseTop(text, "VCALENDAR", (calendar) => {
      for (const event of calendar.components.filter((c) => c.name === "VEVENT")) {
        if (!event.properties.some((p) => p.name === "UID")) throw new ContentParseError(event.line, "VEVENT without a UID property");
        if (!event.properties.some((p) => p.name === "DTSTART")) throw new ContentParseError(event.line, "VEVENT without a DTSTART property");
      }
    }),
  serialize: serializeVObjects,
  merge: recordMerge("event"),
};

/** Every built-in type, in registry order. */
export const BUILTIN_TYPES: ContentTypeDefinition<any>[] = [fileType, folderType, noteType, contactType, eventType];
