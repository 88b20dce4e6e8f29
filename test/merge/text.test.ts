import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { dominantLineEnding, mergeText, splitLinesKeepingTerminators, type MergeLabels } from "../../src/merge/text.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const DEFAULT_LABELS: MergeLabels = { mine: ".mine", base: ".r12", theirs: ".r15" };

/** `case.json` of a fixture folder. */
interface FixtureCase {
  verdict: "clean" | "conflict";
  note: string;
  labels?: MergeLabels;
  /** Number of conflict blocks; defaults to 1 for "conflict", 0 for "clean". */
  conflicts?: number;
  /**
   * "crlf": the files are stored with LF (so git's line-ending conversion cannot alter them) and
   * converted LF→CRLF when loaded.
   */
  lineEnding?: "crlf";
}

/** Reads one side of a fixture; an absent file is the empty text (e.g. no base: both added). */
function readSide(folder: string, name: string, fixture: FixtureCase): string {
  const path = join(folder, name);
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  return fixture.lineEnding === "crlf" ? text.replaceAll("\n", "\r\n") : text;
}

const fixtureNames = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

test("the fixture folder holds cases", () => {
  assert.ok(fixtureNames.length >= 25, `only ${fixtureNames.length} fixtures found`);
});

for (const name of fixtureNames) {
  const folder = join(FIXTURES, name);
  const fixture = JSON.parse(readFileSync(join(folder, "case.json"), "utf8")) as FixtureCase;
  test(`fixture ${name}: ${fixture.note}`, () => {
    assert.ok(fixture.verdict === "clean" || fixture.verdict === "conflict", "case.json needs a verdict");
    assert.ok(existsSync(join(folder, "expected")), "a fixture needs an expected file");
    const result = mergeText(
      readSide(folder, "base", fixture),
      readSide(folder, "mine", fixture),
      readSide(folder, "theirs", fixture),
      fixture.labels ?? DEFAULT_LABELS,
    );
    assert.equal(result.text, readSide(folder, "expected", fixture));
    assert.equal(result.clean, fixture.verdict === "clean");
    assert.equal(result.conflicts, fixture.conflicts ?? (fixture.verdict === "clean" ? 0 : 1));
  });
}

test("splitLinesKeepingTerminators keeps terminators and a last line without one", () => {
  assert.deepEqual(splitLinesKeepingTerminators(""), []);
  assert.deepEqual(splitLinesKeepingTerminators("a"), ["a"]);
  assert.deepEqual(splitLinesKeepingTerminators("a\n"), ["a\n"]);
  assert.deepEqual(splitLinesKeepingTerminators("a\r\nb\nc"), ["a\r\n", "b\n", "c"]);
  assert.deepEqual(splitLinesKeepingTerminators("\n\n"), ["\n", "\n"]);
  assert.deepEqual(splitLinesKeepingTerminators("a\rb\u2028c\n"), ["a\rb\u2028c\n"]);
});

test("dominantLineEnding counts lines across all inputs; ties and no line endings give LF", () => {
  assert.equal(dominantLineEnding(["a\r\nb\r\n", "c\n"]), "\r\n");
  assert.equal(dominantLineEnding(["a\r\n", "c\n"]), "\n");
  assert.equal(dominantLineEnding(["a", "b"]), "\n");
  assert.equal(dominantLineEnding(["\r\n", "\r\n", "x\n\n"]), "\n");
});

test("markers in a mixed file follow the majority of lines", () => {
  const base = "one\r\ntwo\r\nthree\r\n";
  const mine = "one\r\nmine\r\nthree\r\n";
  const theirs = "one\ntheirs\nthree\n"; // converted to LF: 3 LF lines against 6 CRLF lines
  const result = mergeText(base, mine, theirs, DEFAULT_LABELS);
  assert.equal(result.clean, false);
  assert.equal(
    result.text,
    "<<<<<<< .mine\r\none\r\nmine\r\nthree\r\n||||||| .r12\r\none\r\ntwo\r\nthree\r\n=======\r\none\ntheirs\nthree\n>>>>>>> .r15\r\n",
  );
});

test("empty labels give bare markers", () => {
  const result = mergeText("a\n", "l\n", "r\n", { mine: "", base: "", theirs: "" });
  assert.equal(result.text, "<<<<<<<\nl\n|||||||\na\n=======\nr\n>>>>>>>\n");
});

// ---------------------------------------------------------------------------------------------
// Properties

/** A few short line bodies, so that random texts share lines and diffs are non-trivial. */
const lineBody = fc.constantFrom("a", "b", "c", "", "x y", "Grüße", "😀");

/** A text made of `lineBody` lines joined by `eol`, with or without a final line ending. */
function textArbitrary(eol: "\n" | "\r\n"): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(lineBody, { maxLength: 12 }), fc.boolean())
    .map(([lines, finalEol]) => (lines.length === 0 ? "" : lines.join(eol) + (finalEol ? eol : "")));
}

const anyText = fc.oneof(textArbitrary("\n"), textArbitrary("\r\n"));

test("property: merge(b, b, t) = t, clean", () => {
  fc.assert(
    fc.property(anyText, anyText, (base, theirs) => {
      assert.deepEqual(mergeText(base, base, theirs, DEFAULT_LABELS), { clean: true, text: theirs, conflicts: 0 });
    }),
  );
});

test("property: merge(b, m, b) = m, clean", () => {
  fc.assert(
    fc.property(anyText, anyText, (base, mine) => {
      assert.deepEqual(mergeText(base, mine, base, DEFAULT_LABELS), { clean: true, text: mine, conflicts: 0 });
    }),
  );
});

test("property: merge(b, x, x) = x, clean", () => {
  fc.assert(
    fc.property(anyText, anyText, (base, both) => {
      assert.deepEqual(mergeText(base, both, both, DEFAULT_LABELS), { clean: true, text: both, conflicts: 0 });
    }),
  );
});

test("property: CRLF-only inputs give a CRLF-only output, clean or conflicted", () => {
  const crlfText = textArbitrary("\r\n");
  fc.assert(
    fc.property(crlfText, crlfText, crlfText, (base, mine, theirs) => {
      // Inputs without any line ending say nothing about the file's style; markers then use LF.
      fc.pre([base, mine, theirs].some((text) => text.includes("\r\n")));
      const { text } = mergeText(base, mine, theirs, DEFAULT_LABELS);
      assert.ok(!/(^|[^\r])\n/.test(text), `bare LF in ${JSON.stringify(text)}`);
    }),
  );
});

test("property: LF-only inputs give an LF-only output", () => {
  const lfText = textArbitrary("\n");
  fc.assert(
    fc.property(lfText, lfText, lfText, (base, mine, theirs) => {
      const { text } = mergeText(base, mine, theirs, DEFAULT_LABELS);
      assert.ok(!text.includes("\r"), `CR in ${JSON.stringify(text)}`);
    }),
  );
});

test("property: the conflict count equals the number of marker blocks", () => {
  fc.assert(
    fc.property(anyText, anyText, anyText, (base, mine, theirs) => {
      const result = mergeText(base, mine, theirs, DEFAULT_LABELS);
      const lines = splitLinesKeepingTerminators(result.text);
      const count = (marker: string) => lines.filter((line) => line.replace(/\r?\n$/, "") === marker).length;
      assert.equal(result.clean, result.conflicts === 0);
      assert.equal(count("<<<<<<< .mine"), result.conflicts);
      assert.equal(count("||||||| .r12"), result.conflicts);
      assert.equal(count(">>>>>>> .r15"), result.conflicts);
    }),
  );
});

test("property: swapping mine and theirs gives the same clean result", () => {
  fc.assert(
    fc.property(anyText, anyText, anyText, (base, mine, theirs) => {
      const forward = mergeText(base, mine, theirs, DEFAULT_LABELS);
      const backward = mergeText(base, theirs, mine, DEFAULT_LABELS);
      assert.equal(forward.clean, backward.clean);
      if (forward.clean) assert.equal(forward.text, backward.text);
    }),
  );
});

test("property: edits of distinct lines at least one unchanged line apart merge cleanly", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 3, max: 30 }),
      fc.nat(),
      fc.nat(),
      fc.boolean(),
      (length, mineSeed, theirsSeed, finalEol) => {
        const base = Array.from({ length }, (_, i) => `line ${i}`);
        const mineIndex = mineSeed % (length - 2);
        const theirsIndex = mineIndex + 2 + (theirsSeed % (length - mineIndex - 2));
        const replaced = (lines: string[], index: number, line: string) => lines.map((old, i) => (i === index ? line : old));
        const mine = replaced(base, mineIndex, "mine");
        const theirs = replaced(base, theirsIndex, "theirs");
        const expected = replaced(mine, theirsIndex, "theirs");
        const join = (lines: string[]) => lines.join("\n") + (finalEol ? "\n" : "");
        assert.deepEqual(mergeText(join(base), join(mine), join(theirs), DEFAULT_LABELS), {
          clean: true,
          text: join(expected),
          conflicts: 0,
        });
      },
    ),
  );
});
