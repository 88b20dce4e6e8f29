/**
 * Generators shared by the fuzz targets: archive paths that are valid, and names and paths that
 * are nearly valid (the edge of every rule in `checkArchivePath`).
 */
import fc from "fast-check";

/** A name `checkArchivePath` accepts: any Unicode, never `/`, `\`, NUL, LF, `.`, `..`, `@@…`, `.zsync`. */
export const validNameArb: fc.Arbitrary<string> = fc
  .oneof(
    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 10 }),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }),
    fc.constantFrom("__proto__", "constructor", "toString", "...", ".zsyncx", "@", "a@@b", "%2e%2e", "%2F", "CON", " "),
  )
  .filter((name) => !/[/\\\0\n]/.test(name) && name !== "." && name !== ".." && !name.startsWith("@@") && name.toLowerCase() !== ".zsync" && Buffer.byteLength(name) <= 255);

/** A valid non-root archive path of 1–4 names. */
export const validPathArb: fc.Arbitrary<string> = fc.array(validNameArb, { minLength: 1, maxLength: 4 }).map((names) => names.join("/"));

/** Names that break one rule each, plus valid ones, to build nearly valid paths. */
export const edgeNameArb: fc.Arbitrary<string> = fc.oneof(
  validNameArb,
  fc.constantFrom("", ".", "..", ".zsync", ".ZSync", "@@meta", "@@zsync", "@@", "a\\b", "a\0b", "a\nb", "\ud800", "x\udfff", "é".repeat(128), "a".repeat(255), "a".repeat(256)),
);

/** A path of nearly valid names, sometimes absolute or with a trailing `/`. */
export const edgePathArb: fc.Arbitrary<string> = fc
  .tuple(fc.array(edgeNameArb, { minLength: 0, maxLength: 5 }), fc.constantFrom("", "/"), fc.constantFrom("", "", "/"))
  .map(([names, lead, trail]) => lead + names.join("/") + trail);

/** A SHA-256 hex digest. */
export const hashArb: fc.Arbitrary<string> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => Buffer.from(bytes).toString("hex"));

/** Keys that trip naive object handling. */
const trickyKeyArb = fc.constantFrom("__proto__", "constructor", "prototype", "hasOwnProperty", "@@conflict", "", "a.b");

/** Valid editable metadata: optional contentType (≤ 255 chars), `extra` and `annotations` objects. */
export const objectMetaArb = fc.record(
  {
    contentType: fc.string({ maxLength: 40 }),
    extra: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), trickyKeyArb), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4, noNullPrototype: true }),
    annotations: fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), trickyKeyArb), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3, noNullPrototype: true }),
  },
  { requiredKeys: [] },
);

/** Any JSON value, or a JSON object whose keys include the ones manifests and metadata use. */
export function jsonLikeArb(keys: string[]): fc.Arbitrary<unknown> {
  const key = fc.oneof(fc.constantFrom(...keys), trickyKeyArb, fc.string({ maxLength: 6 }));
  const value: fc.Arbitrary<unknown> = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(1, 0, -1, 1.5, 2 ** 53, "file", "folder", "added", "removed", "modified", true, null, "", "a".repeat(300)),
    edgePathArb,
    hashArb,
  );
  return fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(key, value, { maxKeys: 6, noNullPrototype: true }));
}

/** Parses JSON text the way the wire does: from bytes, so `__proto__` keys become own properties. */
export function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
