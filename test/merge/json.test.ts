/** The per-key JSON merge (src/merge/json.ts) and the client's reading of announced types. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { planContentMerge } from "../../src/merge/content-plan.js";
import { announcedTypeByName, announcedTypeOf, type AnnouncedType } from "../../src/merge/content-kinds.js";
import { mergeJson } from "../../src/merge/json.js";
import { ManifestError, parseAnnouncedTypes } from "../../src/protocol/manifest.js";

const doc = (value: unknown) => JSON.stringify(value, null, 2) + "\n";

const CASES: { name: string; base?: unknown; mine: unknown; theirs: unknown; merged: unknown; conflicts: string[] }[] = [
  { name: "different keys", base: { a: 1, b: 2 }, mine: { a: 10, b: 2 }, theirs: { a: 1, b: 20 }, merged: { a: 10, b: 20 }, conflicts: [] },
  { name: "same change", base: { a: 1 }, mine: { a: 2 }, theirs: { a: 2 }, merged: { a: 2 }, conflicts: [] },
  { name: "nested keys", base: { s: { x: 1, y: 1 } }, mine: { s: { x: 2, y: 1 } }, theirs: { s: { x: 1, y: 3 } }, merged: { s: { x: 2, y: 3 } }, conflicts: [] },
  { name: "nested conflict named by path", base: { s: { x: 1 } }, mine: { s: { x: 2 } }, theirs: { s: { x: 3 } }, merged: { s: { x: 2 } }, conflicts: ["s.x"] },
  { name: "removed vs unchanged removes", base: { a: 1, b: 2 }, mine: { a: 1 }, theirs: { a: 1, b: 2, c: 3 }, merged: { a: 1, c: 3 }, conflicts: [] },
  { name: "removed vs changed conflicts", base: { a: 1, b: 2 }, mine: { a: 1 }, theirs: { a: 1, b: 3 }, merged: { a: 1 }, conflicts: ["b"] },
  { name: "arrays are single values", base: { l: [1] }, mine: { l: [1, 2] }, theirs: { l: [0, 1] }, merged: { l: [1, 2] }, conflicts: ["l"] },
  { name: "added on both sides without base", mine: { a: 1, u: "ü" }, theirs: { a: 1, b: 2 }, merged: { a: 1, u: "ü", b: 2 }, conflicts: [] },
  { name: "scalar documents", base: 1, mine: 2, theirs: 3, merged: 2, conflicts: ["(the whole document)"] },
];

for (const c of CASES) {
  test(`mergeJson: ${c.name}`, () => {
    const result = mergeJson(c.base === undefined ? undefined : doc(c.base), doc(c.mine), doc(c.theirs))!;
    assert.deepEqual(JSON.parse(result.text), c.merged);
    assert.deepEqual(result.conflicts, c.conflicts);
    assert.equal(result.clean, c.conflicts.length === 0);
  });
}

test("mergeJson keeps MINE's text when nothing came from theirs, its indentation otherwise; not JSON is undefined", () => {
  const mine = '{"a": 2,   "b": 1}';
  assert.equal(mergeJson('{"a":1,"b":1}', mine, '{"a":1,"b":1}')!.text, mine);
  assert.equal(mergeJson('{"a":1,"b":1}', '{\n\t"a": 2,\n\t"b": 1\n}\n', '{"a":1,"b":3}')!.text, '{\n\t"a": 2,\n\t"b": 3\n}\n');
  assert.equal(mergeJson("{}", "{", "{}"), undefined);
});

test("the planner merges by the announced kind: json, binary, records; unknown media types by lines", () => {
  const types: AnnouncedType[] = [
    { name: "settings", mediaTypes: ["application/x-settings+json"], extensions: [".settings"], merge: "json", defaultPolicy: "merge" },
    { name: "blob", mediaTypes: ["text/x-blob"], extensions: [], merge: "binary", defaultPolicy: "merge" },
  ];
  const bytes = (v: unknown) => Buffer.from(doc(v));
  const versions = { base: bytes({ a: 1, b: 1 }), mine: bytes({ a: 2, b: 1 }), theirs: bytes({ a: 1, b: 2 }) };
  const labels = { mine: ".mine", base: ".r1", theirs: ".r2" };
  const json = planContentMerge(versions, { labels, types, contentType: "application/x-settings+json; charset=utf-8" });
  assert.equal(json.outcome, "merged");
  assert.deepEqual(JSON.parse((json as { text: string }).text), { a: 2, b: 2 });
  assert.deepEqual(planContentMerge(versions, { labels, types, contentType: "text/x-blob" }), { outcome: "binary", beside: ["base", "theirs"] });
  assert.equal(planContentMerge(versions, { labels, contentType: "application/x-settings+json" }).outcome, "conflict", "without the announcement: lines (adjacent lines conflict)");
  assert.equal(announcedTypeOf("text/vcard", types)?.merge, "records", "built-ins without announcement");
  assert.equal(announcedTypeByName("conf/app.SETTINGS", types)?.name, "settings");
  assert.equal(announcedTypeByName(".settings", types), undefined, "the extension alone is no name");
});

test("parseAnnouncedTypes refuses what a hostile server could send", () => {
  const good = { name: "todo", mediaTypes: ["text/x-todo"], extensions: [".todo"], merge: "lines", defaultPolicy: "merge" };
  assert.deepEqual(parseAnnouncedTypes([good], "types"), [good]);
  for (const bad of [{ ...good, merge: "eval" }, { ...good, defaultPolicy: "always" }, { ...good, name: "../x" }, { ...good, extensions: ["../../x"] }, { ...good, mediaTypes: "text/x" }, "todo"]) {
    assert.throws(() => parseAnnouncedTypes([bad], "types"), ManifestError, JSON.stringify(bad));
  }
  assert.throws(() => parseAnnouncedTypes({}, "types"), ManifestError);
});
