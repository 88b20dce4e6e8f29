/**
 * Per-property three-way merge of vCard and iCalendar text (pure: no I/O).
 *
 * Each component's properties are keyed by name plus their TYPE (a vCard's `TEL;TYPE=cell` and
 * `TEL;TYPE=work` are different keys; 2.1's bare `TEL;HOME;VOICE` counts as types too) plus an
 * ordinal among equal keys; nested components (VEVENT, VALARM, VTIMEZONE, …) by name plus UID,
 * RECURRENCE-ID or TZID plus an ordinal. Keys are merged like metadata keys: changed on one side
 * → that side; the same on both → that; differently → a conflict naming the property, and the
 * merged text keeps MINE's line. A component changed on both sides is merged inside. Change
 * stamps (REV, DTSTAMP, LAST-MODIFIED, SEQUENCE, CREATED stays) that both sides moved take the
 * larger value: every edit bumps them, so they would otherwise always conflict.
 */
import { formatProperty, parseVObjects, serializeVObjects, VObjectSyntaxError, type VComponent, type VProperty } from "./vobject.js";

/** Outcome of {@link mergeRecords}. */
export interface RecordMergeResult {
  clean: boolean;
  /** The merged text (CRLF, folded). Conflicting properties hold MINE's line. */
  text: string;
  /** The conflicting properties, e.g. `TEL;TYPE=cell`, `VEVENT[uid-1]/SUMMARY`, in document order. */
  conflicts: string[];
}

/** Properties whose concurrent changes resolve to the larger value. */
const CHANGE_STAMPS = new Set(["REV", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE"]);

/** One keyed property or component of a version. */
type Item = { key: string; label: string; text: string; prop?: VProperty; component?: VComponent };

/**
 * Merges three versions of a vCard/iCalendar file property by property; `base` undefined for
 * two independent additions. Returns undefined when any version does not parse (the caller
 * then merges the text as lines).
 */
export function mergeRecords(base: string | undefined, mine: string, theirs: string): RecordMergeResult | undefined {
  let parsed: { base: VComponent[]; mine: VComponent[]; theirs: VComponent[] };
  try {
    parsed = { base: base === undefined ? [] : parseVObjects(base), mine: parseVObjects(mine), theirs: parseVObjects(theirs) };
  } catch (error) {
    if (error instanceof VObjectSyntaxError) return undefined;
    throw error;
  }
  if (parsed.mine.length === 0 && parsed.theirs.length === 0) return undefined;
  const conflicts: string[] = [];
  const single = parsed.mine.length === 1 && parsed.theirs.length === 1 && (parsed.base.length <= 1);
  const merged = mergeComponentLists(parsed.base, parsed.mine, parsed.theirs, { prefix: "", single }, conflicts);
  return { clean: conflicts.length === 0, text: serializeVObjects(merged), conflicts };
}

/**
 * Merges lists of sibling components. `prefix` is the label path so far; `single` says the list
 * is the file's only top component, which needs no label (a lone card's `TEL`, not `VCARD/TEL`).
 */
function mergeComponentLists(base: VComponent[], mine: VComponent[], theirs: VComponent[], at: { prefix: string; single: boolean }, conflicts: string[]): VComponent[] {
  const b = keyComponents(base, at.prefix);
  const m = keyComponents(mine, at.prefix);
  const t = keyComponents(theirs, at.prefix);
  const out: VComponent[] = [];
  for (const key of orderedKeys(m, t)) {
    const [bi, mi, ti] = [b.get(key), m.get(key), t.get(key)];
    // Present on both sides and different: merge inside (without a base only when it is the same object).
    if (mi && ti && mi.text !== ti.text && (bi !== undefined || at.single || key.includes("["))) {
      const label = at.single ? "" : `${mi.label}/`;
      out.push(mergeComponent(bi?.component, mi.component!, ti.component!, label, conflicts));
      continue;
    }
    const chosen = mergeValue(bi, mi, ti, mi?.label ?? ti!.label, conflicts);
    if (chosen) out.push(chosen.component!);
  }
  return out;
}

function mergeComponent(base: VComponent | undefined, mine: VComponent, theirs: VComponent, label: string, conflicts: string[]): VComponent {
  const b = keyProperties(base?.properties ?? []);
  const m = keyProperties(mine.properties);
  const t = keyProperties(theirs.properties);
  const properties: VProperty[] = [];
  for (const key of orderedKeys(m, t)) {
    const [bi, mi, ti] = [b.get(key), m.get(key), t.get(key)];
    const name = (mi ?? ti)!.prop!.name;
    if (mi && ti && mi.text !== ti.text && bi?.text !== mi.text && bi?.text !== ti.text && CHANGE_STAMPS.has(name)) {
      properties.push(newerStamp(mi.prop!, ti.prop!));
      continue;
    }
    const chosen = mergeValue(bi, mi, ti, label + (mi ?? ti)!.label, conflicts);
    if (chosen) properties.push(chosen.prop!);
  }
  const components = mergeComponentLists(base?.components ?? [], mine.components, theirs.components, { prefix: label.slice(0, -1), single: false }, conflicts);
  return { name: mine.name, properties, components, line: 0 };
}

/** Three-way choice of one keyed item; records a conflict (keeping MINE) when both changed it differently. */
function mergeValue(b: Item | undefined, m: Item | undefined, t: Item | undefined, label: string, conflicts: string[]): Item | undefined {
  if (m?.text === t?.text) return m;
  if (m?.text === b?.text) return t;
  if (t?.text === b?.text) return m;
  conflicts.push(label);
  return m ?? t; // a deleted-vs-changed property keeps the change in place; the versions go beside the file
}

function newerStamp(a: VProperty, b: VProperty): VProperty {
  if (a.name === "SEQUENCE") return Number(b.value) > Number(a.value) ? b : a;
  return stampDigits(b.value) > stampDigits(a.value) ? b : a;
}

function stampDigits(value: string): string {
  return value.replace(/[^0-9]/g, "").padEnd(14, "0");
}

/** Mine's keys in order; each theirs-only key right after the key that precedes it in theirs. */
function orderedKeys(m: Map<string, Item>, t: Map<string, Item>): string[] {
  const keys = [...m.keys()];
  const position = new Map(keys.map((k, i) => [k, i]));
  let after = -1;
  for (const key of t.keys()) {
    const known = position.get(key);
    if (known !== undefined) {
      after = known;
      continue;
    }
    // After the preceding key and any mine-only keys that follow it (mine's additions stay first).
    let at = after + 1;
    while (at < keys.length && !t.has(keys[at]!)) at++;
    keys.splice(at, 0, key);
    after = at;
    position.clear();
    keys.forEach((k, i) => position.set(k, i));
  }
  return keys;
}

function keyProperties(props: VProperty[]): Map<string, Item> {
  const seen = new Map<string, number>();
  const out = new Map<string, Item>();
  for (const prop of props) {
    const types = prop.params
      .flatMap((p) => (p.name === "TYPE" ? (p.values ?? []) : p.values === undefined ? [p.name] : []))
      .map((v) => v.toLowerCase())
      .filter((v) => v !== "pref" && v !== "internet")
      .sort();
    const base = types.length > 0 ? `${prop.name};TYPE=${types.join(",")}` : prop.name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const label = n === 1 ? base : `${base}#${n}`;
    out.set(label, { key: label, label, text: formatProperty(prop), prop });
  }
  return out;
}

function keyComponents(components: VComponent[], prefix: string): Map<string, Item> {
  const seen = new Map<string, number>();
  const out = new Map<string, Item>();
  for (const c of components) {
    const id = ["UID", "RECURRENCE-ID", "TZID"]
      .map((name) => c.properties.find((p) => p.name === name)?.value)
      .filter((v) => v !== undefined)
      .join(" ");
    const base = id ? `${c.name}[${id}]` : c.name;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const key = n === 1 ? base : `${base}#${n}`;
    out.set(key, { key, label: prefix ? `${prefix}/${key}` : key, text: serializeVObjects([c]), component: c });
  }
  return out;
}

/**
 * The latest change stamp (REV, LAST-MODIFIED, DTSTAMP) in a vCard/iCalendar text, as a sortable
 * digit string, or undefined when it has none or does not parse (used by the `newest` policy).
 */
export function recordStamp(text: string): string | undefined {
  let components: VComponent[];
  try {
    components = parseVObjects(text);
  } catch {
    return undefined;
  }
  let best: string | undefined;
  const visit = (c: VComponent) => {
    for (const p of c.properties) {
      if (p.name === "REV" || p.name === "LAST-MODIFIED" || p.name === "DTSTAMP") {
        const digits = stampDigits(p.value);
        if (best === undefined || digits > best) best = digits;
      }
    }
    c.components.forEach(visit);
  };
  components.forEach(visit);
  return best;
}
