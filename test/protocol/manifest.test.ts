/**
 * Object metadata rules that protect what the server does with the values (see also the fuzz
 * target test/fuzz/meta-files.fuzz.test.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManifestError, parseObjectMeta } from "../../src/protocol/manifest.js";

test("contentType must be printable ASCII: @@cat sends it back as an HTTP header", () => {
  assert.deepEqual(parseObjectMeta({ contentType: "text/html; charset=utf-8" }, "x"), { contentType: "text/html; charset=utf-8" });
  for (const bad of ["text/plain€", "text/plain\r\nX-Evil: 1", "a\u0000b", "x".repeat(256)]) {
    assert.throws(() => parseObjectMeta({ contentType: bad }, "x"), ManifestError, JSON.stringify(bad));
  }
});
