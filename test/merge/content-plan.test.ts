/** The one content merge planner (src/merge/content-plan.ts) that update, merge and resolve share. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { conflictRegionsReason, planContentMerge, type ContentMergePlan } from "../../src/merge/content-plan.js";
import { mergeRegions, mergeText } from "../../src/merge/text.js";

const labels = { mine: ".mine", base: ".r1", theirs: ".r2" };
const b = (s: string) => Buffer.from(s, "utf8");
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]);

const rows: { name: string; base?: Buffer; mine: Buffer; theirs: Buffer; contentType?: string; expect: Partial<ContentMergePlan> & { outcome: ContentMergePlan["outcome"] } }[] = [
  { name: "update: edits on different lines merge cleanly (G)", base: b("a\nb\nc\n"), mine: b("A\nb\nc\n"), theirs: b("a\nb\nC\n"), expect: { outcome: "merged", text: "A\nb\nC\n", unchanged: false } },
  { name: "merge: TARGET already holds SOURCE's change (nothing to do)", base: b("a\n"), mine: b("b\n"), theirs: b("b\n"), expect: { outcome: "merged", text: "b\n", unchanged: true } },
  { name: "update: the same line changed on both sides conflicts, all three versions beside", base: b("a\n"), mine: b("m\n"), theirs: b("t\n"), expect: { outcome: "conflict", regions: 1, beside: ["mine", "base", "theirs"] } },
  { name: "update add/add (zsync rule 3d): an empty base, mine and theirs beside", mine: b("m\n"), theirs: b("t\n"), expect: { outcome: "conflict", regions: 1, beside: ["mine", "theirs"] } },
  { name: "binary by content: never merged, base and theirs beside", base: PNG, mine: Buffer.concat([PNG, b("m")]), theirs: Buffer.concat([PNG, b("t")]), expect: { outcome: "binary", beside: ["base", "theirs"] } },
  { name: "binary by content type: never merged", base: b("a\n"), mine: b("m\n"), theirs: b("t\n"), contentType: "image/png", expect: { outcome: "binary", beside: ["base", "theirs"] } },
];

for (const row of rows) {
  test(row.name, () => {
    const plan = planContentMerge({ base: row.base, mine: row.mine, theirs: row.theirs }, { labels, contentType: row.contentType });
    for (const [key, value] of Object.entries(row.expect)) assert.deepEqual((plan as unknown as Record<string, unknown>)[key], value, key);
    if (plan.outcome === "merged" || plan.outcome === "conflict") {
      // The text is mergeText's, and resolve's regions are the same merge's.
      const base = (row.base ?? b("")).toString();
      assert.equal(plan.text, mergeText(base, row.mine.toString(), row.theirs.toString(), labels).text);
      assert.equal(mergeRegions(base, row.mine.toString(), row.theirs.toString()).conflicts, plan.outcome === "conflict" ? plan.regions : 0);
    }
  });
}

test("conflict reasons count regions", () => {
  assert.equal(conflictRegionsReason(1), "1 conflicting region");
  assert.equal(conflictRegionsReason(3), "3 conflicting regions");
});
