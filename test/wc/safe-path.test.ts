/**
 * Reads and writes inside a checkout never pass through a symbolic link below its root.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { WcError } from "../../src/wc/admin.js";
import { assertSafeCheckoutPath, readCheckoutFile } from "../../src/wc/safe-path.js";

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
