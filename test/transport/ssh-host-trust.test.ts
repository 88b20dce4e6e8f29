/**
 * The host-key decision across re-keys of one connection: ssh2 asks the verifier again at every
 * key exchange, so a key accepted once must neither be stored again nor be replaced by another.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import ssh2 from "ssh2";
import { loadHostTrust } from "../../src/transport/ssh/host-trust.js";
import { WcError } from "../../src/wc/admin.js";
import { generateEd25519Pair } from "../../src/server/ssh/host-key.js";

const dir = mkdtempSync(join(tmpdir(), "zsync-host-trust-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The public key blob of a fresh ed25519 key, as a server presents it. */
function hostKeyBlob(): Buffer {
  const parsed = ssh2.utils.parseKey(generateEd25519Pair().public);
  if (parsed instanceof Error) throw parsed;
  return parsed.getPublicSSH();
}

test("a key accepted once is stored once; a different key later in the same connection is refused", async () => {
  const file = join(dir, "known_hosts");
  const trust = await loadHostTrust({ host: "127.0.0.1", port: 2200, files: { read: [file], write: file }, acceptNew: true, interactive: false });
  const first = hostKeyBlob();
  await trust.verify(first);
  await trust.verify(first); // a re-key with the same key
  assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 1, "stored once");
  await assert.rejects(trust.verify(hostKeyBlob()), (error: unknown) => error instanceof WcError && error.code === "host-key-changed");
  assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 1, "the other key was not stored");
});
