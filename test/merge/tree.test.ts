/**
 * Runs every folder of `test/merge/tree-cases/` (see its README.md) through the tree reconciler,
 * and checks that the table is complete: every combination of kinds on both sides is decided, and
 * every tree conflict it records is one `resolve` knows how to end.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { isKindClash, reconcileTree, type TreeSituation, type TreeStep } from "../../src/merge/tree.js";

const CASES = fileURLToPath(new URL("./tree-cases/", import.meta.url));

interface TreeCase {
  note: string;
  svn?: string;
  zsync?: string;
  situation: TreeSituation;
  expect: TreeStep;
}

for (const name of readdirSync(CASES).filter((n) => n !== "README.md").sort()) {
  const c = JSON.parse(readFileSync(join(CASES, name, "case.json"), "utf8")) as TreeCase;
  test(`${name}${c.svn ? ` [svn: ${c.svn}]` : ""}: ${c.note}`, () => {
    assert.ok(name.startsWith("svn-") === (c.svn !== undefined), "svn-* folders name svn's case, and only they");
    const step = reconcileTree(c.situation);
    assert.deepEqual(step, c.expect);
    if (step.step === "tree-conflict") assert.ok(isKindClash(step.reason), "resolve recognises the conflict");
  });
}

test("every combination of kinds is decided, and a conflict never loses the local side", () => {
  const kinds = ["file", "folder", "none"] as const;
  for (const base of kinds)
    for (const disk of kinds)
      for (const incoming of ["file", "folder", "deleted"] as const)
        for (const added of [undefined, "file", "folder"] as const)
          for (const removed of [false, true])
            for (const conflicted of [false, true])
              for (const localChanges of [false, true]) {
                if (added && base !== "none") continue; // an added entry has no BASE
                if (removed && base === "none") continue;
                const s: TreeSituation = { base, disk, incoming, added, removed, conflicted, localChanges };
                const step = reconcileTree(s);
                if (conflicted) assert.equal(step.step, "sticky");
                // Replacing removes the local object: only when nothing local is at stake.
                if (step.step === "replace") assert.ok((removed && disk === "none") || !localChanges, JSON.stringify(s));
                // The per-kind tables only ever see one kind on each side.
                if (step.step === "per-kind" && incoming !== "deleted") {
                  const localKind = added ?? (base !== "none" ? base : disk);
                  assert.ok(localKind === "none" || localKind === incoming, JSON.stringify(s));
                  if (base !== "none" && !removed) assert.ok(disk === "none" || disk === base, JSON.stringify(s));
                }
              }
});
