/**
 * Fuzz target: `.zsyncignore` matching (src/wc/ignore.ts).
 *
 * For arbitrary pattern files and arbitrary local file names the matcher never throws and
 * decides exactly as documented: the built-in defaults, then each `.zsyncignore` from the root
 * down applied (with the `ignore` package's gitignore semantics) to the path below its directory.
 * Defaults cannot be negated; a folder's rules never reach outside it.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import fc from "fast-check";
import ignore from "ignore";
import { createIgnoreMatcher, DEFAULT_IGNORES } from "../../src/wc/ignore.js";
import { fuzzTest } from "./runs.js";

const base = mkdtempSync(join(tmpdir(), "zsync-fuzz-ignore-"));
after(() => rmSync(base, { recursive: true, force: true }));
let checkouts = 0;

/** A file name a directory listing can give: anything but `/`, NUL, `.` and `..`. */
const localNameArb = fc
  .oneof(
    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 8 }),
    fc.constantFrom("a", "b", "sub", "x.swp", "x~", ".git", ".zsync", "#x#", ".#x", "f.zsync-tmp-1", "...", " ", "a b", "!a", "#a", "*", "a\\b", "\n", "é", "[a]", "**"),
  )
  .filter((name) => !/[/\0]/.test(name) && name !== "." && name !== "..");
const localPathArb = fc.array(localNameArb, { minLength: 1, maxLength: 4 }).map((names) => names.join("/"));

/** Pattern lines: gitignore syntax at its edges (negation, anchors, globs, escapes, classes, comments). */
const patternLineArb = fc.oneof(
  fc.constantFrom("*", "!*", "a", "/a", "a/", "!a", "sub/", "**/b", "a/**", "a/**/b", "*.swp", "!*.swp", "!.zsync/", "!.zsync", ".zsync", "\\!a", "\\#a", "#a", "[a-z]", "[z-a]", "[!a]", "[[:alpha:]]", "a\\", "\\", "a ", "a\\ ", "***", "/", "!", "", " ", "!/sub/a", "?", "*~"),
  fc.string({ unit: "grapheme-ascii", maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 6 }),
);
const patternFileArb = fc.option(fc.array(patternLineArb, { maxLength: 6 }).map((lines) => lines.join("\n")), { nil: undefined });

/** A fresh checkout root with the given `.zsyncignore` files (by directory, "" is the root). */
function checkoutWith(files: Record<string, string | undefined>): string {
  const root = join(base, String(checkouts++));
  for (const [dir, text] of Object.entries(files)) {
    mkdirSync(join(root, dir), { recursive: true });
    if (text !== undefined) writeFileSync(join(root, dir, ".zsyncignore"), text);
  }
  return root;
}

/** The documented decision, built straight from the `ignore` package. */
function expected(files: Record<string, string | undefined>, path: string, isDir: boolean): boolean {
  const test = (patterns: string | string[], relative: string) => ignore().add(patterns).ignores(isDir ? relative + "/" : relative);
  if (test(DEFAULT_IGNORES, path)) return true;
  const parts = path.split("/");
  for (let i = 0; i < parts.length; i++) {
    const text = files[parts.slice(0, i).join("/")];
    if (text !== undefined && test(text, parts.slice(i).join("/"))) return true;
  }
  return false;
}

fuzzTest(
  "the matcher never throws and decides as documented for any pattern files and paths",
  fc.property(patternFileArb, patternFileArb, fc.array(fc.tuple(fc.oneof(localPathArb, localPathArb.map((p) => `sub/${p}`)), fc.boolean()), { minLength: 1, maxLength: 8 }), (rootRules, subRules, paths) => {
    const files = { "": rootRules, sub: subRules };
    const ignored = createIgnoreMatcher(checkoutWith(files));
    for (const [path, isDir] of paths) assert.equal(ignored(path, isDir), expected(files, path, isDir), `${JSON.stringify(path)} (${isDir ? "dir" : "file"})`);
  }),
  { weight: 0.5 },
);

fuzzTest(
  "defaults cannot be negated, and a folder's rules never reach outside it",
  fc.property(patternFileArb, localPathArb, localPathArb, (subRules, inside, outside) => {
    const ignored = createIgnoreMatcher(checkoutWith({ "": "!*\n!.zsync/\n!*.swp\n", sub: subRules }));
    assert.equal(ignored(".zsync", true), true);
    assert.equal(ignored(`${inside}/.zsync`, true), true);
    assert.equal(ignored(`${inside}.swp`, false), true);
    if (!outside.startsWith("sub/") && outside !== "sub") {
      assert.equal(ignored(outside, false), ignore().add(DEFAULT_IGNORES).ignores(outside));
    }
  }),
  { weight: 0.5 },
);
