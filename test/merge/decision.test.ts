/**
 * Exhaustive checks of the update decisions. The decision table itself — one case per zsync
 * acceptance case (reference `zsync.md` §7.2) and per deliberate difference from zsync — lives
 * in `test/merge/decisions/` as fixture folders, run by `decisions.test.ts`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { decideDir, type DirSituation } from "../../src/merge/dir-decision.js";
import { decideFile, type FileSituation } from "../../src/merge/file-decision.js";

/** Every combination of the inputs of decideFile, including ones the caller should not produce. */
function allFileSituations(): FileSituation[] {
  const situations: FileSituation[] = [];
  for (const local of ["absent", "unchanged", "modified"] as const)
    for (const base of [false, true])
      for (const remote of ["absent", "unchanged", "changed"] as const)
        for (const schedule of [undefined, "added", "removed"] as const)
          for (const conflicted of [undefined, false, true])
            for (const sameContent of [undefined, false, true])
              for (const cutShort of [undefined, true]) {
                situations.push({ local, base, remote, ...(schedule && { schedule }), conflicted, sameContent, ...(cutShort && { cutShort }) });
              }
  return situations;
}

test("zsync case 31 analogue (invariants after every decision): no decision destroys local bytes", () => {
  for (const s of allFileSituations()) {
    const decision = decideFile(s);
    const label = JSON.stringify(s);
    const hasLocalBytes = s.local === "modified" || (s.local === "unchanged" && !s.base);
    if (hasLocalBytes) {
      assert.notEqual(decision.action, "delete", label);
      // Only a file an interrupted checkout cut short is replaced: its bytes are the start of what replaces it.
      if (decision.action === "take-remote") assert.ok(s.cutShort && !s.base && s.schedule !== "added", label);
    }
    if (decision.action === "adopt") assert.ok(s.sameContent && s.local !== "absent" && s.remote !== "absent", label);
    if (decision.action === "delete") assert.ok(s.local === "unchanged" && s.base, label);
    if (decision.action === "merge") assert.ok(s.local !== "absent" && s.remote !== "absent", label);
    if (decision.action === "take-remote") assert.notEqual(s.remote, "absent", label);
    if (s.conflicted) assert.deepEqual(decision, { action: "nothing", report: "C" }, label);
    if (decision.action === "tree-conflict") assert.ok(decision.reason.length > 0, label);
  }
});

test("no directory decision deletes a directory that holds local changes", () => {
  for (const local of ["absent", "present"] as const)
    for (const base of [false, true])
      for (const remote of ["absent", "present"] as const)
        for (const schedule of [undefined, "added", "removed"] as const)
          for (const holdsLocalChanges of [false, true]) {
            const s: DirSituation = { local, base, remote, ...(schedule && { schedule }), holdsLocalChanges };
            const decision = decideDir(s);
            if (decision.action === "delete") assert.ok(!holdsLocalChanges && local === "present", JSON.stringify(s));
            if (decision.action === "create") assert.equal(remote, "present", JSON.stringify(s));
            if (decision.action === "tree-conflict") assert.ok(decision.reason, JSON.stringify(s));
          }
});
