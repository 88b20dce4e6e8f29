/**
 * vCard/iCalendar: the content-line parser and writer (src/merge/vobject.ts) and the per-property
 * merge (src/merge/records.ts), table-tested from fixture directories:
 * test/fixtures/records/merge-cases/NAME/{base,mine,theirs,expected}.{vcf,ics} + conflicts.txt
 * (one conflicting property per line), and a corpus of address-book and calendar exports.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { mergeRecords, recordStamp } from "../../src/merge/records.js";
import { foldLine, parseVObjects, serializeVObjects, stripLines, VObjectSyntaxError } from "../../src/merge/vobject.js";

const FIXTURES = new URL("../fixtures/records/", import.meta.url).pathname;
const CASES = join(FIXTURES, "merge-cases");
const CORPUS = join(FIXTURES, "corpus");
const data = (text: string) => parseVObjects(text).map(stripLines);

describe("per-property merge cases", () => {
  for (const name of readdirSync(CASES).sort()) {
    test(name, () => {
      const dir = join(CASES, name);
      const ext = existsSync(join(dir, "mine.vcf")) ? "vcf" : "ics";
      const read = (which: string) => (existsSync(join(dir, `${which}.${ext}`)) ? readFileSync(join(dir, `${which}.${ext}`), "utf8") : undefined);
      const wanted = readFileSync(join(dir, "conflicts.txt"), "utf8").split("\n").filter(Boolean);
      const result = mergeRecords(read("base"), read("mine")!, read("theirs")!);
      assert.ok(result, "every version parses");
      assert.deepEqual(result.conflicts, wanted);
      assert.equal(result.clean, wanted.length === 0);
      assert.deepEqual(data(result.text), data(read("expected")!));
      // Symmetry: swapping sides finds the same conflicts; a clean merge gives the same data.
      const swapped = mergeRecords(read("base"), read("theirs")!, read("mine")!)!;
      assert.deepEqual(swapped.conflicts, wanted);
      if (wanted.length === 0) assert.deepEqual(data(swapped.text).map(sortProps), data(result.text).map(sortProps));
    });
  }
});

/** Component data with properties in a canonical order (a merge keeps MINE's order). */
function sortProps(c: unknown): unknown {
  const x = c as { properties: unknown[]; components: unknown[] };
  return { ...x, properties: [...x.properties].map((p) => JSON.stringify(p)).sort(), components: x.components.map(sortProps).map((c) => JSON.stringify(c)).sort() };
}

describe("round trip over a corpus of real-world exports", () => {
  for (const name of readdirSync(CORPUS).sort()) {
    test(name, () => {
      const text = readFileSync(join(CORPUS, name), "utf8");
      const parsed = parseVObjects(text);
      assert.ok(parsed.length > 0);
      const written = serializeVObjects(parsed);
      assert.deepEqual(data(written), data(text), "parse → serialize → parse keeps every property");
      assert.equal(serializeVObjects(parseVObjects(written)), written, "serializing is stable");
      for (const line of written.split("\r\n")) assert.ok(Buffer.byteLength(line) <= 75, `folded: ${line}`);
      // Merging a file with itself changes nothing.
      const self = mergeRecords(text, text, text)!;
      assert.deepEqual(self.conflicts, []);
      assert.deepEqual(data(self.text), data(text));
    });
  }

  test("the corpus's details survive: groups, bare 2.1 types, quoted parameters, quoted-printable, Unicode", () => {
    const apple = parseVObjects(readFileSync(join(CORPUS, "apple-contacts.vcf"), "utf8"))[0]!;
    assert.equal(apple.properties.find((p) => p.name === "X-ABLABEL")?.group, "item2");
    assert.equal(apple.properties.find((p) => p.name === "PHOTO")?.value.length, 228);
    const outlook = parseVObjects(readFileSync(join(CORPUS, "outlook-21.vcf"), "utf8"))[0]!;
    assert.deepEqual(outlook.properties.find((p) => p.name === "TEL")?.params, [{ name: "WORK" }, { name: "VOICE" }]);
    assert.equal(outlook.properties.find((p) => p.name === "LABEL")?.value, "Hauptstra=C3=9Fe 1=0D=0A10115 Berlin=0D=0ADeutschland");
    const rfc = parseVObjects(readFileSync(join(CORPUS, "rfc6350-vcard4.vcf"), "utf8"))[0]!;
    const adr = rfc.properties.find((p) => p.name === "ADR")!;
    assert.match(adr.params.find((p) => p.name === "LABEL")!.values![0]!, /suite D2-630\\nQuebec, QC, Canada/);
    const calendar = parseVObjects(readFileSync(join(CORPUS, "outlook-calendar.ics"), "utf8"))[0]!;
    const attendee = calendar.components[1]!.properties.find((p) => p.name === "ATTENDEE")!;
    assert.deepEqual(attendee.params[0], { name: "CN", values: ["Müller, Jürgen"] });
    const android = parseVObjects(readFileSync(join(CORPUS, "android-contacts.vcf"), "utf8"));
    assert.equal(android[1]!.properties.find((p) => p.name === "NOTE")?.value, "Gặp ở hội nghị 2023 — rất thân thiện 😀");
  });
});

describe("parser errors name the line", () => {
  const rows: [string, string, number, RegExp][] = [
    ["no colon", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN Ann\r\nEND:VCARD\r\n", 3, /expected ':'/],
    ["unclosed component", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann\r\n", 4, /never closed/],
    ["END of another component", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n", 3, /closes BEGIN:VEVENT of line 2/],
    ["property outside a component", "FN:Ann\r\n", 1, /outside/],
    ["unterminated quoted parameter", "BEGIN:VCARD\r\nFN;X=\"a:b\r\nEND:VCARD\r\n", 2, /unterminated/],
    ["line numbers count folded lines", "BEGIN:VCARD\r\nNOTE:a\r\n  b\r\n c\r\nbad line\r\nEND:VCARD\r\n", 5, /property name|expected ':'/],
  ];
  for (const [name, text, line, message] of rows) {
    test(name, () => {
      assert.throws(() => parseVObjects(text), (error: unknown) => error instanceof VObjectSyntaxError && error.line === line && message.test(error.message));
    });
  }
  test("a version that does not parse is no record merge (the caller merges lines)", () => {
    assert.equal(mergeRecords(undefined, "BEGIN:VCARD\r\n", "BEGIN:VCARD\r\nEND:VCARD\r\n"), undefined);
  });
});

test("folding never splits a UTF-8 character and stays within 75 octets", () => {
  const line = "NOTE:" + "日本語😀".repeat(40);
  const folded = foldLine(line);
  for (const part of folded.split("\r\n")) assert.ok(Buffer.byteLength(part) <= 75);
  assert.equal(folded.replace(/\r\n /g, ""), line);
});

test("recordStamp reads REV, LAST-MODIFIED and DTSTAMP", () => {
  assert.equal(recordStamp("BEGIN:VCARD\r\nREV:2024-05-01T10:00:00Z\r\nEND:VCARD\r\n"), "20240501100000");
  assert.equal(recordStamp("BEGIN:VCARD\r\nREV:20240101\r\nEND:VCARD\r\n"), "20240101000000");
  assert.equal(recordStamp("BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n"), undefined);
  assert.equal(recordStamp("not a card"), undefined);
});
