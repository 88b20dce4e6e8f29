/**
 * known_hosts parsing and matching against files OpenSSH's own tools produce: plain names,
 * `[host]:port`, comma lists, wildcards and negation, `ssh-keygen -H` hashed entries, @revoked;
 * every lookup cross-checked with `ssh-keygen -F`.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  hostFieldMatches,
  hostKeyFromBlob,
  knownHostName,
  parseKnownHosts,
  readKnownHosts,
} from "../../src/transport/ssh/known-hosts.js";
import { makeKey } from "../helpers/sshd.js";
import { tempDir } from "../helpers/server.js";

const run = promisify(execFile);

/** `type base64` and the blob of a public key file. */
async function publicKey(file: string): Promise<{ line: string; blob: Buffer; type: string }> {
  const [type, base64] = (await readFile(file, "utf8")).trim().split(/\s+/);
  return { line: `${type} ${base64}`, blob: Buffer.from(base64, "base64"), type };
}

/** Whether `ssh-keygen -F name -f file` finds the name (exit 0 with output). */
async function keygenFinds(file: string, name: string): Promise<boolean> {
  return run("ssh-keygen", ["-F", name, "-f", file]).then(
    (r) => r.stdout.trim() !== "",
    () => false,
  );
}

describe("known_hosts", () => {
  let dir: string;
  let a: { line: string; blob: Buffer; type: string };
  let b: { line: string; blob: Buffer; type: string };
  let rsa: { line: string; blob: Buffer; type: string };
  before(async () => {
    dir = await tempDir("zsync-kh-");
    a = await publicKey(`${await makeKey(join(dir, "a"))}.pub`);
    b = await publicKey(`${await makeKey(join(dir, "b"))}.pub`);
    rsa = await publicKey(`${await makeKey(join(dir, "r"), { type: "rsa" })}.pub`);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("names: plain for port 22, [host]:port otherwise, lower-cased", () => {
    assert.equal(knownHostName("Example.COM", 22), "example.com");
    assert.equal(knownHostName("127.0.0.1", 2222), "[127.0.0.1]:2222");
  });

  test("the key type is read from the blob and the fingerprint equals ssh-keygen -lf", async () => {
    assert.equal(hostKeyFromBlob(a.blob).type, "ssh-ed25519");
    assert.equal(hostKeyFromBlob(rsa.blob).type, "ssh-rsa");
    const { stdout } = await run("ssh-keygen", ["-lf", join(dir, "a.pub")]);
    assert.equal(fingerprint(a.blob), stdout.split(/\s+/)[1]);
    assert.throws(() => hostKeyFromBlob(Buffer.from([0, 0])));
  });

  test("plain, [host]:port, comma lists, wildcards and negation match as ssh-keygen -F does", async () => {
    const file = join(dir, "plain_hosts");
    const text = [
      "# a comment",
      "",
      `alpha.example,10.0.0.1 ${a.line}`,
      `[alpha.example]:2222 ${b.line}`,
      `*.wild.example,!bad.wild.example ${a.line}`,
      `h?.example ${b.line}`,
      `garbage`,
    ].join("\n");
    await writeFile(file, text);
    const entries = parseKnownHosts(text, file);
    assert.equal(entries.length, 4);
    assert.deepEqual(entries.map((e) => e.line), [3, 4, 5, 6]);
    const names = ["alpha.example", "10.0.0.1", "[alpha.example]:2222", "[alpha.example]:2223", "x.wild.example", "bad.wild.example", "h1.example", "h12.example", "beta.example", "ALPHA.example"];
    for (const name of names) {
      const ours = entries.some((e) => hostFieldMatches(e.hosts, name.toLowerCase()));
      assert.equal(ours, await keygenFinds(file, name), `match of ${name}`);
    }
  });

  test("entries hashed by ssh-keygen -H match the same names, and only those", async () => {
    const file = join(dir, "hashed_hosts");
    await writeFile(file, [`alpha.example ${a.line}`, `[127.0.0.1]:2222 ${b.line}`, `10.1.1.1 ${rsa.line}`].join("\n") + "\n");
    await run("ssh-keygen", ["-H", "-f", file]);
    const text = await readFile(file, "utf8");
    const entries = parseKnownHosts(text, file);
    assert.equal(entries.length, 3);
    assert.ok(entries.every((e) => e.hosts.startsWith("|1|")), "ssh-keygen hashed every entry");
    for (const name of ["alpha.example", "[127.0.0.1]:2222", "10.1.1.1", "127.0.0.1", "[127.0.0.1]:2223", "beta.example"]) {
      const ours = entries.some((e) => hostFieldMatches(e.hosts, name));
      assert.equal(ours, await keygenFinds(file, name), `hashed match of ${name}`);
    }
    assert.equal(checkHostKey(entries, "[127.0.0.1]:2222", hostKeyFromBlob(b.blob)).status, "known");
    assert.equal(checkHostKey(entries, "[127.0.0.1]:2222", hostKeyFromBlob(a.blob)).status, "changed");
  });

  test("known, unknown, changed (same or other type) and revoked keys", () => {
    const text = [`alpha.example ${a.line}`, `@revoked * ${b.line}`, `@cert-authority *.example ${rsa.line}`].join("\n");
    const entries = parseKnownHosts(text, "f");
    assert.equal(checkHostKey(entries, "alpha.example", hostKeyFromBlob(a.blob)).status, "known");
    assert.equal(checkHostKey(entries, "beta.example", hostKeyFromBlob(a.blob)).status, "unknown", "a cert-authority line is no host key");
    assert.equal(checkHostKey(entries, "alpha.example", hostKeyFromBlob(rsa.blob)).status, "changed");
    const revoked = checkHostKey(entries, "beta.example", hostKeyFromBlob(b.blob));
    assert.equal(revoked.status, "revoked");
    assert.equal(checkHostKey(entries, "alpha.example", hostKeyFromBlob(b.blob)).status, "revoked");
  });

  test("a missing file is empty; a file that cannot be read fails closed", async () => {
    assert.deepEqual(await readKnownHosts([join(dir, "missing")]), []);
    const blocked = join(dir, "blocked");
    await mkdir(blocked);
    await assert.rejects(readKnownHosts([blocked]), (error: Error & { code?: string }) => {
      assert.equal(error.code, "known-hosts-unreadable");
      assert.match(error.message, /cannot read the known hosts file .*blocked.*EISDIR.*refusing/);
      return true;
    });
  });

  test("appending writes `host type base64` or `[host]:port type base64`, readable by ssh-keygen -F", async () => {
    const file = join(dir, "new", ".ssh", "zsync_known_hosts");
    await appendKnownHost(file, knownHostName("127.0.0.1", 2222), hostKeyFromBlob(a.blob));
    await appendKnownHost(file, knownHostName("alpha.example", 22), hostKeyFromBlob(b.blob));
    assert.equal(await readFile(file, "utf8"), `[127.0.0.1]:2222 ${a.line}\nalpha.example ${b.line}\n`);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(await keygenFinds(file, "[127.0.0.1]:2222"));
    assert.ok(await keygenFinds(file, "alpha.example"));
  });
});
