/**
 * Runs every folder of `test/merge/decisions/` (see its README.md): the update decision table as
 * fixtures, one folder per zsync case (reference `zsync.md` §7.2, 14–52) and per deliberate
 * difference from zsync (the fixed data-loss cases first).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decideDir, DIR_CONFLICT_REASONS, type DirAction, type DirSituation } from "../../src/merge/dir-decision.js";
import { decideFile, FILE_CONFLICT_REASONS, type FileAction, type FileSituation } from "../../src/merge/file-decision.js";
import { mergeText, type MergeLabels } from "../../src/merge/text.js";

const DECISIONS = fileURLToPath(new URL("./decisions/", import.meta.url));
const DEFAULT_LABELS: MergeLabels = { mine: ".mine", base: ".r12", theirs: ".r15" };
const CONTENT_FILES = ["base", "mine", "theirs", "expected"] as const;

/** `case.json` of a decision fixture. */
interface DecisionCase {
  /** The zsync acceptance case (§7.2) this folder is, or is a variant of. */
  zsync?: number;
  note: string;
  /** Set when we deliberately decide differently from zsync: what zsync does instead. */
  differsFromZsync?: string;
  /** A file path's situation (exactly one of `file` and `dir`). */
  file?: FileSituation;
  dir?: DirSituation;
  /** What decideFile / decideDir must return. */
  expect: FileAction | DirAction;
  /** For "merge" decisions: the text merge's verdict (the caller reports G or C from it). */
  verdict?: "clean" | "conflict";
  labels?: MergeLabels;
}

/** The file situation as far as the three files tell it (schedule, conflict and cutShort come from case.json). */
function situationFromFiles(base: string | undefined, mine: string | undefined, theirs: string | undefined): FileSituation {
  const hasBase = base !== undefined;
  const situation: FileSituation = {
    local: mine === undefined ? "absent" : hasBase && mine === base ? "unchanged" : "modified",
    base: hasBase,
    remote: theirs === undefined ? "absent" : hasBase && theirs === base ? "unchanged" : "changed",
  };
  if (mine !== undefined && theirs !== undefined) situation.sameContent = mine === theirs;
  return situation;
}

/** Drops `undefined` members, so that an absent key and an undefined one compare equal. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const caseNames = readdirSync(DECISIONS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

/** Each folder's case.json; a folder without one fails its test instead of stopping the run. */
const cases = new Map(
  caseNames.map((name): [string, DecisionCase] => {
    const path = join(DECISIONS, name, "case.json");
    if (existsSync(path)) return [name, JSON.parse(readFileSync(path, "utf8")) as DecisionCase];
    return [name, { note: "(no case.json)", expect: { action: "nothing" } }];
  }),
);

for (const [name, fixture] of cases) {
  test(`decision ${name}: ${fixture.note}`, () => {
    const folder = join(DECISIONS, name);
    const read = (file: string) => (existsSync(join(folder, file)) ? readFileSync(join(folder, file), "utf8") : undefined);

    assert.ok(existsSync(join(folder, "case.json")), "the folder needs a case.json");
    assert.ok(fixture.note, "case.json needs a note");
    assert.ok((fixture.file === undefined) !== (fixture.dir === undefined), 'case.json needs exactly one of "file" and "dir"');
    const numbered = /^zsync-(\d+)-/.exec(name);
    if (numbered) assert.equal(fixture.zsync, Number(numbered[1]), "the folder name's zsync case number");
    if (/^(fixed|differs)-/.test(name)) assert.ok(fixture.differsFromZsync, "a fixed-/differs- case says what zsync does");
    assert.equal(fixture.verdict !== undefined, fixture.expect.action === "merge", 'a "verdict" belongs to merge decisions only');

    if (fixture.dir) {
      assert.ok(CONTENT_FILES.every((file) => read(file) === undefined), "directory cases have no content files");
      assert.deepEqual(decideDir(fixture.dir), fixture.expect);
      return;
    }

    const situationGiven = fixture.file!;
    const [base, mine, theirs, expected] = CONTENT_FILES.map(read);
    const hasContent = base !== undefined || mine !== undefined || theirs !== undefined;
    let situation = situationGiven;
    if (hasContent) {
      // The files are the truth; case.json must describe them (schedule and conflict are extra).
      const derived = situationFromFiles(base, mine, theirs);
      situation = defined({ ...derived, schedule: situationGiven.schedule, conflicted: situationGiven.conflicted, cutShort: situationGiven.cutShort });
      if (situation.cutShort) assert.ok(mine !== undefined && theirs !== undefined && mine.length < theirs.length && theirs.startsWith(mine), "cutShort: mine is the start of theirs");
      assert.deepEqual(defined(situationGiven), situation, "the situation in case.json does not match the files");
    }

    const decision = decideFile(situation);
    assert.deepEqual(decision, fixture.expect);
    if (!hasContent) {
      assert.equal(expected, undefined, "an expected file needs the base/mine/theirs it comes from");
      return;
    }

    // The working file after the update, from the decision and the inputs.
    let result: string | undefined;
    switch (decision.action) {
      case "merge": {
        assert.ok(mine !== undefined && theirs !== undefined, "a merge needs mine and theirs");
        const merged = mergeText(base ?? "", mine, theirs, fixture.labels ?? DEFAULT_LABELS);
        assert.equal(merged.clean, fixture.verdict === "clean", "the merge verdict");
        result = merged.text;
        break;
      }
      case "take-remote":
        assert.ok(theirs !== undefined, "take-remote needs the server's file");
        result = theirs;
        break;
      case "delete":
        assert.equal(mine, base, "only an unmodified file may be deleted");
        result = undefined;
        break;
      case "nothing":
      case "adopt":
      case "tree-conflict":
      case "forget":
        // The local bytes are kept as they are (or stay absent).
        result = mine;
        break;
    }
    assert.equal(expected, result, expected === undefined ? "expected no working file" : "the working file after the update");
    if (["nothing", "adopt", "tree-conflict", "forget"].includes(decision.action)) {
      assert.equal(expected, mine, "the local bytes are kept");
    }
  });
}

/**
 * The zsync cases of §7.2 (14–52) without a folder, with why: listed in README.md under
 * "zsync cases without a folder" as `- **31**: …`.
 */
function casesListedWithoutFolder(): Map<number, string> {
  const readme = readFileSync(join(DECISIONS, "README.md"), "utf8");
  const section = readme.split(/^## /m).find((part) => part.startsWith("zsync cases without a folder")) ?? "";
  return new Map([...section.matchAll(/^- \*\*(\d+)\*\*: (.+)$/gm)].map((m) => [Number(m[1]), m[2]!]));
}

test("every zsync case 14–52 has a folder, or README.md says why it has none", () => {
  const withFolder = new Set([...cases.values()].map((fixture) => fixture.zsync));
  const listed = casesListedWithoutFolder();
  for (let n = 14; n <= 52; n += 1) {
    if (listed.has(n)) assert.ok(!withFolder.has(n), `case ${n} has a folder but README.md lists it as having none`);
    else assert.ok(withFolder.has(n), `zsync case ${n} has no folder in test/merge/decisions/ and is not listed in its README.md`);
  }
});

test("every deliberate difference in decideFile / decideDir has a fixed- or differs- folder", () => {
  const differing = caseNames.filter((name) => cases.get(name)!.differsFromZsync !== undefined);
  assert.ok(differing.length >= 11, `only ${differing.length} cases that differ from zsync`);
  const reasons = new Set(differing.map((name) => (cases.get(name)!.expect as { reason?: string }).reason).filter(Boolean));
  // Each tree-conflict reason (a fixed data-loss case) is shown by at least one folder.
  for (const reason of [...Object.values(FILE_CONFLICT_REASONS), ...Object.values(DIR_CONFLICT_REASONS)]) {
    assert.ok(reasons.has(reason), `no folder shows the tree conflict "${reason}"`);
  }
});
