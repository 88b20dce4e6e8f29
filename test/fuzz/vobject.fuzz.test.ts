/**
 * Fuzz target: the vCard/iCalendar content-line parser (src/merge/vobject.ts), which the server
 * runs on every committed contact and event, and the per-property merge built on it.
 *
 * Any text parses or throws VObjectSyntaxError with a line inside the text (never another
 * error); what parses round-trips through serialize; mutated real cards behave the same; merging
 * three parsed versions never throws and a version merged with itself is unchanged.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { mergeRecords } from "../../src/merge/records.js";
import { parseVObjects, serializeVObjects, stripLines, VObjectSyntaxError } from "../../src/merge/vobject.js";
import { mutateText, mutationsArb } from "./mutate.js";
import { fuzzTest } from "./runs.js";

const CORPUS_DIR = new URL("../fixtures/records/corpus/", import.meta.url).pathname;
const CORPUS = readdirSync(CORPUS_DIR).sort().map((name) => readFileSync(join(CORPUS_DIR, name), "utf8"));

/** Parses, or checks the error; returns the parse when there is one. */
function parseOrExplain(text: string) {
  try {
    return parseVObjects(text);
  } catch (error) {
    assert.ok(error instanceof VObjectSyntaxError, `not a VObjectSyntaxError: ${String(error)}`);
    const lines = text.split(/\r\n|\n|\r/).length;
    assert.ok(error.line >= 1 && error.line <= lines + 1, `line ${error.line} outside 1..${lines + 1}`);
    return undefined;
  }
}

const contentLineArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.tuple(fc.constantFrom("FN", "TEL", "EMAIL", "item1.EMAIL", "NOTE", "X-Ü", "BEGIN", "END"), fc.string({ maxLength: 6 }), fc.string({ maxLength: 30 })).map(([n, p, v]) => `${n}${p}:${v}`),
);
const textArb = fc.array(contentLineArb, { maxLength: 12 }).map((lines) => ["BEGIN:VCARD", ...lines, "END:VCARD"].join("\r\n"));

function assertRoundTrip(text: string): void {
  const parsed = parseOrExplain(text);
  if (!parsed) return;
  const written = serializeVObjects(parsed);
  assert.deepEqual(parseVObjects(written).map(stripLines), parsed.map(stripLines));
}

fuzzTest("any text parses (and round-trips) or fails with a line inside it", fc.property(fc.oneof(fc.string({ maxLength: 200 }), textArb), assertRoundTrip), { weight: 1 });

fuzzTest(
  "mutated real-world cards and calendars parse (and round-trip) or fail with a line",
  fc.property(fc.constantFrom(...CORPUS), mutationsArb(), (text, mutations) => assertRoundTrip(mutateText(text, mutations))),
  { weight: 1 },
);

fuzzTest(
  "merging three mutated versions never throws; a version merged with itself is unchanged",
  fc.property(fc.constantFrom(...CORPUS), mutationsArb(), mutationsArb(), (text, m1, m2) => {
    const [mine, theirs] = [mutateText(text, m1), mutateText(text, m2)];
    const result = mergeRecords(text, mine, theirs);
    if (result) assert.ok(parseVObjects(result.text));
    const self = mergeRecords(mine, mine, mine);
    if (self) {
      assert.deepEqual(self.conflicts, []);
      assert.deepEqual(parseVObjects(self.text).map(stripLines), parseVObjects(mine).map(stripLines));
    }
  }),
  { weight: 0.5 },
);
