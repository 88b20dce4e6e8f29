/**
 * The safety invariants every accepted path must satisfy, written independently of
 * `checkArchivePath` so the fuzz targets check the module against the rules, not against itself.
 */
import assert from "node:assert/strict";

/** Asserts that an accepted archive path cannot escape or hide anything ("" is the root). */
export function assertSafeArchivePath(path: unknown, what = "path"): void {
  assert.equal(typeof path, "string", `${what} is not a string`);
  const p = path as string;
  if (p === "") return;
  const say = (rule: string) => `${what} ${JSON.stringify(p)} ${rule}`;
  assert.ok(!p.startsWith("/"), say("is absolute"));
  assert.ok(!/[\\\0\n]/.test(p), say("holds a backslash, NUL or LF"));
  assert.ok(Buffer.from(p, "utf8").toString("utf8") === p, say("is not valid Unicode"));
  assert.ok(Buffer.byteLength(p) <= 4096, say("is longer than 4096 bytes"));
  for (const [index, name] of p.split("/").entries()) {
    assert.ok(name !== "", say("has an empty component"));
    assert.ok(name !== "." && name !== "..", say("has a . or .. component"));
    assert.ok(name.toLowerCase() !== ".zsync", say("names the admin area .zsync"));
    assert.ok(Buffer.byteLength(name) <= 255, say("has a component over 255 bytes"));
    assert.ok(!name.startsWith("@@") || (index === 0 && name === "@@zsync"), say("has a reserved @@ component"));
  }
}
