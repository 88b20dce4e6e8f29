/**
 * Mutation fuzzing: small random edits (overwrite, insert, delete, duplicate, truncate) of a
 * valid encoding, biased towards the bytes and characters that matter to the formats.
 */
import fc from "fast-check";

/** One edit; `at` and `length` are scaled to the input when applied. */
export interface Mutation {
  op: "set" | "insert" | "delete" | "duplicate" | "truncate" | "flip";
  at: number;
  length: number;
  unit: number;
}

/** Bytes with a meaning in SNARF, JSON and URLs (digits, LF, space, `/`, `.`, `@`, `%`, quotes …). */
const INTERESTING = [..."0123456789\n /.@%\\\"{}[]:,?#-"].map((c) => c.charCodeAt(0)).concat([0x00, 0xff, 0xc3, 0x80]);

const unitArb = fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 }));

/** Up to `max` edits. */
export function mutationsArb(max = 4): fc.Arbitrary<Mutation[]> {
  const mutation = fc.record({
    op: fc.constantFrom<Mutation["op"]>("set", "set", "insert", "insert", "delete", "duplicate", "truncate", "flip"),
    at: fc.nat({ max: 1_000_000 }),
    length: fc.integer({ min: 1, max: 16 }),
    unit: unitArb,
  });
  return fc.array(mutation, { minLength: 1, maxLength: max });
}

/** Applies edits to a sequence of units (bytes, or UTF-16 code units for text). */
function applyTo(units: number[], mutations: Mutation[]): number[] {
  const out = [...units];
  for (const { op, at: rawAt, length, unit } of mutations) {
    const at = out.length === 0 ? 0 : rawAt % (out.length + (op === "insert" ? 1 : 0));
    if (op === "set" && out.length > 0) out[at] = unit;
    else if (op === "flip" && out.length > 0) out[at] ^= 1 << (unit % 8);
    else if (op === "insert") out.splice(at, 0, ...Array.from({ length: 1 + (length % 3) }, () => unit));
    else if (op === "delete") out.splice(at, length);
    else if (op === "duplicate") out.splice(at, 0, ...out.slice(at, at + length));
    else if (op === "truncate") out.length = Math.min(out.length, at);
  }
  return out;
}

/** The bytes with the edits applied. */
export function mutateBytes(bytes: Uint8Array, mutations: Mutation[]): Buffer {
  return Buffer.from(applyTo([...bytes], mutations));
}

/** The text with the edits applied to its UTF-16 code units (so lone surrogates can appear). */
export function mutateText(text: string, mutations: Mutation[]): string {
  const units = applyTo(Array.from({ length: text.length }, (_, i) => text.charCodeAt(i)), mutations);
  return String.fromCharCode(...units);
}
