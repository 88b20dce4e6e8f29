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
