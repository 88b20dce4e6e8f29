import { test } from "node:test";
import assert from "node:assert/strict";
import type { Readable } from "node:stream";
import fc from "fast-check";
import {
  SnarfError,
  decodeSnarf,
  encodeSnarf,
  readRecordBody,
  type SnarfInput,
} from "../../src/protocol/snarf.js";
import { MANIFEST_RECORD } from "../../src/protocol/types.js";

// ---------------------------------------------------------------------------------------------
// Helpers

interface Decoded {
  kind: "dir" | "file";
  path: string;
  size: number;
  body: Buffer;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function* fromChunks(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/** Splits `bytes` into chunks whose sizes cycle through `sizes` (zeros give empty chunks). */
function rechunk(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] || (i % sizes.length === sizes.length - 1 ? 1 : 0);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

type Source = string | Uint8Array | Uint8Array[];

function toSource(input: Source): AsyncIterable<Uint8Array> {
  if (typeof input === "string") return fromChunks([Buffer.from(input, "utf8")]);
  if (input instanceof Uint8Array) return fromChunks([input]);
  return fromChunks(input);
}

/** Decodes everything, reading each body whole. */
async function decodeAll(input: Source, opts?: Parameters<typeof decodeSnarf>[1]): Promise<Decoded[]> {
  const records: Decoded[] = [];
  for await (const record of decodeSnarf(toSource(input), opts)) {
    const { kind, path, size } = record;
    records.push({ kind, path, size, body: await readRecordBody(record, Infinity) });
  }
  return records;
}

/** Decodes until the first error, returning the fully read records and the error. */
async function decodeUntilError(input: Source, opts?: Parameters<typeof decodeSnarf>[1]) {
  const records: Decoded[] = [];
  try {
    for await (const record of decodeSnarf(toSource(input), opts)) {
      const { kind, path, size } = record;
      records.push({ kind, path, size, body: await readRecordBody(record, Infinity) });
    }
    return { records, error: undefined };
  } catch (error) {
    return { records, error };
  }
}

function isSnarfError(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SnarfError, `expected SnarfError, got ${String(error)}`);
    assert.equal(error.name, "SnarfError");
    assert.match(error.message, message);
    return true;
  };
}

const file = (path: string, body: string): Decoded => ({
  kind: "file",
  path,
  size: Buffer.byteLength(body),
  body: Buffer.from(body),
});
const dir = (path: string): Decoded => ({ kind: "dir", path, size: 0, body: Buffer.alloc(0) });

// ---------------------------------------------------------------------------------------------
// Property tests

/** A path component that checkArchivePath accepts, ASCII or any Unicode. */
const componentArb = fc
  .oneof(
    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 8 }),
    fc.string({ unit: "binary", minLength: 1, maxLength: 6 }),
  )
  .filter((c) => !/[/\\\0\n]/.test(c) && c !== "." && c !== ".." && !c.startsWith("@@"));
const pathArb = fc.array(componentArb, { minLength: 1, maxLength: 4 }).map((cs) => cs.join("/"));

/** A record as the test models it, plus how to hand its body to the encoder. */
type Model = Decoded & { form: "bytes" | "string" | "chunks" | "factory"; chunkSizes: number[] };

const fileArb: fc.Arbitrary<Model> = fc.oneof(
  fc.record({
    path: pathArb,
    bytes: fc.uint8Array({ maxLength: 300 }),
    form: fc.constantFrom("bytes" as const, "chunks" as const, "factory" as const),
    chunkSizes: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 5 }),
  }).map(({ path, bytes, form, chunkSizes }) => ({
    kind: "file" as const,
    path,
    size: bytes.length,
    body: Buffer.from(bytes),
    form,
    chunkSizes,
  })),
  fc.record({ path: pathArb, text: fc.string({ unit: "binary", maxLength: 40 }) }).map(({ path, text }) => ({
    ...file(path, text),
    form: "string" as const,
    chunkSizes: [1],
  })),
);
const dirArb: fc.Arbitrary<Model> = fc
  .oneof(pathArb, fc.constant(""))
  .map((path) => ({ ...dir(path), form: "bytes" as const, chunkSizes: [1] }));
const recordsArb = fc.array(fc.oneof(fileArb, dirArb), { maxLength: 12 });

function toInput(model: Model): SnarfInput {
  if (model.kind === "dir") return { kind: "dir", path: model.path };
  const { path, size } = model;
  switch (model.form) {
    case "bytes":
      return { kind: "file", path, size, body: new Uint8Array(model.body) };
    case "string":
      return { kind: "file", path, size, body: model.body.toString("utf8") };
    case "chunks":
      return { kind: "file", path, size, body: fromChunks(rechunk(model.body, model.chunkSizes)) };
    case "factory":
      return { kind: "file", path, size, body: () => fromChunks(rechunk(model.body, model.chunkSizes)) };
  }
}

const expected = (models: Model[]): Decoded[] => models.map(({ kind, path, size, body }) => ({ kind, path, size, body }));

test("property: decode(encode(x)) = x", async () => {
  await fc.assert(
    fc.asyncProperty(recordsArb, fc.constantFrom(undefined, 8, 1), async (models, sizeWidth) => {
      const bytes = await collect(encodeSnarf(models.map(toInput), { sizeWidth }));
      assert.deepEqual(await decodeAll(bytes), expected(models));
    }),
    { numRuns: 300 },
  );
});

test("property: decoding is independent of input chunk boundaries", async () => {
  await fc.assert(
    fc.asyncProperty(
      recordsArb,
      fc.oneof(fc.constant([1]), fc.array(fc.integer({ min: 0, max: 64 }), { minLength: 1, maxLength: 8 })),
      async (models, chunkSizes) => {
        const archive = await collect(encodeSnarf(models.map(toInput), { sizeWidth: 8 }));
        assert.deepEqual(await decodeAll(rechunk(archive, chunkSizes)), expected(models));
      },
    ),
    { numRuns: 300 },
  );
});

test("property: a truncated archive decodes to a prefix and then fails with SnarfError", async () => {
  await fc.assert(
    fc.asyncProperty(recordsArb, fc.nat(), fc.integer({ min: 1, max: 16 }), async (models, cut, chunkSize) => {
      const archive = await collect(encodeSnarf(models.map(toInput)));
      const truncated = archive.subarray(0, archive.length === 0 ? 0 : cut % (archive.length + 1));
      const { records, error } = await decodeUntilError(rechunk(truncated, [chunkSize]));
      assert.deepEqual(records, expected(models).slice(0, records.length));
      if (error !== undefined) assert.ok(error instanceof SnarfError, String(error));
    }),
    { numRuns: 300 },
  );
});

test("property: garbage never causes anything but SnarfError", async () => {
  const archiveAlphabet = [..."0123456789 \n/a.@\\é"].map((c) => Buffer.from(c));
  const garbageArb = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.array(fc.constantFrom(...archiveAlphabet), { maxLength: 200 }).map((parts) => Buffer.concat(parts)),
    // A valid archive with some bytes overwritten.
    fc
      .tuple(recordsArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
      .map(([models, edits]) => ({ models, edits })),
  );
  await fc.assert(
    fc.asyncProperty(garbageArb, fc.constantFrom(undefined, 16), async (garbage, maxHeaderBytes) => {
      let bytes: Uint8Array;
      if (garbage instanceof Uint8Array) bytes = garbage;
      else {
        bytes = await collect(encodeSnarf(garbage.models.map(toInput)));
        for (const [at, value] of garbage.edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
      }
      const { error } = await decodeUntilError(bytes, { maxHeaderBytes, maxFileSize: 1000 });
      if (error !== undefined) assert.ok(error instanceof SnarfError, String(error));
    }),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------------------------------------
// zsync acceptance cases (§7.2)

test("§7.2 case 1: a body is exactly `size` bytes even when more input follows", async () => {
  const data = Buffer.alloc(125, "x");
  // 100 of 125 bytes: the remaining 25 must be parsed as the next record.
  const archive = Buffer.concat([Buffer.from("100 a\n"), data.subarray(0, 100), Buffer.from("20 b\n"), data.subarray(0, 20)]);
  assert.equal(archive.length - "100 a\n".length, 125);
  assert.deepEqual(await decodeAll(archive), [
    { kind: "file", path: "a", size: 100, body: data.subarray(0, 100) },
    { kind: "file", path: "b", size: 20, body: data.subarray(0, 20) },
  ]);
  // Long data: 45 000 bytes, followed by more, in odd-sized chunks.
  const long = Buffer.alloc(45_000);
  for (let i = 0; i < long.length; i++) long[i] = (i * 7) & 0xff;
  const longArchive = Buffer.concat([Buffer.from("45000 long\n"), long, Buffer.from("1 c\nz")]);
  const decoded = await decodeAll(rechunk(longArchive, [4093]));
  assert.deepEqual(decoded.map((r) => [r.path, r.size]), [["long", 45_000], ["c", 1]]);
  assert.ok(decoded[0].body.equals(long));
  assert.equal(decoded[1].body.toString(), "z");
});

test("§7.2 case 1: asking for more bytes than the input has is a truncation error", async () => {
  await assert.rejects(decodeAll("9000 x\n12345"), isSnarfError(/truncated archive: expected 9000 bytes for "x", got 5/));
  await assert.rejects(decodeAll("6 x\n12345"), isSnarfError(/truncated archive: expected 6 bytes for "x", got 5/));
});

test("§7.2 case 2: a single file is `5 foo\\n12345`", async () => {
  const archive = await collect(encodeSnarf([{ kind: "file", path: "foo", size: 5, body: "12345" }]));
  assert.equal(archive.toString(), "5 foo\n12345");
  const fromStream = await collect(
    encodeSnarf([{ kind: "file", path: "foo", size: 5, body: () => fromChunks([Buffer.from("123"), Buffer.from("45")]) }]),
  );
  assert.equal(fromStream.toString(), "5 foo\n12345");
  assert.deepEqual(await decodeAll("5 foo\n12345"), [file("foo", "12345")]);
});

const case3 = "0 \n0 d1/\n8 d1/f1\nd1f1data6 f1\nf1data7 f1~\nf1adata6 f2\nf2data";
const case3Records = [
  dir(""),
  dir("d1"),
  file("d1/f1", "d1f1data"),
  file("f1", "f1data"),
  file("f1~", "f1adata"),
  file("f2", "f2data"),
];

test("§7.2 cases 3, 4, 7: the zsync byte strings encode and decode", async () => {
  const case4 = "0 top/\n0 top/d1/\n8 top/d1/f1\nd1f1data6 top/f1\nf1data7 top/f1~\nf1adata6 top/f2\nf2data";
  const case4Records = case3Records.map((r) => ({ ...r, path: r.path === "" ? "top" : `top/${r.path}` }));
  const case7 = "0 \n0 d1/\n0 d1/d3/\n0 d2/\n";
  const case7Records = [dir(""), dir("d1"), dir("d1/d3"), dir("d2")];
  for (const [bytes, records] of [
    [case3, case3Records],
    [case4, case4Records],
    [case7, case7Records],
  ] as const) {
    assert.deepEqual(await decodeAll(bytes), records);
    const inputs: SnarfInput[] = records.map((r) =>
      r.kind === "dir" ? { kind: "dir", path: r.path } : { kind: "file", path: r.path, size: r.size, body: r.body },
    );
    assert.equal((await collect(encodeSnarf(inputs))).toString(), bytes);
  }
});

test("§7.2 case 8: the reader applies the path rules; `a/` only as a 0-size directory", async () => {
  assert.deepEqual(await decodeAll("1 a/b/c\nx"), [file("a/b/c", "x")]);
  assert.deepEqual(await decodeAll("0 a/\n"), [dir("a")]);
  await assert.rejects(decodeAll("1 a/\nx"), isSnarfError(/directory record "a\/" has non-zero size 1/));
  for (const bad of ["a/./b", "a/../b", "a//b", "/a", "a//"]) {
    await assert.rejects(decodeAll(`0 ${bad}\n`), isSnarfError(/header at byte 0: invalid archive path/), bad);
  }
});

test("server-style 8-digit sizes and other widths are accepted", async () => {
  assert.deepEqual(await decodeAll("00000005 @@zsync/manifest.json\n{}\n\n\n0000000000000000000001 a\nx"), [
    file(MANIFEST_RECORD, "{}\n\n\n"),
    file("a", "x"),
  ]);
  const padded = await collect(
    encodeSnarf(
      [
        { kind: "file", path: MANIFEST_RECORD, size: 2, body: "{}" },
        { kind: "dir", path: "" },
        { kind: "file", path: "e", size: 0, body: "" },
      ],
      { sizeWidth: 8 },
    ),
  );
  assert.equal(padded.toString(), "00000002 @@zsync/manifest.json\n{}00000000 \n00000000 e\n");
});

test("sizes wider than sizeWidth are written in full (no 8-digit limit)", async () => {
  const size = 100_000_001;
  async function* zeros() {
    const chunk = Buffer.alloc(1 << 20);
    for (let left = size; left > 0; left -= chunk.length) yield chunk.subarray(0, Math.min(left, chunk.length));
  }
  const stream = encodeSnarf([{ kind: "file", path: "big", size, body: zeros }], { sizeWidth: 8 });
  const first = (await stream[Symbol.asyncIterator]().next()).value as Buffer;
  assert.equal(first.toString(), "100000001 big\n");
  stream.destroy();
});

// ---------------------------------------------------------------------------------------------
// Decoder errors

test("decoder error: header longer than maxHeaderBytes", async () => {
  await assert.rejects(
    decodeAll("5 " + "a".repeat(9000)),
    isSnarfError(/header at byte 0 is longer than 8192 bytes without a line feed/),
  );
  await assert.rejects(
    decodeAll(rechunk(Buffer.from("1 a\nx5 " + "a".repeat(20) + "\n"), [3]), { maxHeaderBytes: 10 }),
    isSnarfError(/header at byte 5 is longer than 10 bytes/),
  );
  // Exactly at the limit (without the LF) is fine.
  assert.deepEqual(await decodeAll("1 " + "a".repeat(8) + "\nx", { maxHeaderBytes: 10 }), [file("a".repeat(8), "x")]);
  await assert.rejects(decodeAll("1 " + "a".repeat(9) + "\nx", { maxHeaderBytes: 10 }), isSnarfError(/longer than 10/));
});

test("decoder error: end of input inside a header", async () => {
  await assert.rejects(decodeAll("5 fo"), isSnarfError(/^truncated archive: incomplete header at byte 0$/));
  await assert.rejects(decodeAll("1 a\nx12"), isSnarfError(/^truncated archive: incomplete header at byte 5$/));
  assert.deepEqual(await decodeAll(""), []);
  assert.deepEqual(await decodeAll([new Uint8Array(0), new Uint8Array(0)]), []);
});

test("decoder error: size is not a decimal number", async () => {
  for (const header of ["x5 foo", "-5 foo", "+5 foo", " foo", "5a foo", "1e3 foo", "0x10 foo", "５ foo"]) {
    await assert.rejects(decodeAll(`${header}\n12345`), isSnarfError(/header at byte 0: size .* is not a decimal number/), header);
  }
  await assert.rejects(decodeAll("9007199254740992 x\n"), isSnarfError(/size 9007199254740992 is too large/));
  await assert.rejects(decodeAll("99999999999999999999999 x\n"), isSnarfError(/is too large/));
});

test("decoder error: missing space", async () => {
  await assert.rejects(decodeAll("5foo\n12345"), isSnarfError(/header at byte 0: missing space between size and path/));
  await assert.rejects(decodeAll("\n"), isSnarfError(/missing space/));
});

test("decoder error: invalid UTF-8 in the path", async () => {
  for (const bytes of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x61, 0xe2, 0x82]]) {
    const archive = Buffer.from([0x30, 0x20, ...bytes, 0x0a]);
    await assert.rejects(decodeAll(archive), isSnarfError(/header at byte 0: path is not valid UTF-8/));
  }
  // A leading BOM is part of the name, not stripped.
  assert.deepEqual(await decodeAll("1 \uFEFFa\nx"), [file("\uFEFFa", "x")]);
});

test("decoder error: hostile paths", async () => {
  for (const path of ["../x", "/etc/passwd", "a/../../b", "@@x", "a/@@meta/b", "a\\b", "a\0b", "/", "./a", "a/."]) {
    await assert.rejects(decodeAll(`1 ${path}\nx`), isSnarfError(/header at byte 0: invalid archive path/), path);
    await assert.rejects(decodeAll(`0 ${path}/\n`), isSnarfError(/invalid archive path/), path + "/");
  }
});

test("decoder error: directory record with a body", async () => {
  await assert.rejects(decodeAll("5 d1/\n12345"), isSnarfError(/directory record "d1\/" has non-zero size 5/));
  await assert.rejects(decodeAll("5 \n12345"), isSnarfError(/directory record "" has non-zero size 5/));
});

test("decoder error: size above maxFileSize", async () => {
  assert.deepEqual(await decodeAll("3 a\nabc", { maxFileSize: 3 }), [file("a", "abc")]);
  await assert.rejects(decodeAll("4 a\nabcd", { maxFileSize: 3 }), isSnarfError(/"a" is 4 bytes, more than the limit of 3/));
});

test("decoder error: end of input inside a body names the path and counts", async () => {
  await assert.rejects(
    decodeAll(rechunk(Buffer.from("2 a\nxy10 d/b\n1234"), [1])),
    isSnarfError(/^truncated archive: expected 10 bytes for "d\/b", got 4$/),
  );
  // Also when the consumer skips the body and asks for the next record.
  const records = decodeSnarf(toSource("10 b\n1234"));
  await records.next();
  await assert.rejects(records.next(), isSnarfError(/expected 10 bytes for "b", got 4/));
});

test("protocol records: accepted by default, rejected with allowProtocolRecords: false", async () => {
  assert.deepEqual(await decodeAll(`2 ${MANIFEST_RECORD}\n{}`), [file(MANIFEST_RECORD, "{}")]);
  await assert.rejects(
    decodeAll(`1 a\nx2 ${MANIFEST_RECORD}\n{}`, { allowProtocolRecords: false }),
    isSnarfError(/protocol record "@@zsync\/manifest.json" not allowed here \(header at byte 5\)/),
  );
  await assert.rejects(decodeAll("0 @@zsync/\n", { allowProtocolRecords: false }), isSnarfError(/protocol record/));
});

// ---------------------------------------------------------------------------------------------
// Streaming behaviour

test("records are yielded as soon as their header is parsed", async () => {
  let pulled = 0;
  async function* source() {
    for (const part of ["3 a\n", "x", "yz", "0 d/\n"]) {
      pulled++;
      yield Buffer.from(part);
    }
  }
  const records = decodeSnarf(source());
  const first = (await records.next()).value!;
  assert.equal(pulled, 1);
  assert.deepEqual([first.kind, first.path, first.size], ["file", "a", 3]);
  const body = first.body[Symbol.asyncIterator]();
  assert.equal(((await body.next()).value as Buffer).toString(), "x");
  assert.equal(pulled, 2);
  assert.equal(((await body.next()).value as Buffer).toString(), "yz");
  assert.equal((await body.next()).done, true);
  assert.equal(((await records.next()).value!).path, "d");
  assert.equal((await records.next()).done, true);
});

test("unread and partly read bodies are skipped; a stale body cannot be read", async () => {
  const archive = rechunk(Buffer.from("5 a\n123453 b\nxyz2 c\nok"), [2]);
  const records = decodeSnarf(toSource(archive));
  const a = (await records.next()).value!;
  const b = (await records.next()).value!; // a's body never read
  for await (const piece of b.body) {
    assert.equal(piece.toString(), "x");
    break; // b's body partly read
  }
  const c = (await records.next()).value!;
  assert.equal((await readRecordBody(c, 10)).toString(), "ok");
  await assert.rejects(readRecordBody(a, 10), isSnarfError(/body of "a" read after the decoder moved on/));
  assert.equal((await records.next()).done, true);
});

test("readRecordBody enforces its limit", async () => {
  for await (const record of decodeSnarf(toSource("5 a\n12345"))) {
    await assert.rejects(readRecordBody(record, 4), isSnarfError(/"a" is larger than the limit of 4 bytes/));
  }
  const record = { kind: "file" as const, path: "h", size: 1, body: fromChunks([Buffer.from("too long")]) as AsyncIterable<Buffer> };
  await assert.rejects(readRecordBody(record, 4), isSnarfError(/"h" is larger than the limit of 4 bytes/));
});

test("stopping early closes the input", async () => {
  let closed = false;
  async function* source() {
    try {
      yield Buffer.from("1 a\nx1 b\ny");
      yield Buffer.from("1 c\nz");
    } finally {
      closed = true;
    }
  }
  for await (const record of decodeSnarf(source())) {
    assert.equal(record.path, "a");
    break;
  }
  assert.equal(closed, true);
});

// ---------------------------------------------------------------------------------------------
// Encoder errors

test("encoder error: a body of the wrong size fails the stream", async () => {
  const cases: [SnarfInput, RegExp][] = [
    [{ kind: "file", path: "a", size: 4, body: "12345" }, /body of "a" has 5 bytes, declared size is 4/],
    [{ kind: "file", path: "a", size: 6, body: Buffer.from("12345") }, /has 5 bytes, declared size is 6/],
    [{ kind: "file", path: "a", size: 2, body: "é€" }, /has 5 bytes/],
    [{ kind: "file", path: "a", size: 6, body: fromChunks([Buffer.from("123"), Buffer.from("45")]) }, /has 5 bytes, declared size is 6/],
    [{ kind: "file", path: "a", size: 4, body: () => fromChunks([Buffer.from("123"), Buffer.from("45")]) }, /has at least 5 bytes, declared size is 4/],
  ];
  for (const [input, message] of cases) {
    await assert.rejects(collect(encodeSnarf([{ kind: "dir", path: "" }, input])), isSnarfError(message));
  }
});

test("encoder error: never emits the excess bytes of a too-long body", async () => {
  const parts: string[] = [];
  const stream = encodeSnarf([{ kind: "file", path: "a", size: 3, body: fromChunks([Buffer.from("12"), Buffer.from("34")]) }]);
  await assert.rejects(
    (async () => {
      for await (const part of stream) parts.push((part as Buffer).toString());
    })(),
    isSnarfError(/has at least 4 bytes/),
  );
  assert.equal(parts.join(""), "3 a\n12");
});

test("encoder error: invalid paths, sizes and an empty file path", async () => {
  const cases: [SnarfInput, RegExp][] = [
    [{ kind: "file", path: "../x", size: 0, body: "" }, /cannot encode: invalid archive path "..\/x"/],
    [{ kind: "dir", path: "a/" }, /cannot encode: invalid archive path "a\/"/],
    [{ kind: "dir", path: "@@x" }, /reserved/],
    [{ kind: "file", path: "", size: 0, body: "" }, /file with the empty \(root\) path/],
    [{ kind: "file", path: "a", size: -1, body: "" }, /invalid size -1/],
    [{ kind: "file", path: "a", size: 1.5, body: "" }, /invalid size 1.5/],
  ];
  for (const [input, message] of cases) {
    await assert.rejects(collect(encodeSnarf([input])), isSnarfError(message));
  }
});

test("encoder reads a body factory only when it reaches its record", async () => {
  const opened: string[] = [];
  const lazy = (path: string): SnarfInput => ({
    kind: "file",
    path,
    size: 1,
    body: () => {
      opened.push(path);
      return fromChunks([Buffer.from("x")]);
    },
  });
  async function* inputs(): AsyncGenerator<SnarfInput> {
    yield lazy("a");
    assert.deepEqual(opened, ["a"]);
    yield lazy("b");
  }
  assert.equal((await collect(encodeSnarf(inputs()))).toString(), "1 a\nx1 b\nx");
  assert.deepEqual(opened, ["a", "b"]);
});

test("records in memory are gathered into chunks of about 64 KiB; a large body and a streamed one are passed on as they come", async () => {
  const inputs: SnarfInput[] = [{ kind: "dir", path: "d" }];
  for (let i = 0; i < 2000; i++) inputs.push({ kind: "file", path: `d/f${i}`, size: 100, body: Buffer.alloc(100, i % 256) });
  const big = Buffer.alloc(200 * 1024, 7);
  inputs.push({ kind: "file", path: "big", size: big.length, body: big });
  inputs.push({ kind: "file", path: "small", size: 1, body: "s" });
  inputs.push({ kind: "file", path: "streamed", size: 4, body: fromChunks([Buffer.from("ab"), Buffer.from("cd")]) });
  inputs.push({ kind: "file", path: "last", size: 1, body: "z" });

  const chunks: Buffer[] = [];
  for await (const chunk of encodeSnarf(inputs)) chunks.push(chunk as Buffer);
  // ~215 KB of small records: four chunks, not two per record.
  const before = chunks.findIndex((c) => c === big);
  assert.ok(before >= 3 && before <= 5, `the big body comes as chunk ${before}`);
  assert.ok(chunks.slice(0, before - 1).every((c) => c.length >= 64 * 1024), "full chunks before it");
  // Gathered bytes go out before a streamed body, whose chunks pass unchanged.
  assert.deepEqual(chunks.slice(before + 1).map((c) => c.toString()), ["1 small\ns4 streamed\n", "ab", "cd", "1 last\nz"]);
  // The same bytes as one record at a time.
  let expected = "0 d/\n";
  for (let i = 0; i < 2000; i++) expected += `100 d/f${i}\n` + Buffer.alloc(100, i % 256).toString("latin1");
  expected += `${big.length} big\n` + big.toString("latin1") + "1 small\ns4 streamed\nabcd1 last\nz";
  assert.equal(Buffer.concat(chunks).toString("latin1"), expected);
});

// ---------------------------------------------------------------------------------------------
// Large bodies

test("a 256 MiB body streams through encoder and decoder in bounded memory", async () => {
  const size = 256 * 1024 * 1024;
  const chunkBytes = 1024 * 1024;
  async function* generated() {
    for (let i = 0; i < size / chunkBytes; i++) yield Buffer.alloc(chunkBytes, i & 0xff);
  }
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const archive = encodeSnarf([
    { kind: "file", path: "big", size, body: generated },
    { kind: "file", path: "after", size: 2, body: "ok" },
  ]);
  const seen: string[] = [];
  let counted = 0;
  let chunks = 0;
  for await (const record of decodeSnarf(archive)) {
    seen.push(record.path);
    if (record.path !== "big") continue;
    for await (const piece of record.body) {
      // Spot-check the content: byte k belongs to generated chunk floor(k / 1 MiB).
      assert.equal(piece[0], Math.floor(counted / chunkBytes) & 0xff);
      counted += piece.length;
      if (++chunks % 32 === 0) peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.equal(counted, size);
  assert.deepEqual(seen, ["big", "after"]);
  assert.ok(peak - before < 64 * 1024 * 1024, `rss grew by ${((peak - before) / 2 ** 20).toFixed(1)} MiB`);
});
