import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BINARY_SNIFF_BYTES,
  canMergeAsText,
  decodeUtf8Exactly,
  isTextContentType,
  looksBinary,
} from "../../src/merge/binary.js";

const utf8 = (text: string) => new TextEncoder().encode(text);

test("looksBinary: text, including UTF-8 and the empty content, is not binary", () => {
  assert.equal(looksBinary(new Uint8Array()), false);
  assert.equal(looksBinary(utf8("hello\r\nworld\n")), false);
  assert.equal(looksBinary(utf8("Grüße 日本語 😀\u2028")), false);
  assert.equal(looksBinary(utf8("\uFEFFwith a byte order mark")), false);
});

test("looksBinary: a NUL byte in the first 8000 bytes is binary, after them it is not looked at", () => {
  assert.equal(looksBinary(utf8("abc\0def")), true);
  const nulAtLastSniffedByte = new Uint8Array(BINARY_SNIFF_BYTES).fill(0x61);
  nulAtLastSniffedByte[BINARY_SNIFF_BYTES - 1] = 0;
  assert.equal(looksBinary(nulAtLastSniffedByte), true);
  const nulAfterWindow = new Uint8Array(BINARY_SNIFF_BYTES + 10).fill(0x61);
  nulAfterWindow[BINARY_SNIFF_BYTES] = 0;
  assert.equal(looksBinary(nulAfterWindow), false);
});

test("looksBinary: invalid UTF-8 in the window is binary", () => {
  assert.equal(looksBinary(Uint8Array.of(0x61, 0xff, 0x62)), true); // never valid
  assert.equal(looksBinary(Uint8Array.of(0xc0, 0xaf)), true); // overlong "/"
  assert.equal(looksBinary(Uint8Array.of(0xed, 0xa0, 0x80)), true); // UTF-16 surrogate
  assert.equal(looksBinary(Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)), true); // PNG signature
  assert.equal(looksBinary(Uint8Array.of(0x61, 0xe6, 0x97)), true); // truncated by the end of the content
});

test("looksBinary: a character cut by the end of the window is not invalid", () => {
  const bytes = new Uint8Array(BINARY_SNIFF_BYTES + 3).fill(0x61);
  bytes.set(utf8("日"), BINARY_SNIFF_BYTES - 1); // 3 bytes starting at the last sniffed byte
  assert.equal(looksBinary(bytes), false);
});

test("isTextContentType: text, binary and unknown types, ignoring parameters and case", () => {
  const cases: [string | undefined, boolean | undefined][] = [
    ["text/plain", true],
    ["text/html; charset=utf-8", true],
    ["TEXT/CSS", true],
    ["application/json", true],
    ["application/xml", true],
    ["application/javascript", true],
    ["application/ld+json", true],
    ["application/atom+xml", true],
    ["image/svg+xml", true],
    ["image/png", false],
    ["audio/mpeg", false],
    ["video/mp4", false],
    ["font/woff2", false],
    ["application/octet-stream", false],
    ["application/pdf", false],
    ["application/zip", false],
    ["application/vnd.ms-excel", undefined],
    ["application/x-whatever", undefined],
    ["", undefined],
    ["nonsense", undefined],
    [undefined, undefined],
  ];
  for (const [contentType, expected] of cases) {
    assert.equal(isTextContentType(contentType), expected, String(contentType));
  }
});

test("decodeUtf8Exactly keeps the byte order mark and refuses invalid UTF-8", () => {
  const withBom = utf8("\uFEFFhi");
  assert.equal(decodeUtf8Exactly(withBom), "\uFEFFhi");
  assert.equal(decodeUtf8Exactly(Uint8Array.of(0x61, 0xff)), undefined);
});

test("property: decodeUtf8Exactly round-trips every string's UTF-8 encoding", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme" }), (text) => {
      const bytes = utf8(text);
      const decoded = decodeUtf8Exactly(bytes);
      assert.equal(decoded, text);
      assert.deepEqual(utf8(decoded!), bytes);
    }),
  );
});

test("canMergeAsText combines the content type and the content of every version", () => {
  const text = utf8("a\n");
  const withNul = utf8("a\0b\n");
  const invalidLate = new Uint8Array(BINARY_SNIFF_BYTES + 2).fill(0x61);
  invalidLate[BINARY_SNIFF_BYTES + 1] = 0xff;
  assert.equal(canMergeAsText("text/plain", [text, text, text]), true);
  assert.equal(canMergeAsText("image/png", [text, text, text]), false, "a binary type is never merged");
  assert.equal(canMergeAsText(undefined, [text, withNul, text]), false, "unknown type: decided by content");
  assert.equal(canMergeAsText("text/plain", [text, withNul]), true, "declared text may hold NUL (valid UTF-8)");
  assert.equal(canMergeAsText("text/plain", [text, invalidLate]), false, "invalid UTF-8 anywhere cannot be decoded losslessly");
  assert.equal(canMergeAsText(undefined, []), true);
});
