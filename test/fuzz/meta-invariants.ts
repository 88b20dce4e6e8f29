/** The rules accepted editable metadata obeys (docs/PROTOCOL.md, "Metadata"), checked independently. */
import assert from "node:assert/strict";

const isObject = (value: unknown) => typeof value === "object" && value !== null && !Array.isArray(value);

/** Asserts `meta` is a JSON object with only `contentType` (≤ 255 chars), `extra`, `annotations`, within `maxBytes`. */
export function assertValidMeta(meta: unknown, maxBytes = 256 * 1024): void {
  assert.ok(isObject(meta), "metadata is not an object");
  const object = meta as Record<string, unknown>;
  for (const key of Object.keys(object)) assert.ok(["contentType", "extra", "annotations"].includes(key), `metadata key ${key}`);
  assert.ok(Object.getPrototypeOf(object) === Object.prototype || Object.getPrototypeOf(object) === null, "metadata with a foreign prototype");
  if (object.contentType !== undefined) assert.ok(typeof object.contentType === "string" && object.contentType.length <= 255);
  for (const key of ["extra", "annotations"]) if (object[key] !== undefined) assert.ok(isObject(object[key]), `${key} is not an object`);
  assert.ok(Buffer.byteLength(JSON.stringify(object)) <= maxBytes, "metadata over the size limit");
}
