/** Conflict policies and typed merges in the one content planner, and the policy choice by path (pure). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { choosePolicy, builtinTypeOf, sniffContentType, noteTitleOf } from "../../src/merge/content-kinds.js";
import { planContentMerge, conflictReasonOf, type ContentMergePlan } from "../../src/merge/content-plan.js";

const labels = { mine: ".mine", base: ".r1", theirs: ".r2" };
const b = (s: string) => Buffer.from(s, "utf8");
const card = (tel: string, rev: string) => b(`BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nTEL;TYPE=cell:${tel}\r\nREV:${rev}\r\nEND:VCARD\r\n`);

const rows: { name: string; plan: ContentMergePlan; expect: Partial<ContentMergePlan> & Record<string, unknown> }[] = [
  { name: "mine keeps the working file", plan: planContentMerge({ base: b("a\n"), mine: b("m\n"), theirs: b("t\n") }, { labels, policy: "mine" }), expect: { outcome: "kept", version: "mine" } },
  { name: "theirs takes the other version", plan: planContentMerge({ base: b("a\n"), mine: b("m\n"), theirs: b("t\n") }, { labels, policy: "theirs" }), expect: { outcome: "kept", version: "theirs" } },
  { name: "error merges nothing, base and theirs beside", plan: planContentMerge({ base: b("a\n"), mine: b("m\n"), theirs: b("t\n") }, { labels, policy: "error" }), expect: { outcome: "binary", beside: ["base", "theirs"] } },
  { name: "newest by record stamps", plan: planContentMerge({ base: card("1", "20240101"), mine: card("2", "20240301"), theirs: card("3", "20240201") }, { labels, policy: "newest", contentType: "text/vcard" }), expect: { outcome: "kept", version: "mine" } },
  { name: "newest by times", plan: planContentMerge({ base: b("a\n"), mine: b("m\n"), theirs: b("t\n") }, { labels, policy: "newest", times: { mine: 1, theirs: 2 } }), expect: { outcome: "kept", version: "theirs" } },
  { name: "newest without dates keeps both", plan: planContentMerge({ base: b("a\n"), mine: b("m\n"), theirs: b("t\n") }, { labels, policy: "newest" }), expect: { outcome: "binary", beside: ["base", "theirs"] } },
  { name: "contacts merge per property", plan: planContentMerge({ base: card("1", "20240101"), mine: card("2", "20240101"), theirs: card("3", "20240101") }, { labels, contentType: "text/x-vcard" }), expect: { outcome: "conflict", regions: 1, reason: "conflicting properties: TEL;TYPE=cell", beside: ["mine", "base", "theirs"] } },
  { name: "a contact that does not parse merges as text", plan: planContentMerge({ base: b("a\n"), mine: b("m\n"), theirs: b("a\n") }, { labels, contentType: "text/vcard" }), expect: { outcome: "merged", text: "m\n" } },
];

for (const row of rows) {
  test(row.name, () => {
    for (const [key, value] of Object.entries(row.expect)) assert.deepEqual((row.plan as unknown as Record<string, unknown>)[key], value, key);
    if (row.plan.outcome === "conflict") assert.equal(conflictReasonOf(row.plan), row.expect.reason);
  });
}

test("choosePolicy: --policy, then the longest prefix, then the type default, then merge", () => {
  const byPath = { contacts: "theirs", "contacts/work": "error", "": "mine" } as const;
  assert.equal(choosePolicy("contacts/work/a.vcf", { byPath, override: "newest" }), "newest");
  assert.equal(choosePolicy("contacts/work/a.vcf", { byPath }), "error");
  assert.equal(choosePolicy("contacts/a.vcf", { byPath }), "theirs");
  assert.equal(choosePolicy("contactsX/a.vcf", { byPath }), "mine");
  assert.equal(choosePolicy("x", { typeDefault: "error" }), "error");
  assert.equal(choosePolicy("x", {}), "merge");
});

test("built-in type names, sniffing and note titles", () => {
  assert.equal(builtinTypeOf("TEXT/VCARD; charset=utf-8"), "contact");
  assert.equal(builtinTypeOf("text/calendar"), "event");
  assert.equal(builtinTypeOf("text/markdown"), "note");
  assert.equal(builtinTypeOf("text/plain"), undefined);
  assert.equal(sniffContentType(b("\uFEFF  begin:vcard\r\n")), "text/vcard");
  assert.equal(sniffContentType(b("BEGIN:VCALENDAR\r\n")), "text/calendar");
  assert.equal(sniffContentType(b("hello")), undefined);
  assert.equal(noteTitleOf("notes/Shopping list.md"), "Shopping list");
});
