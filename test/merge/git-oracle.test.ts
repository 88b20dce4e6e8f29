/**
 * `mergeText` against `git merge-file` as an oracle.
 *
 * 1. A property test: fast-check builds a random base text from a small alphabet (so that edits
 *    collide often; sometimes CRLF, sometimes without a final newline) and two random edit scripts
 *    (insert / delete / replace lines, sometimes toggle the final newline) giving mine and theirs.
 *    Both engines merge them. Where both are clean the texts must be identical, unless the two-way
 *    diffs differ (below). The clean/conflict verdicts are compared and the agreement rate is
 *    printed, with a count per kind of disagreement; every kind has a
 *    `test/merge/fixtures/git-disagrees-<kind>` fixture explaining it. A disagreement that the
 *    two-way diffs do not explain fails the test.
 * 2. Every text fixture is merged by git too: it must give our verdict, conflict count and text
 *    byte for byte, unless its `case.json` has a `git` entry recording git's different answer.
 *
 * The known kinds all come from the two-way diffs, not from the merge rules: when a line repeats,
 * the same edit can be described as touching one copy or the other (base `b`, mine `a b b`: which
 * `b` is new?). git (xdiff: Myers, then its change compaction, which slides and joins changes)
 * and node-diff3 (Hunt–McIlroy LCS) choose differently, so an edit can sit next to the
 * other side's edit in one engine and apart from it in the other. A disagreement is therefore
 * only accepted when git's own two-way diffs (`git diff --no-index`, the same xdiff code and
 * options as merge-file's) differ from node-diff3's; with equal diffs the engines must agree.
 *
 * git is run through simple-git's `raw()`. By default simple-git treats a non-zero exit as success
 * when git printed nothing on stderr (merge-file prints nothing) and `raw()` only resolves with
 * stdout, so the exit code — merge-file's number of conflicts — is read with simple-git's `errors`
 * plugin, which sees every task's `exitCode` (exit codes 1–127 are kept as results, ≥ 128 are
 * errors).
 *
 * Runs: 300 by default, `ZSYNC_ORACLE_RUNS` for more, `ZSYNC_ORACLE_SEED` to replay a seed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { diffIndices } from "node-diff3";
import { simpleGit, type SimpleGit } from "simple-git";
import { mergeText, splitLinesKeepingTerminators, type MergeLabels, type TextMergeResult } from "../../src/merge/text.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const FIXTURE_DEFAULT_LABELS: MergeLabels = { mine: ".mine", base: ".r12", theirs: ".r15" };
const ORACLE_LABELS: MergeLabels = { mine: ".mine", base: ".base", theirs: ".theirs" };
const RUNS = Number(process.env.ZSYNC_ORACLE_RUNS ?? 300);
const SEED = process.env.ZSYNC_ORACLE_SEED === undefined ? undefined : Number(process.env.ZSYNC_ORACLE_SEED);

/** The kinds of disagreement we know and accept, each with the fixture that explains it. */
const KINDS = {
  weConflictGitClean: {
    label: "we conflict, git clean: the diffs place an edit of a repeated line differently, ours next to the other side's edit",
    fixture: "git-disagrees-we-conflict-git-clean",
  },
  gitConflictWeClean: {
    label: "git conflict, we clean: the diffs place an edit of a repeated line differently, git's next to the other side's edit",
    fixture: "git-disagrees-git-conflict-we-clean",
  },
  bothCleanTextDiffers: {
    label: "both clean, different text: the diffs place an edit of a repeated line differently (e.g. a line both sides added is kept once or twice)",
    fixture: "git-disagrees-both-clean-different-text",
  },
} as const;
type Kind = keyof typeof KINDS;

// ---------------------------------------------------------------------------------------------
// git through simple-git

/** Runs git commands in one directory and reports their exit codes. */
class GitRunner {
  readonly dir = mkdtempSync(join(tmpdir(), "zsync-git-oracle-"));
  private lastExitCode = -1;
  private readonly git: SimpleGit = simpleGit({
    baseDir: this.dir,
    // Called after every task with its exit code (simple-git docs, PLUGIN-ERRORS.md). Exit codes
    // 1..127 are answers (merge-file: number of conflicts; diff: "files differ"), not errors.
    errors: (error, result) => {
      this.lastExitCode = result.exitCode;
      if (result.exitCode < 128) return undefined;
      return error ?? new Error(`git exited with ${result.exitCode}: ${Buffer.concat(result.stdErr).toString("utf8")}`);
    },
  });

  /** Runs `git <args>`; the tasks are awaited one at a time, so `lastExitCode` is this task's. */
  async run(args: string[]): Promise<{ exitCode: number; stdout: string }> {
    this.lastExitCode = -1;
    const stdout = await this.git.raw(args);
    assert.notEqual(this.lastExitCode, -1, "simple-git did not report the exit code");
    return { exitCode: this.lastExitCode, stdout };
  }

  write(name: string, text: string): void {
    writeFileSync(join(this.dir, name), text);
  }

  /**
   * `git merge-file -p --diff3` of the three texts. merge-file's exit code is the number of
   * conflicts (capped at 127).
   */
  async mergeFile(base: string, mine: string, theirs: string, labels: MergeLabels): Promise<TextMergeResult> {
    this.write("base", base);
    this.write("mine", mine);
    this.write("theirs", theirs);
    const { exitCode, stdout } = await this.run([
      "merge-file", "-p", "--diff3", "-L", labels.mine, "-L", labels.base, "-L", labels.theirs, "mine", "base", "theirs",
    ]);
    return { clean: exitCode === 0, text: stdout, conflicts: exitCode };
  }

  /**
   * git's two-way diff of `from` → `to` as hunks `[fromStart, fromLength, toStart, toLength]`
   * (0-based; an insertion starts before line `fromStart`), read from `git diff --no-index -U0`
   * with the options merge-file uses internally: Myers, no indent heuristic.
   */
  async hunks(from: string, to: string): Promise<Hunk[]> {
    this.write("from", from);
    this.write("to", to);
    const { stdout } = await this.run([
      "diff", "--no-index", "--no-color", "--no-ext-diff", "--no-indent-heuristic", "--diff-algorithm=myers",
      "--inter-hunk-context=0", "-U0", "from", "to",
    ]);
    const hunks: Hunk[] = [];
    for (const m of stdout.matchAll(/^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/gm)) {
      const fromLength = m[2] === undefined ? 1 : Number(m[2]);
      const toLength = m[4] === undefined ? 1 : Number(m[4]);
      // A zero-length side names the line *before* the gap (1-based), i.e. the 0-based gap index.
      const fromStart = fromLength === 0 ? Number(m[1]) : Number(m[1]) - 1;
      const toStart = toLength === 0 ? Number(m[3]) : Number(m[3]) - 1;
      hunks.push([fromStart, fromLength, toStart, toLength]);
    }
    return hunks;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

type Hunk = [number, number, number, number];

/** node-diff3's two-way diff, as `diff3Merge` computes it inside `mergeText`. */
function ourHunks(from: string, to: string): Hunk[] {
  return diffIndices(splitLinesKeepingTerminators(from), splitLinesKeepingTerminators(to)).map(
    (h): Hunk => [h.buffer1[0], h.buffer1[1], h.buffer2[0], h.buffer2[1]],
  );
}

/** True when git and node-diff3 describe base → mine or base → theirs by different hunks. */
async function alignmentsDiffer(git: GitRunner, base: string, mine: string, theirs: string): Promise<boolean> {
  for (const side of [mine, theirs]) {
    if (JSON.stringify(await git.hunks(base, side)) !== JSON.stringify(ourHunks(base, side))) return true;
  }
  return false;
}

// git is the oracle: without it this test must fail, not pass quietly (.ci/run installs git).
if (!(await simpleGit().version()).installed) throw new Error("git is not installed: the merge oracle test needs it (apt-get install git)");

// ---------------------------------------------------------------------------------------------
// Random cases

const ALPHABET = ["a", "b", "c", "d", ""] as const;
const lineArb = fc.constantFrom(...ALPHABET);

type Edit =
  | { kind: "insert"; at: number; lines: string[] }
  | { kind: "delete"; at: number; count: number }
  | { kind: "replace"; at: number; count: number; lines: string[] }
  | { kind: "toggle-final-newline" };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), lines: fc.array(lineArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 3 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("replace" as const),
      at: fc.nat(),
      count: fc.integer({ min: 1, max: 3 }),
      lines: fc.array(lineArb, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "toggle-final-newline" as const }) },
);

/** A text as lines without terminators, plus whether the last line ends with a newline. */
interface Lines {
  lines: string[];
  finalNewline: boolean;
}

function applyEdits(text: Lines, edits: Edit[]): Lines {
  const lines = [...text.lines];
  let finalNewline = text.finalNewline;
  for (const edit of edits) {
    if (edit.kind === "toggle-final-newline") {
      finalNewline = !finalNewline;
      continue;
    }
    const at = edit.at % (lines.length + 1);
    if (edit.kind === "insert") lines.splice(at, 0, ...edit.lines);
    else if (edit.kind === "delete") lines.splice(at, edit.count);
    else lines.splice(at, edit.count, ...edit.lines);
  }
  return { lines, finalNewline };
}

function render(text: Lines, eol: string): string {
  return text.lines.length === 0 ? "" : text.lines.join(eol) + (text.finalNewline ? eol : "");
}

const caseArb = fc
  .record({
    base: fc.array(lineArb, { maxLength: 10 }),
    finalNewline: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    eol: fc.oneof({ weight: 3, arbitrary: fc.constant("\n") }, { weight: 1, arbitrary: fc.constant("\r\n") }),
    mineEdits: fc.array(editArb, { minLength: 1, maxLength: 4 }),
    theirsEdits: fc.array(editArb, { minLength: 0, maxLength: 4 }),
    // Theirs often starts with some of mine's edits (the same patch applied on both sides), so
    // that identical changes next to different ones are common.
    shared: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }),
  })
  .map(({ base, finalNewline, eol, mineEdits, theirsEdits, shared }) => {
    const baseLines: Lines = { lines: base, finalNewline };
    return {
      base: render(baseLines, eol),
      mine: render(applyEdits(baseLines, mineEdits), eol),
      theirs: render(applyEdits(baseLines, [...mineEdits.slice(0, shared), ...theirsEdits]), eol),
    };
  });

// ---------------------------------------------------------------------------------------------

test(`property: mergeText agrees with git merge-file (${RUNS} random cases)`, async (t) => {
  const git = new GitRunner();
  t.after(() => git.cleanup());
  let runs = 0;
  let verdictAgreements = 0;
  let bothConflictSameText = 0;
  let bothConflict = 0;
  const kinds = new Map<Kind, number>();
  const examples = new Map<Kind, string>();

  await fc.assert(
    fc.asyncProperty(caseArb, async ({ base, mine, theirs }) => {
      const ours = mergeText(base, mine, theirs, ORACLE_LABELS);
      const theirsGit = await git.mergeFile(base, mine, theirs, ORACLE_LABELS);
      const inputs = JSON.stringify({ base, mine, theirs });
      let kind: Kind | undefined;
      if (ours.clean && theirsGit.clean) {
        if (ours.text !== theirsGit.text) kind = "bothCleanTextDiffers";
      } else if (ours.clean !== theirsGit.clean) {
        kind = ours.clean ? "gitConflictWeClean" : "weConflictGitClean";
      } else {
        bothConflict += 1;
        if (ours.text === theirsGit.text) bothConflictSameText += 1;
      }
      if (kind !== undefined) {
        // Only an ambiguity of the two-way diffs explains a disagreement.
        assert.ok(
          await alignmentsDiffer(git, base, mine, theirs),
          `${KINDS[kind].label.split(":")[0]} with the same two-way diffs — a bug in mergeText, or a new kind ` +
            `of disagreement to explain in a fixture: ${inputs}\nours: ${JSON.stringify(ours)}\ngit: ${JSON.stringify(theirsGit)}`,
        );
      }
      // Counted only after the assertions, so that shrinking after a failure adds nothing.
      runs += 1;
      if (ours.clean === theirsGit.clean) verdictAgreements += 1;
      if (kind !== undefined) {
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        if (!examples.has(kind)) examples.set(kind, inputs);
      }
    }),
    { numRuns: RUNS, ...(SEED !== undefined && { seed: SEED }) },
  );

  const percent = ((100 * verdictAgreements) / runs).toFixed(1);
  const lines = [`# merge verdict agreement with git merge-file: ${verdictAgreements}/${runs} (${percent}%)`];
  for (const [kind, count] of kinds) {
    lines.push(`#   ${count} × ${KINDS[kind].label} — see fixtures/${KINDS[kind].fixture}; e.g. ${examples.get(kind)}`);
  }
  lines.push(`#   both conflict: ${bothConflict}, of which ${bothConflictSameText} with byte-identical conflict text`);
  // A test diagnostic is printed as "# ..." by the TAP reporter (and as "ℹ ..." by the spec one).
  for (const line of lines) t.diagnostic(line.slice(2));

  for (const kind of kinds.keys()) {
    assert.ok(existsSync(join(FIXTURES, KINDS[kind].fixture, "case.json")), `no fixture explains "${KINDS[kind].label}"`);
  }
});

// ---------------------------------------------------------------------------------------------
// The text fixtures against git

/** The parts of a text fixture's `case.json` read here (see fixtures/README.md). */
interface FixtureCase {
  verdict: "clean" | "conflict";
  labels?: MergeLabels;
  lineEnding?: "crlf";
  /** git merge-file's different answer: its verdict and conflict count; its text is `git-expected`. */
  git?: { verdict: "clean" | "conflict"; conflicts?: number };
}

function readSide(folder: string, name: string, fixture: FixtureCase): string {
  const path = join(folder, name);
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  return fixture.lineEnding === "crlf" ? text.replaceAll("\n", "\r\n") : text;
}

const fixtureNames = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

test("every disagreement kind has its fixture, and every git-disagrees fixture records git's answer", () => {
  for (const { fixture } of Object.values(KINDS)) assert.ok(fixtureNames.includes(fixture), `missing fixture ${fixture}`);
  for (const name of fixtureNames.filter((n) => n.startsWith("git-disagrees-"))) {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, name, "case.json"), "utf8")) as FixtureCase;
    assert.ok(fixture.git, `${name}: case.json needs a "git" entry`);
    assert.ok(existsSync(join(FIXTURES, name, "git-expected")), `${name}: needs a git-expected file`);
  }
});

for (const name of fixtureNames) {
  test(`fixture ${name} against git merge-file`, async (t) => {
    const folder = join(FIXTURES, name);
    const fixture = JSON.parse(readFileSync(join(folder, "case.json"), "utf8")) as FixtureCase;
    const labels = fixture.labels ?? FIXTURE_DEFAULT_LABELS;
    const git = new GitRunner();
    t.after(() => git.cleanup());
    const base = readSide(folder, "base", fixture);
    const mine = readSide(folder, "mine", fixture);
    const theirs = readSide(folder, "theirs", fixture);
    const result = await git.mergeFile(base, mine, theirs, labels);
    const ours = mergeText(base, mine, theirs, labels);
    if (fixture.git === undefined) {
      assert.deepEqual(result, ours, "git merge-file gives a different result: record it in a \"git\" entry or fix mergeText");
      return;
    }
    assert.equal(result.clean, fixture.git.verdict === "clean", "git's verdict");
    assert.equal(result.conflicts, fixture.git.conflicts ?? (fixture.git.verdict === "clean" ? 0 : 1), "git's conflict count");
    assert.equal(result.text, readSide(folder, "git-expected", fixture), "git's text");
    assert.notDeepEqual(result, ours, "git now agrees with us: drop the \"git\" entry");
    assert.ok(await alignmentsDiffer(git, base, mine, theirs), "the disagreement must come from the two-way diffs");
  });
}
