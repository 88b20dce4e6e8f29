/**
 * Fuzz target: the streaming SNARF decoder and encoder (src/protocol/snarf.ts).
 *
 * Every input decodes to records or fails with SnarfError, whatever its chunking; accepted
 * records obey the archive path rules; encode and decode are inverse; mutated archives fail
 * cleanly or still yield safe records.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeSnarf, encodeSnarf, SnarfError, type SnarfInput } from "../../src/protocol/snarf.js";
import { MANIFEST_RECORD } from "../../src/protocol/types.js";
import { edgePathArb, validPathArb } from "./arbitraries.js";
import { assertSafeArchivePath } from "./invariants.js";
import { mutateBytes, mutationsArb } from "./mutate.js";
import { fuzzTest } from "./runs.js";

type DecodeOptions = NonNullable<Parameters<typeof decodeSnarf>[1]>;
interface Record {
  kind: "dir" | "file";
  path: string;
  size: number;
  body: string;
}
/** What decoding gave: the records read (bodies as hex), and the error that stopped it. */
interface Outcome {
  records: Record[];
  error?: string;
}
/** How the consumer reads each record's body: whole, a first piece only, or not at all. */
type Reading = "all" | "first" | "none";

async function* chunksOf(bytes: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  const points = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % (bytes.length + 1))))].sort((a, b) => a - b);
  let at = 0;
  for (const point of points) {
    yield bytes.subarray(at, point); // empty chunks included: the decoder must skip them
    at = point;
  }
  yield bytes.subarray(at);
}

async function decode(bytes: Uint8Array, cuts: number[] = [], opts: DecodeOptions = {}, reading: Reading[] = ["all"]): Promise<Outcome> {
  const records: Record[] = [];
  try {
    let index = 0;
    for await (const record of decodeSnarf(chunksOf(bytes, cuts), opts)) {
      const how = reading[index++ % reading.length];
      const decoded: Record = { kind: record.kind, path: record.path, size: record.size, body: "" };
      records.push(decoded); // before its body, which may fail (truncated) whichever way it is read
      const parts: Buffer[] = [];
      if (how !== "none") {
        for await (const part of record.body) {
          parts.push(part);
          if (how === "first") break;
        }
      }
      const body = Buffer.concat(parts);
      if (how === "all") assert.equal(body.length, record.size, `body of ${record.path} has the declared size`);
      if (how === "all") decoded.body = body.toString("hex");
    }
    return { records };
  } catch (error) {
    if (!(error instanceof SnarfError)) throw error; // anything else is a bug
    return { records, error: error.message };
  }
}

/** Every accepted record obeys the path rules and the options. */
function assertSafe(outcome: Outcome, opts: DecodeOptions = {}): void {
  for (const record of outcome.records) {
    assertSafeArchivePath(record.path);
    assert.ok(record.kind === "file" ? record.path !== "" : record.size === 0, `bad record ${JSON.stringify(record)}`);
    assert.ok(Number.isSafeInteger(record.size) && record.size >= 0 && record.size <= (opts.maxFileSize ?? Infinity));
    if (opts.allowProtocolRecords === false) assert.ok(!record.path.startsWith("@@zsync"), `protocol record ${record.path} accepted`);
  }
}

async function encode(records: SnarfInput[], sizeWidth = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of encodeSnarf(records, { sizeWidth })) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

const recordArb: fc.Arbitrary<SnarfInput> = fc.oneof(
  fc.record({ kind: fc.constant("dir" as const), path: fc.oneof(validPathArb, fc.constant("")) }),
  fc.record({ path: fc.oneof({ weight: 5, arbitrary: validPathArb }, { weight: 1, arbitrary: fc.constant(MANIFEST_RECORD) }), body: fc.uint8Array({ maxLength: 200 }) })
    .map(({ path, body }) => ({ kind: "file" as const, path, size: body.length, body })),
);
const recordsArb = fc.array(recordArb, { maxLength: 8 });
const cutsArb = fc.array(fc.nat({ max: 5000 }), { maxLength: 12 });
const readingArb = fc.array(fc.constantFrom<Reading>("all", "first", "none"), { minLength: 1, maxLength: 4 });
const optionsArb: fc.Arbitrary<DecodeOptions> = fc.record(
  { maxHeaderBytes: fc.integer({ min: 1, max: 300 }), maxFileSize: fc.nat({ max: 300 }), allowProtocolRecords: fc.boolean() },
  { requiredKeys: [] },
);

/** Bytes that look like SNARF: headers built from nearly valid sizes and paths, bodies, stray bytes. */
const snarfLikeArb: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      fc.tuple(
        fc.oneof(fc.nat({ max: 40 }).map(String), fc.constantFrom("", "00", "-1", "+3", "1e3", " 1", "0x10", "9007199254740993", "99999999999999999999")),
        fc.constantFrom(" ", " ", "  ", "\t", ""),
        edgePathArb,
        fc.constantFrom("\n", "\n", "\r\n", ""),
        fc.uint8Array({ maxLength: 40 }),
      ).map(([size, space, path, lf, body]) => Buffer.concat([Buffer.from(size + space + path + lf), body])),
      fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)),
    ),
    { maxLength: 6 },
  )
  .map((parts) => Buffer.concat(parts));

const same = (records: SnarfInput[]) =>
  records.map((r) => ({ kind: r.kind, path: r.path, size: r.kind === "dir" ? 0 : r.size, body: r.kind === "dir" ? "" : Buffer.from(r.body as Uint8Array).toString("hex") }));

fuzzTest(
  "decode(encode(records)) gives the records back, however the bytes are chunked",
  fc.asyncProperty(recordsArb, fc.nat({ max: 12 }), cutsArb, async (records, sizeWidth, cuts) => {
    const outcome = await decode(await encode(records, sizeWidth), cuts);
    assert.deepEqual(outcome, { records: same(records) });
  }),
);

fuzzTest(
  "encode(decode(bytes)) gives the same bytes for every canonical archive",
  fc.asyncProperty(recordsArb, cutsArb, async (records, cuts) => {
    const bytes = await encode(records);
    const decoded: SnarfInput[] = [];
    for await (const record of decodeSnarf(chunksOf(bytes, cuts))) {
      const parts: Buffer[] = [];
      for await (const part of record.body) parts.push(part);
      decoded.push(record.kind === "dir" ? { kind: "dir", path: record.path } : { kind: "file", path: record.path, size: record.size, body: Buffer.concat(parts) });
    }
    assert.ok((await encode(decoded)).equals(bytes));
  }),
);

fuzzTest(
  "any bytes decode to safe records or a SnarfError, the same for every chunking and way of reading",
  fc.asyncProperty(fc.oneof(snarfLikeArb, fc.uint8Array({ maxLength: 300 })), cutsArb, readingArb, async (bytes, cuts, reading) => {
    const whole = await decode(bytes);
    assertSafe(whole);
    assert.deepEqual(await decode(bytes, cuts), whole);
    // Reading less of the bodies changes no header and no error.
    const skipping = await decode(bytes, cuts, {}, reading);
    assert.deepEqual({ ...skipping, records: skipping.records.map((r) => ({ ...r, body: "" })) }, { ...whole, records: whole.records.map((r) => ({ ...r, body: "" })) });
  }),
  {
    // Fixed: `.zsync` names were accepted, so a server could write into (or fake) a checkout's admin area.
    examples: [
      [Buffer.from("0 .zsync/\n"), [], ["all"]],
      [Buffer.from("2 sub/.ZSync/format\n1\n"), [3], ["all"]],
    ],
  },
);

fuzzTest(
  "mutated archives fail with SnarfError or yield safe records, whatever the limits",
  fc.asyncProperty(recordsArb, mutationsArb(), cutsArb, optionsArb, async (records, mutations, cuts, opts) => {
    const bytes = mutateBytes(await encode(records), mutations);
    const whole = await decode(bytes, [], opts);
    assertSafe(whole, opts);
    assert.deepEqual(await decode(bytes, cuts, opts), whole);
  }),
);

fuzzTest(
  "the encoder refuses every record it cannot write faithfully, with SnarfError",
  fc.asyncProperty(
    edgePathArb,
    fc.constantFrom("dir", "file"),
    fc.uint8Array({ maxLength: 20 }),
    fc.integer({ min: -2, max: 2 }),
    async (path, kind, body, sizeDelta) => {
      const record: SnarfInput = kind === "dir" ? { kind, path } : { kind: "file", path, size: body.length + sizeDelta, body };
      let bytes: Buffer;
      try {
        bytes = await encode([record]);
      } catch (error) {
        assert.ok(error instanceof SnarfError, `expected SnarfError, got ${String(error)}`);
        return;
      }
      // Written: then it decodes back to exactly this record.
      assertSafeArchivePath(path);
      assert.deepEqual(await decode(bytes), { records: same([record]) });
    },
  ),
);
