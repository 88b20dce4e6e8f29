/**
 * The ssh host key generator: ssh2 1.17 makes a malformed ed25519 public key about once in 256
 * (mscdex/ssh2#1513), which made a fresh server fail to start now and then. Every pair
 * `generateEd25519Pair` returns must read back; 2,000 pairs would hit the bug ~8 times.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import ssh2 from "ssh2";
import { generateEd25519Pair } from "../../src/server/ssh/host-key.js";

test("every generated ed25519 host key pair parses, public and private", () => {
  for (let i = 0; i < 2000; i++) {
    const pair = generateEd25519Pair();
    const pub = ssh2.utils.parseKey(pair.public);
    const priv = ssh2.utils.parseKey(pair.private);
    assert.ok(!(pub instanceof Error), `public key ${i}: ${pub instanceof Error ? pub.message : ""}`);
    assert.ok(!(priv instanceof Error), `private key ${i}: ${priv instanceof Error ? priv.message : ""}`);
  }
});
