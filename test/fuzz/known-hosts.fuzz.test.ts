/**
 * Fuzz target: known_hosts text (src/transport/ssh/known-hosts.ts). The parser skips what it
 * cannot read, as ssh does, so it must never throw; every entry it yields must be usable (a host
 * field without blanks, a key type, key bytes), matching must never throw on any name, and a line
 * zsync writes must read back as the same key for the same host.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import fc from "fast-check";
import { checkHostKey, formatKnownHostLine, hostFieldMatches, knownHostName, parseKnownHosts, type KnownHostEntry } from "../../src/transport/ssh/known-hosts.js";
import { fuzzTest } from "./runs.js";
import { fuzzTextParser } from "./text-parser.js";

const hostArb = fc.oneof(
  fc.constantFrom("example.org", "127.0.0.1", "::1", "git.example.org", "*.example.org", "h?st", "!bad.example.org"),
  fc.stringMatching(/^[a-z0-9.-]{1,20}$/),
);
const portArb = fc.oneof(fc.constant(22), fc.integer({ min: 1, max: 65535 }));
const nameArb = fc.tuple(hostArb, portArb).map(([h, p]) => knownHostName(h.replace(/^!/, ""), p));
const keyTypeArb = fc.constantFrom("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", "sk-ssh-ed25519@openssh.com");
const blobArb = fc.tuple(keyTypeArb, fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([type, bytes]) => {
  const t = Buffer.from(type, "latin1");
  const head = Buffer.alloc(4);
  head.writeUInt32BE(t.length);
  return { type, blob: Buffer.concat([head, t, Buffer.from(bytes)]) };
});
/** `|1|salt|hmac` as `ssh-keygen -H` writes a hashed host name. */
const hashed = (name: string, salt: Buffer) => `|1|${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;

const lineArb = fc
  .tuple(
    fc.constantFrom("", "", "@revoked ", "@cert-authority ", "@other "),
    fc.array(nameArb, { minLength: 1, maxLength: 3 }),
    fc.boolean(),
    blobArb,
    fc.constantFrom("", " comment", " user@laptop"),
  )
  .map(([marker, names, hash, key, comment]) => `${marker}${hash ? hashed(names[0], randomBytes(20)) : names.join(",")} ${key.type} ${key.blob.toString("base64")}${comment}`);
const fileArb = fc.array(fc.oneof({ weight: 4, arbitrary: lineArb }, { weight: 1, arbitrary: fc.constantFrom("", "# comment", "   ", "\t#x") }), { maxLength: 6 }).map((lines) => lines.join("\n"));
const noiseArb = fc.array(fc.oneof(lineArb, fc.string({ maxLength: 40 }), fc.constantFrom("@revoked", "|1|", "|1|x|y ssh-ed25519 AAAA", "[h]:22 ssh-rsa ====", "h ssh-rsa A")), { maxLength: 4 }).map((l) => l.join("\n"));

fuzzTextParser<KnownHostEntry[]>({
  name: "known_hosts files",
  parse: (text) => parseKnownHosts(text, "known_hosts"),
  // The parser never throws: a line it cannot read is skipped, as ssh skips it.
  isOwnError: () => false,
  validArb: fileArb,
  noiseArb,
  invariant(entries, text) {
    const lineCount = text.split(/\r?\n/).length;
    for (const entry of entries) {
      assert.ok(entry.hosts.length > 0 && !/\s/.test(entry.hosts), "host field is one non-blank word");
      assert.ok(entry.keyType.length > 0 && !/\s/.test(entry.keyType), "key type is one non-blank word");
      assert.ok(entry.key.length > 0, "key bytes decode");
      assert.ok(entry.line >= 1 && entry.line <= lineCount, "line number inside the file");
      assert.ok(entry.marker === undefined || entry.marker === "revoked" || entry.marker === "cert-authority");
    }
  },
  // Each entry written back on its own line number (blank lines between), so line numbers survive.
  format(entries) {
    const lines: string[] = [];
    for (const e of entries) {
      while (lines.length < e.line - 1) lines.push("");
      lines.push(`${e.marker ? `@${e.marker} ` : ""}${e.hosts} ${e.keyType} ${e.key.toString("base64")}`);
    }
    return lines.join("\n");
  },
  examples: [
    "@revoked", "|1|", "@revoked h", "h t !!!", "[h]:22 ssh-rsa ====",
    // Fixed: a key field that decodes to no bytes ("A") was taken as a key.
    "h ssh-rsa A",
  ],
});

/**
 * The reference matcher: which prefixes of `pattern` match which prefixes of `name`, filled in as a
 * table (O(pattern × name) for any input). A regular expression as reference backtracks
 * exponentially on the example below, as the product once did: the example took 137 s of CI.
 */
function referenceGlob(pattern: string, name: string): boolean {
  let row = [true, ...Array<boolean>(name.length).fill(false)];
  for (const c of pattern) {
    const next = [c === "*" && row[0]];
    for (let j = 1; j <= name.length; j++) {
      next[j] = c === "*" ? row[j] || next[j - 1] : row[j - 1] && (c === "?" || c === name[j - 1]);
    }
    row = next;
  }
  return row[name.length];
}

fuzzTest(
  "known_hosts wildcards match like a reference matcher, in linear time",
  fc.property(fc.stringMatching(/^[ab*?]{0,12}$/), fc.stringMatching(/^[ab]{0,12}$/), (pattern, name) => {
    assert.equal(hostFieldMatches(pattern, name), referenceGlob(pattern, name));
  }),
  // Fixed: the pattern was turned into a regular expression that backtracked exponentially. Such
  // a matcher would not finish this example, and the per-test timeout fails it.
  { examples: [["*a".repeat(20) + "*b", "a".repeat(200)]] },
);

fuzzTest(
  "known_hosts matching never throws, and a line zsync writes is found again as the same key",
  fc.property(fc.string({ maxLength: 60 }), nameArb, blobArb, fileArb, (hostField, name, key, other) => {
    hostFieldMatches(hostField, name);
    const written = formatKnownHostLine(name, key);
    const entries = parseKnownHosts(`${other}\n${written}\n`, "f");
    const status = checkHostKey(entries, name, key);
    // Another line of the file may revoke this very key; otherwise the written line makes it known.
    if (status.status !== "revoked") assert.equal(status.status, "known", `${written} not found for ${name}`);
  }),
);
