import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { fuzzTest } from "../fuzz/runs.js";
import {
  ArchivePathError,
  baseName,
  checkArchivePath,
  isProtocolPath,
  isReservedName,
  joinArchivePath,
  parentPath,
  isAdminName,
  MAX_COMPONENT_BYTES,
  MAX_PATH_BYTES,
} from "../../src/protocol/paths.js";

function rejects(path: string, reason: RegExp): void {
  assert.throws(
    () => checkArchivePath(path),
    (error: unknown) => {
      assert.ok(error instanceof ArchivePathError, `expected ArchivePathError for ${JSON.stringify(path)}`);
      assert.equal(error.name, "ArchivePathError");
      assert.equal(error.path, path);
      assert.match(error.message, reason);
      return true;
    },
  );
}

test("valid paths are accepted, including the root and non-ASCII names", () => {
  for (const path of ["", "a", "a/b/c", "d1/f1~", "überraschung/日本語.txt", "a b/c d", ".hidden/x", "..x", "a@@b"]) {
    checkArchivePath(path);
  }
});

test("§7.2 case 8: translatepath rules", () => {
  checkArchivePath("a/b/c");
  rejects("a/./b", /'\.' components/);
  rejects("a/../b", /'\.\.' components/);
  rejects("a//b", /empty path component/);
  rejects("/a", /absolute/);
  rejects("a/", /empty path component/);
});

test("hostile paths are rejected with a reason", () => {
  rejects("../x", /'\.\.'/);
  rejects("/etc/passwd", /absolute/);
  rejects("a/../../b", /'\.\.'/);
  rejects(".", /'\.'/);
  rejects("@@x", /reserved '@@'/);
  rejects("a/@@meta/b", /"@@meta".*reserved/);
  rejects("a\\b", /backslash/);
  rejects("a\0b", /NUL/);
  rejects("a\nb", /line feed/);
  rejects("a\uD800b", /lone surrogate/);
  rejects("/", /absolute/);
});

test("length limits count UTF-8 bytes", () => {
  checkArchivePath("x".repeat(255));
  rejects("x".repeat(256), /longer than 255/);
  checkArchivePath("é".repeat(127)); // 254 bytes
  rejects("é".repeat(128), /longer than 255/); // 256 bytes, 128 characters
  const longest = Array(20).fill("y".repeat(200)).join("/") + "/" + "z".repeat(76);
  assert.equal(longest.length, 4096);
  checkArchivePath(longest);
  rejects(longest + "z", /longer than 4096/);
});

/** The rules of checkArchivePath's documentation, one by one: the spec its one-pass common case must keep. */
function validBySpec(path: string): boolean {
  if (path === "") return true;
  if (path.startsWith("/") || /[\\\0\n]/.test(path) || /\p{Cs}/u.test(path) || Buffer.byteLength(path) > MAX_PATH_BYTES) return false;
  return path.split("/").every((c, i) => c !== "" && c !== "." && c !== ".." && Buffer.byteLength(c) <= MAX_COMPONENT_BYTES && !isAdminName(c) && (!c.startsWith("@@") || (i === 0 && c === "@@zsync")));
}

fuzzTest(
  "checkArchivePath accepts exactly the paths its rules allow",
  fc.property(
    fc.oneof(
      fc.array(fc.constantFrom("a", "Z", ".", "/", "@", " ", "\\", "\0", "\n", "é", "\uD800", "\u200D", ".zsync", ".ZSync. ", "@@zsync", "x".repeat(120)), { maxLength: 12 }).map((parts) => parts.join("")),
      fc.string({ unit: "binary", maxLength: 24 }),
    ),
    (path) => {
      let accepted = true;
      try {
        checkArchivePath(path);
      } catch (error) {
        assert.ok(error instanceof ArchivePathError);
        accepted = false;
      }
      assert.equal(accepted, validBySpec(path), JSON.stringify(path));
    },
  ),
  { weight: 50 },
);

test("the protocol's own @@zsync/ prefix is allowed, its remainder follows the rules", () => {
  checkArchivePath("@@zsync/manifest.json");
  checkArchivePath("@@zsync");
  checkArchivePath("@@zsync/a/b");
  rejects("@@zsync/@@x", /reserved/);
  rejects("@@zsync/../x", /'\.\.'/);
  rejects("@@zsync/", /empty/);
  rejects("a/@@zsync/manifest.json", /reserved/);
  rejects("@@zsyncx/y", /reserved/);
});

test("isProtocolPath", () => {
  assert.equal(isProtocolPath("@@zsync/manifest.json"), true);
  assert.equal(isProtocolPath("@@zsync"), true);
  assert.equal(isProtocolPath("@@zsyncx"), false);
  assert.equal(isProtocolPath("a/@@zsync/x"), false);
  assert.equal(isProtocolPath(""), false);
});

test("join, parent and base name", () => {
  assert.equal(joinArchivePath("", ""), "");
  assert.equal(joinArchivePath("", "a"), "a");
  assert.equal(joinArchivePath("a", ""), "a");
  assert.equal(joinArchivePath("a/b", "c/d"), "a/b/c/d");
  assert.equal(parentPath("a/b/c"), "a/b");
  assert.equal(parentPath("a"), "");
  assert.equal(parentPath(""), "");
  assert.equal(baseName("a/b/c"), "c");
  assert.equal(baseName("a"), "a");
  assert.equal(baseName(""), "");
});

test("isReservedName", () => {
  assert.equal(isReservedName("@@meta"), true);
  assert.equal(isReservedName("@@"), true);
  assert.equal(isReservedName("@x"), false);
  assert.equal(isReservedName("a@@"), false);
});
