import { test } from "node:test";
import assert from "node:assert/strict";
import { decideDir, type DirAction, type DirSituation } from "../../src/merge/dir-decision.js";
import { decideFile, type FileAction, type FileSituation } from "../../src/merge/file-decision.js";
import { mergeText } from "../../src/merge/text.js";

/**
 * One row per case of the zsync merger tests (reference `zsync.md` §7.2) that applies to update.
 * Contents in the case descriptions are (local, original = BASE, remote); `—` = absent.
 */
interface FileRow {
  name: string;
  situation: FileSituation;
  expected: FileAction;
  /** For "merge" rows: the texts, and the report the caller derives from the merge result. */
  texts?: { base: string; mine: string; theirs: string; report: "G" | "C"; merged?: string };
}

const fileRows: FileRow[] = [
  {
    name: "zsync case 14 (and 34): a/a/a → nothing, nothing to report",
    situation: { local: "unchanged", base: true, remote: "unchanged" },
    expected: { action: "nothing" },
  },
  {
    name: "zsync case 15 (and 35): ab/a/a → nothing, M",
    situation: { local: "modified", base: true, remote: "unchanged" },
    expected: { action: "nothing", report: "M" },
  },
  {
    name: "zsync case 16 (and 36): a/a/ab → take remote, U",
    situation: { local: "unchanged", base: true, remote: "changed" },
    expected: { action: "take-remote", report: "U" },
  },
  {
    name: "zsync case 17: l\\na\\n / a\\n / a\\nr\\n → merge, clean (G)",
    situation: { local: "modified", base: true, remote: "changed", sameContent: false },
    expected: { action: "merge", report: "G" },
    texts: { base: "a\n", mine: "l\na\n", theirs: "a\nr\n", report: "G", merged: "l\na\nr\n" },
  },
  {
    name: "zsync case 18: ab/a/ac → merge, conflict (C)",
    situation: { local: "modified", base: true, remote: "changed", sameContent: false },
    expected: { action: "merge", report: "G" },
    texts: { base: "a", mine: "ab", theirs: "ac", report: "C" },
  },
  {
    name: "zsync case 19 (and 42): added locally only → nothing, A",
    situation: { local: "modified", base: false, remote: "absent", schedule: "added" },
    expected: { action: "nothing", report: "A" },
  },
  {
    name: "zsync case 20 (and 43): new on the server only → take remote, U",
    situation: { local: "absent", base: false, remote: "changed" },
    expected: { action: "take-remote", report: "U" },
  },
  {
    name: "zsync case 21 (and 44): added on both sides with the same content → adopt, U",
    situation: { local: "modified", base: false, remote: "changed", schedule: "added", sameContent: true },
    expected: { action: "adopt", report: "U" },
  },
  {
    name: "zsync case 22: added on both sides, different content → two-way merge over an empty base, conflict",
    situation: { local: "modified", base: false, remote: "changed", schedule: "added", sameContent: false },
    expected: { action: "merge", report: "G" },
    texts: { base: "", mine: "a", theirs: "b", report: "C" },
  },
  {
    name: "zsync case 23 (and 45): removed locally, unchanged on the server → nothing, R",
    situation: { local: "absent", base: true, remote: "unchanged", schedule: "removed" },
    expected: { action: "nothing", report: "R" },
  },
  {
    name: "zsync case 24 (and 46): unmodified, deleted on the server → delete, D",
    situation: { local: "unchanged", base: true, remote: "absent" },
    expected: { action: "delete", report: "D" },
  },
  {
    name: "zsync case 25 (and 47): removed locally and on the server → forget, D",
    situation: { local: "absent", base: true, remote: "absent", schedule: "removed" },
    expected: { action: "forget", report: "D" },
  },
  {
    name: "zsync case 26: lost locally, unchanged on the server → take remote, U",
    situation: { local: "absent", base: true, remote: "unchanged" },
    expected: { action: "take-remote", report: "U" },
  },
  {
    name: "zsync case 27: lost locally, changed on the server → take remote, U",
    situation: { local: "absent", base: true, remote: "changed" },
    expected: { action: "take-remote", report: "U" },
  },
  {
    name: "zsync case 28: lost locally, deleted on the server → forget, D",
    situation: { local: "absent", base: true, remote: "absent" },
    expected: { action: "forget", report: "D" },
  },
  {
    name: "zsync case 29: unversioned file, nothing on the server → nothing, ?",
    situation: { local: "modified", base: false, remote: "absent" },
    expected: { action: "nothing", report: "?" },
  },
  {
    name: "zsync case 30 (and 40): sticky conflict, file still has markers → nothing, C",
    situation: { local: "modified", base: true, remote: "unchanged", conflicted: true },
    expected: { action: "nothing", report: "C" },
  },
  {
    name: "zsync case 30: sticky conflict blocks a further server change too (bug §8-22 kept, as svn does)",
    situation: { local: "modified", base: true, remote: "changed", conflicted: true },
    expected: { action: "nothing", report: "C" },
  },
  {
    name: "zsync case 41: conflict cleared by hand but unresolved (all equal) → nothing, C",
    situation: { local: "unchanged", base: true, remote: "unchanged", conflicted: true },
    expected: { action: "nothing", report: "C" },
  },
  {
    name: "zsync case 37: a\\nl\\n / a\\n / r\\na\\n → merge, clean (G)",
    situation: { local: "modified", base: true, remote: "changed", sameContent: false },
    expected: { action: "merge", report: "G" },
    texts: { base: "a\n", mine: "a\nl\n", theirs: "r\na\n", report: "G", merged: "r\na\nl\n" },
  },
  {
    name: "zsync case 38: same change on both sides ab/a/ab → adopt, U",
    situation: { local: "modified", base: true, remote: "changed", sameContent: true },
    expected: { action: "adopt", report: "U" },
  },
  {
    name: "zsync case 39: l\\n / a\\n / r\\n → merge, conflict (C)",
    situation: { local: "modified", base: true, remote: "changed", sameContent: false },
    expected: { action: "merge", report: "G" },
    texts: { base: "a\n", mine: "l\n", theirs: "r\n", report: "C" },
  },
  {
    name: "zsync case 49: added tree, file x added locally only → nothing, A",
    situation: { local: "modified", base: false, remote: "absent", schedule: "added" },
    expected: { action: "nothing", report: "A" },
  },
  {
    name: "zsync case 49: added tree, file x new on the server → take remote, U",
    situation: { local: "absent", base: false, remote: "changed" },
    expected: { action: "take-remote", report: "U" },
  },
  {
    name: "zsync case 49: added tree on both sides, same x → adopt, U",
    situation: { local: "modified", base: false, remote: "changed", schedule: "added", sameContent: true },
    expected: { action: "adopt", report: "U" },
  },
  {
    name: "zsync case 51: removed tree on the server, unmodified x → delete, D",
    situation: { local: "unchanged", base: true, remote: "absent" },
    expected: { action: "delete", report: "D" },
  },
  {
    name: "zsync case 52 (update part; overwrite_local is commit-only): l/a/r → merge, conflict (C)",
    situation: { local: "modified", base: true, remote: "changed", sameContent: false },
    expected: { action: "merge", report: "G" },
    texts: { base: "a", mine: "l", theirs: "r", report: "C" },
  },
  {
    name: "zsync case 52 (update part): a/a/r → take remote, U",
    situation: { local: "unchanged", base: true, remote: "changed" },
    expected: { action: "take-remote", report: "U" },
  },
  {
    name: "zsync case 52 (update part): l/a/l → adopt, U",
    situation: { local: "modified", base: true, remote: "changed", sameContent: true },
    expected: { action: "adopt", report: "U" },
  },
  {
    name: "zsync case 52 (update part): a/a/a → nothing",
    situation: { local: "unchanged", base: true, remote: "unchanged" },
    expected: { action: "nothing" },
  },
  {
    name: "zsync case 52 (update part): l/a/a → nothing, M",
    situation: { local: "modified", base: true, remote: "unchanged" },
    expected: { action: "nothing", report: "M" },
  },
  // Deliberate differences from zsync.
  {
    name: "differs from zsync (rule 6, bug §8-3): edited locally, deleted on the server → tree conflict, local file kept",
    situation: { local: "modified", base: true, remote: "absent" },
    expected: { action: "tree-conflict", report: "C", reason: "edited locally, deleted on the server" },
  },
  {
    name: "differs from zsync (case 51 with an edited x, bug §8-3): edited file in a tree deleted on the server → tree conflict",
    situation: { local: "modified", base: true, remote: "absent" },
    expected: { action: "tree-conflict", report: "C", reason: "edited locally, deleted on the server" },
  },
  {
    name: "differs from zsync (rule 5c, bug §8-19): removed locally, changed on the server → recorded tree conflict",
    situation: { local: "absent", base: true, remote: "changed", schedule: "removed" },
    expected: { action: "tree-conflict", report: "C", reason: "removed locally, changed on the server" },
  },
  {
    name: "differs from zsync (rule 4): unversioned file in the way of a new server file → tree conflict, never overwritten",
    situation: { local: "modified", base: false, remote: "changed", sameContent: false },
    expected: { action: "tree-conflict", report: "C", reason: "obstructed: an unversioned file is in the way" },
  },
  {
    name: "differs from zsync (rule 4): unversioned file equal to the new server file → adopt, U",
    situation: { local: "modified", base: false, remote: "changed", sameContent: true },
    expected: { action: "adopt", report: "U" },
  },
  {
    name: "differs from zsync (rule 5a): scheduled removal but the file is still on disk, deleted on the server → forget the entry, keep the file",
    situation: { local: "unchanged", base: true, remote: "absent", schedule: "removed" },
    expected: { action: "forget", report: "D" },
  },
  {
    name: "differs from zsync (rule 3d with a missing file): added, file gone, on the server → take remote, U",
    situation: { local: "absent", base: false, remote: "changed", schedule: "added" },
    expected: { action: "take-remote", report: "U" },
  },
  {
    name: "differs from zsync (conflict cleared when the file is gone): conflicted and deleted locally → still C until resolve",
    situation: { local: "absent", base: true, remote: "changed", conflicted: true },
    expected: { action: "nothing", report: "C" },
  },
];

for (const row of fileRows) {
  test(`decideFile: ${row.name}`, () => {
    assert.deepEqual(decideFile(row.situation), row.expected);
    if (row.texts) {
      const result = mergeText(row.texts.base, row.texts.mine, row.texts.theirs, { mine: ".mine", base: ".r1", theirs: ".r2" });
      assert.equal(result.clean ? "G" : "C", row.texts.report);
      if (row.texts.merged !== undefined) assert.equal(result.text, row.texts.merged);
    }
  });
}

interface DirRow {
  name: string;
  situation: DirSituation;
  expected: DirAction;
}

const dirRows: DirRow[] = [
  {
    name: "zsync case 48: added empty dir locally only → nothing, A",
    situation: { local: "present", base: false, remote: "absent", schedule: "added", holdsLocalChanges: false },
    expected: { action: "nothing", report: "A" },
  },
  {
    name: "zsync case 48: new empty dir on the server → create, N",
    situation: { local: "absent", base: false, remote: "present", holdsLocalChanges: false },
    expected: { action: "create", report: "N" },
  },
  {
    name: "zsync case 48: added on both sides → create (adopt, flag cleared), U",
    situation: { local: "present", base: false, remote: "present", schedule: "added", holdsLocalChanges: false },
    expected: { action: "create", report: "U" },
  },
  {
    name: "zsync case 49: added tree {x} locally → nothing, A",
    situation: { local: "present", base: false, remote: "absent", schedule: "added", holdsLocalChanges: true },
    expected: { action: "nothing", report: "A" },
  },
  {
    name: "zsync case 49: added tree {x} on the server → create, N",
    situation: { local: "absent", base: false, remote: "present", holdsLocalChanges: false },
    expected: { action: "create", report: "N" },
  },
  {
    name: "zsync case 49: added tree {x} on both sides → create (adopt), U",
    situation: { local: "present", base: false, remote: "present", schedule: "added", holdsLocalChanges: true },
    expected: { action: "create", report: "U" },
  },
  {
    name: "zsync case 50: removed empty dir locally, still on the server → nothing, R",
    situation: { local: "absent", base: true, remote: "present", schedule: "removed", holdsLocalChanges: false },
    expected: { action: "nothing", report: "R" },
  },
  {
    name: "zsync case 50: empty dir removed on the server → delete, D",
    situation: { local: "present", base: true, remote: "absent", holdsLocalChanges: false },
    expected: { action: "delete", report: "D" },
  },
  {
    name: "zsync case 50: removed on both sides → forget, D",
    situation: { local: "absent", base: true, remote: "absent", schedule: "removed", holdsLocalChanges: false },
    expected: { action: "forget", report: "D" },
  },
  {
    name: "zsync case 51: removed tree {x} locally → nothing, R",
    situation: { local: "absent", base: true, remote: "present", schedule: "removed", holdsLocalChanges: false },
    expected: { action: "nothing", report: "R" },
  },
  {
    name: "zsync case 51: tree {x} removed on the server, x unmodified → delete, D",
    situation: { local: "present", base: true, remote: "absent", holdsLocalChanges: false },
    expected: { action: "delete", report: "D" },
  },
  {
    name: "zsync case 51: tree removed on both sides → forget, D",
    situation: { local: "absent", base: true, remote: "absent", schedule: "removed", holdsLocalChanges: false },
    expected: { action: "forget", report: "D" },
  },
  {
    name: "zsync §5.6 B: checked-out dir present on both sides → nothing (descend)",
    situation: { local: "present", base: true, remote: "present", holdsLocalChanges: true },
    expected: { action: "nothing" },
  },
  {
    name: "zsync §5.6 B: checked-out dir lost locally, on the server → create, N",
    situation: { local: "absent", base: true, remote: "present", holdsLocalChanges: false },
    expected: { action: "create", report: "N" },
  },
  {
    name: "zsync §5.6 A: dir lost locally and deleted on the server → forget, D",
    situation: { local: "absent", base: true, remote: "absent", holdsLocalChanges: false },
    expected: { action: "forget", report: "D" },
  },
  {
    name: "differs from zsync (case 51 with an edited x, bug §8-3): dir deleted on the server holding local changes → tree conflict, everything kept",
    situation: { local: "present", base: true, remote: "absent", holdsLocalChanges: true },
    expected: { action: "tree-conflict", report: "C", reason: "deleted on the server, but holds local changes" },
  },
  {
    name: "differs from zsync (§5.6 A, silent): unversioned local dir, new on the server → create (adopt), U",
    situation: { local: "present", base: false, remote: "present", holdsLocalChanges: true },
    expected: { action: "create", report: "U" },
  },
  {
    name: "differs from zsync (§5.6 A reports ?): unversioned local dir, nothing on the server → nothing, no report",
    situation: { local: "present", base: false, remote: "absent", holdsLocalChanges: true },
    expected: { action: "nothing" },
  },
];

for (const row of dirRows) {
  test(`decideDir: ${row.name}`, () => {
    assert.deepEqual(decideDir(row.situation), row.expected);
  });
}

/** Every combination of the inputs of decideFile, including ones the caller should not produce. */
function allFileSituations(): FileSituation[] {
  const situations: FileSituation[] = [];
  for (const local of ["absent", "unchanged", "modified"] as const)
    for (const base of [false, true])
      for (const remote of ["absent", "unchanged", "changed"] as const)
        for (const schedule of [undefined, "added", "removed"] as const)
          for (const conflicted of [undefined, false, true])
            for (const sameContent of [undefined, false, true]) {
              situations.push({ local, base, remote, ...(schedule && { schedule }), conflicted, sameContent });
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
      assert.notEqual(decision.action, "take-remote", label);
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
