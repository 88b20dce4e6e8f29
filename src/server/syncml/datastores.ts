/**
 * The SyncML datastores zsync-server offers (pure: no I/O): `contacts`, `calendar` and `notes`,
 * each a folder under the sync root, with the media types it speaks, how its items are named in
 * the folder, and the identity key a slow sync matches items by.
 */
import { BUILTIN_MEDIA_TYPES } from "../../merge/content-kinds.js";
import { parseVObjects, unescapeText, type VComponent } from "../../merge/vobject.js";
import type { ObjectMeta } from "../../protocol/types.js";

/** One datastore. */
export interface DatastoreDef {
  /** The datastore's URI, as clients name it in Alert targets (`contacts`). */
  uri: "contacts" | "calendar" | "notes";
  /** The content type name of its items (registry name). */
  typeName: "contact" | "event" | "note";
  /** Media types accepted from clients; the first is preferred (Rx-Pref / Tx-Pref) with its version. */
  mediaTypes: { type: string; version: string }[];
  /** File name ending of new items. */
  extension: string;
  /** Display name in DevInf. */
  displayName: string;
}

export const DATASTORES: readonly DatastoreDef[] = [
  { uri: "contacts", typeName: "contact", mediaTypes: [{ type: "text/vcard", version: "3.0" }, { type: "text/x-vcard", version: "2.1" }], extension: ".vcf", displayName: "Contacts" },
  { uri: "calendar", typeName: "event", mediaTypes: [{ type: "text/calendar", version: "2.0" }, { type: "text/x-vcalendar", version: "1.0" }], extension: ".ics", displayName: "Calendar" },
  { uri: "notes", typeName: "note", mediaTypes: [{ type: "text/plain", version: "1.0" }], extension: ".md", displayName: "Notes" },
];

/**
 * The datastore a client's target URI names: `contacts`, `./contacts`, a trailing path of the
 * server URL (`…/syncml/contacts`), any case; plus the usual aliases (`addressbook`, `card`,
 * `event`, `cal`, `memo`, `note`). Undefined for anything else.
 */
export function datastoreFor(uri: string): DatastoreDef | undefined {
  const last = uri.replace(/\/+$/, "").split("/").pop()!.toLowerCase();
  const alias: Record<string, DatastoreDef["uri"]> = {
    contacts: "contacts", contact: "contacts", addressbook: "contacts", card: "contacts", vcard: "contacts",
    calendar: "calendar", cal: "calendar", event: "calendar", events: "calendar",
    notes: "notes", note: "notes", memo: "notes", memos: "notes",
  };
  const name = alias[last];
  return DATASTORES.find((d) => d.uri === name);
}

/** The repository folder (no leading slash) of a datastore under `root` (`/demo` → `demo/contacts`). */
export function datastoreFolder(root: string, def: DatastoreDef): string {
  const bare = root.replace(/^\/+|\/+$/g, "");
  return bare === "" ? def.uri : `${bare}/${def.uri}`;
}

/**
 * Item text as stored: vCard/iCalendar lines end in CRLF (XML transport turns them into LF), and
 * properties without a value are left out.
 */
export function normalizeItem(def: DatastoreDef, text: string): string {
  const body = text.replace(/^\uFEFF/, "");
  if (def.typeName === "note") return body.replace(/\r\n?/g, "\n");
  const lines = body.replace(/\r\n?/g, "\n").replace(/\n+$/, "").split("\n");
  // SyncML engines send every property they know, most of them empty (`NICKNAME:`, `ADR:;;;;;;`).
  const kept = lines.filter((line, i) => !(/^[A-Za-z0-9-]+(;[^:]*)?:[;]*$/.test(line) && !/^(BEGIN|END):/i.test(line) && !/^[ \t]/.test(lines[i + 1] ?? "")));
  return kept.join("\r\n") + "\r\n";
}

function firstComponent(text: string): VComponent | undefined {
  try {
    return parseVObjects(text)[0];
  } catch {
    return undefined;
  }
}

function propertyText(c: VComponent | undefined, name: string): string | undefined {
  const prop = c?.properties.find((p) => p.name === name);
  return prop === undefined ? undefined : unescapeText(prop.value).trim();
}

/** A note's title: its first non-empty line, without a Markdown heading mark. */
export function noteTitle(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.replace(/^#+\s*/, "").trim();
}

/** The human name of an item (contact FN, event SUMMARY, note title), for file names and matching. */
export function itemName(def: DatastoreDef, text: string): string {
  if (def.typeName === "note") return noteTitle(text);
  const top = firstComponent(text);
  if (def.typeName === "contact") {
    const fn = propertyText(top, "FN");
    if (fn) return fn;
    const n = propertyText(top, "N");
    return n ? n.split(";").filter((s) => s !== "").reverse().join(" ") : "";
  }
  const event = top?.components.find((c) => c.name === "VEVENT" || c.name === "VTODO");
  return propertyText(event, "SUMMARY") ?? "";
}

/**
 * What a slow sync matches a device's item against the folder's unmatched items by, after
 * identical content: a contact's or event's UID, else its name (case and spacing ignored).
 */
export function identityKey(def: DatastoreDef, text: string): string | undefined {
  if (def.typeName !== "note") {
    const top = firstComponent(text);
    const holder = def.typeName === "event" ? top?.components.find((c) => c.name === "VEVENT" || c.name === "VTODO") : top;
    const uid = propertyText(holder, "UID");
    if (uid) return `uid:${uid}`;
  }
  const name = itemName(def, text).toLowerCase().replace(/\s+/g, " ").trim();
  return name === "" ? undefined : `name:${name}`;
}

/** A file name for a new item: its name made safe, with the datastore's extension, not in `taken`. */
export function newItemName(def: DatastoreDef, text: string, opts: { taken: (name: string) => boolean }): string {
  const { taken } = opts;
  const safe = itemName(def, text)
    .replace(/[\u0000-\u001f\u007f/\\]/g, " ")
    .replace(/^[.\s]+/, "")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 80)
    .trim();
  const stem = safe === "" || safe.startsWith("@") ? def.typeName : safe;
  for (let n = 1; ; n++) {
    const name = `${stem}${n === 1 ? "" : ` ${n}`}${def.extension}`;
    if (!taken(name)) return name;
  }
}

/** The metadata a new item gets (the media type `zsync add` records; a note's title). */
export function itemMeta(def: DatastoreDef, name: string): ObjectMeta {
  if (def.typeName === "note") return { contentType: BUILTIN_MEDIA_TYPES.note, extra: { title: name.replace(/\.md$/, "") } };
  return { contentType: BUILTIN_MEDIA_TYPES[def.typeName] };
}

/** True when a stored file belongs in the datastore: by its media type, else by its name. */
export function belongsTo(def: DatastoreDef, path: string, typeOfMedia: string | undefined): boolean {
  if (typeOfMedia !== undefined && typeOfMedia !== "file") return typeOfMedia === def.typeName;
  const lower = path.toLowerCase();
  const endings = def.typeName === "contact" ? [".vcf", ".vcard"] : def.typeName === "event" ? [".ics", ".ical"] : [".md", ".markdown", ".txt"];
  return endings.some((e) => lower.endsWith(e));
}

/**
 * An item's text as sent to devices: vCard 4.0 is labelled 3.0 (SyncML peers know vCard 2.1 and
 * 3.0 only; the properties zsync's contacts use are written alike in both).
 */
export function textForDevice(def: DatastoreDef, text: string): string {
  return def.typeName === "contact" ? text.replace(/^VERSION:4\.0(\r?\n)/gm, "VERSION:3.0$1") : text;
}
