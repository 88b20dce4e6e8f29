/**
 * Reads and writes inside a checkout never pass through a symbolic link below its root.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { isAdminName } from "../../src/protocol/paths.js";
import { WcError } from "../../src/wc/admin.js";
import { assertSafeCheckoutPath, checkoutPathProblem, readCheckoutFile } from "../../src/wc/safe-path.js";
import { fuzzTest } from "../fuzz/runs.js";

const dir = mkdtempSync(join(tmpdir(), "zsync-safe-path-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("readCheckoutFile reads real paths and refuses, before reading, a path beyond a symlinked folder", async () => {
  const root = join(dir, "co");
  const outside = join(dir, "outside");
  mkdirSync(join(root, "docs"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(root, "docs", "d.txt"), "doc\n");
  writeFileSync(join(outside, "secret.txt"), "secret\n");
  symlinkSync(outside, join(root, "link"));

  assert.equal(await readCheckoutFile(root, "docs/d.txt", "utf8"), "doc\n");
  // The refusal is synchronous, so `readCheckoutFile(…).catch(() => undefined)` (a missing file) cannot swallow it.
  assert.throws(
    () => readCheckoutFile(root, "link/secret.txt").catch(() => undefined),
    (error: unknown) => error instanceof WcError && error.code === "unsafe-path" && /beyond the symbolic link "link"/.test(error.message),
  );
  assert.throws(() => assertSafeCheckoutPath(root, "link/secret.txt", "test"), WcError);
  assert.throws(() => readCheckoutFile(root, "../outside/secret.txt"), WcError);
  // A missing file is an ordinary rejection, for callers that treat it as absent.
  await assert.rejects(readCheckoutFile(root, "docs/none.txt"), { code: "ENOENT" });
});

// The rules checkoutPathProblem documents, one by one; its one-pass common case must keep them.
fuzzTest(
  "checkoutPathProblem refuses exactly absolute paths, backslash, NUL, empty, '.', '..' and admin components",
  fc.property(
    fc.array(fc.constantFrom("a", "Z", ".", "/", "@@", " ", "\\", "\0", "\n", "é", "\u200D", ".zsync", ".ZSync. ", "x".repeat(200)), { maxLength: 10 }).map((parts) => parts.join("")),
    (path) => {
      const components = path.split("/");
      const refused =
        path !== "" && (path.startsWith("/") || /[\\\0]/.test(path) || components.some((c) => c === "" || c === "." || c === ".." || isAdminName(c)));
      assert.equal(checkoutPathProblem(path) !== undefined, refused, JSON.stringify(path));
    },
  ),
  { weight: 20 },
);
