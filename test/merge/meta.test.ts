import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson, mergeMeta } from "../../src/merge/meta.js";
import type { ObjectMeta } from "../../src/protocol/types.js";

const base: ObjectMeta = {
  contentType: "text/html",
  extra: { title: "Home", tags: ["a", "b"] },
  annotations: { dc: { creator: "alice", subjects: ["x"] } },
};

test("unchanged on both sides keeps the metadata", () => {
  assert.deepEqual(mergeMeta(base, base, base), { clean: true, meta: base, conflicts: [] });
});

test("a key changed on one side takes that side, per key", () => {
  const mine: ObjectMeta = { ...base, extra: { ...base.extra, title: "Start" } };
  const theirs: ObjectMeta = { ...base, contentType: "text/plain", annotations: { dc: { creator: "bob", subjects: ["x"] } } };
  assert.deepEqual(mergeMeta(base, mine, theirs), {
    clean: true,
    meta: {
      contentType: "text/plain",
      extra: { title: "Start", tags: ["a", "b"] },
      annotations: { dc: { creator: "bob", subjects: ["x"] } },
    },
    conflicts: [],
  });
});

test("the same change on both sides is fine, with deep equality ignoring key order", () => {
  const mine: ObjectMeta = { ...base, annotations: { dc: { creator: "carol", subjects: ["x"] } } };
  const theirs: ObjectMeta = { ...base, annotations: { dc: { subjects: ["x"], creator: "carol" } } };
  const result = mergeMeta(base, mine, theirs);
  assert.equal(result.clean, true);
  assert.deepEqual(result.meta?.annotations, { dc: { creator: "carol", subjects: ["x"] } });
});

test("different changes of one key conflict and keep mine; other keys still merge", () => {
  const mine: ObjectMeta = { contentType: "text/markdown", extra: { title: "Mine", tags: ["a", "b"] }, annotations: base.annotations };
  const theirs: ObjectMeta = { contentType: "text/plain", extra: { title: "Theirs", tags: ["c"] }, annotations: { dc: { creator: "bob" } } };
  assert.deepEqual(mergeMeta(base, mine, theirs), {
    clean: false,
    meta: { contentType: "text/markdown", extra: { title: "Mine", tags: ["c"] }, annotations: { dc: { creator: "bob" } } },
    conflicts: ["contentType", "extra.title"],
  });
});

test("nested values are not merged inside: a record changed differently on both sides is one conflict", () => {
  const mine: ObjectMeta = { ...base, annotations: { dc: { creator: "carol", subjects: ["x"] } } };
  const theirs: ObjectMeta = { ...base, annotations: { dc: { creator: "alice", subjects: ["y"] } } };
  const result = mergeMeta(base, mine, theirs);
  assert.deepEqual(result.conflicts, ["annotations.dc"]);
  assert.deepEqual(result.meta?.annotations, mine.annotations);
});

test("deleting a key is a change: delete vs unchanged deletes, delete vs edit conflicts", () => {
  const mine: ObjectMeta = { contentType: "text/html", extra: {} }; // deleted title, tags and the dc annotation
  const theirs: ObjectMeta = { ...base, extra: { title: "Home", tags: ["changed"] } };
  assert.deepEqual(mergeMeta(base, mine, theirs), {
    clean: false,
    meta: { contentType: "text/html" }, // tags: mine (deleted) kept for the conflict; empty records dropped
    conflicts: ["extra.tags"],
  });
});

test("a key deleted on both sides stays deleted; added on both sides the same way is fine", () => {
  const mine: ObjectMeta = { contentType: "text/html", extra: { title: "Home", tags: ["a", "b"], lang: "de" } };
  const theirs: ObjectMeta = { contentType: "text/html", extra: { lang: "de", title: "Home", tags: ["a", "b"] } };
  assert.deepEqual(mergeMeta(base, mine, theirs), {
    clean: true,
    meta: { contentType: "text/html", extra: { title: "Home", tags: ["a", "b"], lang: "de" } },
    conflicts: [],
  });
});

test("added on both sides differently conflicts and keeps mine", () => {
  const result = mergeMeta(undefined, { extra: { title: "A" } }, { extra: { title: "B" } });
  assert.deepEqual(result, { clean: false, meta: { extra: { title: "A" } }, conflicts: ["extra.title"] });
});

test("undefined sides mean no metadata; an all-empty result is undefined", () => {
  assert.deepEqual(mergeMeta(undefined, undefined, undefined), { clean: true, meta: undefined, conflicts: [] });
  assert.deepEqual(mergeMeta(base, undefined, base), { clean: true, meta: undefined, conflicts: [] });
  assert.deepEqual(mergeMeta(base, base, undefined), { clean: true, meta: undefined, conflicts: [] });
  assert.deepEqual(mergeMeta(undefined, { extra: {}, annotations: {} }, undefined), { clean: true, meta: undefined, conflicts: [] });
  assert.deepEqual(mergeMeta(undefined, undefined, { contentType: "image/png" }), {
    clean: true,
    meta: { contentType: "image/png" },
    conflicts: [],
  });
});

test("a member explicitly set to undefined counts as absent", () => {
  const result = mergeMeta({ extra: { title: "T" } }, { extra: { title: undefined } }, { extra: { title: "T" } });
  assert.deepEqual(result, { clean: true, meta: undefined, conflicts: [] });
});

test("keys named like Object.prototype members, including __proto__, are ordinary keys", () => {
  const mine = { extra: JSON.parse('{"__proto__": {"polluted": true}, "toString": "mine"}') as Record<string, unknown> };
  const result = mergeMeta(undefined, mine, undefined);
  assert.equal(result.clean, true);
  const extra = result.meta?.extra as Record<string, unknown>;
  assert.deepEqual(Object.keys(extra), ["__proto__", "toString"]);
  assert.equal(Object.getPrototypeOf(extra), Object.prototype);
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
});

test("canonicalJson sorts object keys at every depth and keeps array order", () => {
  assert.equal(canonicalJson({ b: [{ d: 1, c: 2 }], a: null }), '{"a":null,"b":[{"c":2,"d":1}]}');
  assert.equal(canonicalJson(undefined), undefined);
  assert.equal(canonicalJson({ a: undefined }), "{}");
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

// Properties over random metadata from a small value space, so sides often coincide.
const jsonValue = fc.constantFrom<unknown>("x", "y", 1, true, null, ["x"], { k: "v" }, { k: "w" });
const record = fc.dictionary(fc.constantFrom("title", "lang", "dc", "tags"), jsonValue, { maxKeys: 4 });
const meta: fc.Arbitrary<ObjectMeta | undefined> = fc.option(
  fc.record(
    { contentType: fc.constantFrom("text/plain", "text/html"), extra: record, annotations: record },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

/** Metadata in canonical form (empty records dropped, all-empty = undefined), for comparisons. */
function normalized(value: ObjectMeta | undefined): string | undefined {
  return canonicalJson(mergeMeta(undefined, value, undefined).meta);
}

test("property: merge(b, b, t) = t, merge(b, m, b) = m, merge(b, x, x) = x, all clean", () => {
  fc.assert(
    fc.property(meta, meta, (b, x) => {
      for (const result of [mergeMeta(b, b, x), mergeMeta(b, x, b), mergeMeta(b, x, x)]) {
        assert.equal(result.clean, true);
        assert.deepEqual(result.conflicts, []);
        assert.equal(canonicalJson(result.meta), normalized(x));
      }
    }),
  );
});

test("property: conflicting keys hold mine's value; the conflict list is the same either way round", () => {
  fc.assert(
    fc.property(meta, meta, meta, (b, m, t) => {
      const forward = mergeMeta(b, m, t);
      const backward = mergeMeta(b, t, m);
      assert.deepEqual([...forward.conflicts].sort(), [...backward.conflicts].sort());
      assert.equal(forward.clean, forward.conflicts.length === 0);
      if (forward.clean) assert.equal(canonicalJson(forward.meta), canonicalJson(backward.meta));
      for (const name of forward.conflicts) {
        const [group, key] = name.split(".") as ["extra" | "annotations", string] | ["contentType"];
        const merged = key === undefined ? forward.meta?.contentType : forward.meta?.[group as "extra" | "annotations"]?.[key];
        const mine = key === undefined ? m?.contentType : m?.[group as "extra" | "annotations"]?.[key];
        assert.equal(canonicalJson(merged), canonicalJson(mine));
      }
    }),
  );
});
