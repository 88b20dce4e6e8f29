/**
 * HTTPS end to end: a test CA and server certificates made with the openssl CLI at test time,
 * the real `zsync-server serve --tls-cert --tls-key`, the real `zsync` verifying against the
 * system store plus `--ca` / `ZSYNC_CA` (remembered by the checkout). Every wrong certificate
 * fails closed with a message naming the host and the reason; nothing is written.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cleartextCredentialsWarning, isLoopbackHost } from "../../src/transport/http/tls.js";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { SERVER_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";
import { makeCa, makeServerCert, openssl } from "../helpers/tls.js";

describe("HTTPS with a test CA", () => {
  let pki: string;
  let work: string;
  let server: TestServer;
  let wrongName: TestServer;
  let selfSigned: TestServer;
  const home = () => ({ HOME: work, ZSYNC_CA: undefined, NODE_EXTRA_CA_CERTS: undefined });

  before(async () => {
    pki = await tempDir("zsync-pki-");
    work = await tempDir("zsync-tls-");
    makeCa(pki, "test-ca");
    makeServerCert(pki, "server", "test-ca", "DNS:localhost,IP:127.0.0.1,IP:::1");
    makeServerCert(pki, "other", "test-ca", "DNS:other.example");
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], pki);
    const tlsArgs = (name: string) => ["--tls-cert", join(pki, `${name}.pem`), "--tls-key", join(pki, `${name}.key`)];
    [server, wrongName, selfSigned] = await Promise.all([startServer({ args: tlsArgs("server") }), startServer({ args: tlsArgs("other") }), startServer({ args: tlsArgs("self") })]);
  });
  after(async () => {
    await Promise.all([server, wrongName, selfSigned].map((s) => s?.stop()));
    await rm(pki, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  test("the server prints an https:// URL", () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  });

  test("checkout, commit and update over https with --ca; the checkout remembers the CA file", async () => {
    const url = `${server.url.replace("://", "://zsync@")}/demo`;
    const co = await zsyncJson(["checkout", url, "a", "--ca", join(pki, "test-ca.pem")], { cwd: work, env: home() });
    assert.equal(co.code, 0, co.stderr);
    assert.equal(co.stderr, "", "no warning over https");
    const config = JSON.parse(await readFile(join(work, "a/.zsync/config.json"), "utf8"));
    assert.equal(config.ca, join(pki, "test-ca.pem"));
    assert.equal(config.origin, server.url);
    await writeFile(join(work, "a/README.txt"), "changed over TLS\n");
    const commit = await zsync(["commit", "-m", "over tls"], { cwd: join(work, "a"), env: home() });
    assert.equal(commit.code, 0, commit.stderr);
    const status = await zsync(["status", "-u"], { cwd: join(work, "a"), env: home() });
    assert.equal(status.code, 0, status.stderr);
  });

  test("ZSYNC_CA works like --ca", async () => {
    const url = `${server.url.replace("://", "://zsync@")}/demo`;
    const co = await zsync(["checkout", url, "b", "-q"], { cwd: work, env: { ...home(), ZSYNC_CA: join(pki, "test-ca.pem") } });
    assert.equal(co.code, 0, co.stderr);
    assert.equal(await readFile(join(work, "b/README.txt"), "utf8"), "changed over TLS\n");
  });

  test("localhost is verified as well as 127.0.0.1", async () => {
    const url = `https://zsync@localhost:${server.port}/demo`;
    const co = await zsync(["checkout", url, "c", "-q", "--ca", join(pki, "test-ca.pem")], { cwd: work, env: home() });
    assert.equal(co.code, 0, co.stderr);
  });

  test("without --ca the test CA is unknown: fails closed, names host and reason, suggests --ca, writes nothing", async () => {
    const url = `${server.url.replace("://", "://zsync@")}/demo`;
    const co = await zsync(["checkout", url, "d"], { cwd: work, env: home() });
    assert.equal(co.code, 1);
    assert.match(co.stderr, new RegExp(`TLS certificate of 127\\.0\\.0\\.1:${server.port} could not be verified: the certificate (was issued by an unknown CA|chain ends in an untrusted self-signed CA)`));
    assert.match(co.stderr, /--ca FILE/);
    assert.doesNotMatch(co.stderr, /\n\s+at /, "no stack trace");
    assert.equal(existsSync(join(work, "d")), false, "nothing written");
    const json = await zsyncJson(["checkout", url, "d"], { cwd: work, env: home() });
    assert.equal(json.json.error.code, "tls-verify-failed");
  });

  test("https:// to a server that speaks plain HTTP says exactly that", async () => {
    const plain = await startServer({});
    try {
      const url = `${plain.url.replace("http://", "https://zsync@")}/demo`;
      const co = await zsync(["checkout", url, "plain"], { cwd: work, env: home() });
      assert.equal(co.code, 1);
      assert.match(co.stderr, new RegExp(`127\\.0\\.0\\.1:${plain.port} speaks plain HTTP, not HTTPS: use http://127\\.0\\.0\\.1:${plain.port}/`));
      assert.doesNotMatch(co.stderr, /could not be verified/);
      assert.equal(existsSync(join(work, "plain")), false);
      assert.equal((await zsyncJson(["checkout", url, "plain"], { cwd: work, env: home() })).json.error.code, "not-https");
    } finally {
      await plain.stop();
    }
  });

  test("a certificate for another name fails even with the right CA", async () => {
    const co = await zsync(["checkout", `${wrongName.url.replace("://", "://zsync@")}/demo`, "e", "--ca", join(pki, "test-ca.pem")], { cwd: work, env: home() });
    assert.equal(co.code, 1);
    assert.match(co.stderr, /could not be verified: the certificate is for another host name/);
    assert.equal(existsSync(join(work, "e")), false);
  });

  test("a self-signed certificate fails", async () => {
    const co = await zsync(["checkout", `${selfSigned.url.replace("://", "://zsync@")}/demo`, "f", "--ca", join(pki, "test-ca.pem")], { cwd: work, env: home() });
    assert.equal(co.code, 1);
    assert.match(co.stderr, /could not be verified: the certificate is self-signed/);
  });

  test("an expired certificate fails", async (t) => {
    makeServerCert(pki, "expired", "test-ca", "IP:127.0.0.1", { expired: true });
    const expired = await startServer({ args: ["--tls-cert", join(pki, "expired.pem"), "--tls-key", join(pki, "expired.key")] });
    t.after(() => expired.stop());
    const co = await zsync(["checkout", `${expired.url.replace("://", "://zsync@")}/demo`, "g", "--ca", join(pki, "test-ca.pem")], { cwd: work, env: home() });
    assert.equal(co.code, 1);
    assert.match(co.stderr, /could not be verified: the certificate has expired/);
  });

  test("a checkout made with --ca fails closed once the CA file is gone, and names it", async () => {
    const copy = join(pki, "copy-ca.pem");
    await writeFile(copy, await readFile(join(pki, "test-ca.pem")));
    const url = `${server.url.replace("://", "://zsync@")}/demo`;
    assert.equal((await zsync(["checkout", url, "h", "-q", "--ca", copy], { cwd: work, env: home() })).code, 0);
    await rm(copy);
    const up = await zsync(["update"], { cwd: join(work, "h"), env: home() });
    assert.equal(up.code, 1);
    assert.match(up.stderr, /cannot read the CA certificate file .*copy-ca\.pem \(ENOENT\)/);
  });

  test("a --ca file that is not a certificate is refused", async () => {
    const bogus = join(pki, "bogus.pem");
    await writeFile(bogus, "not a certificate\n");
    const co = await zsync(["checkout", `${server.url.replace("://", "://zsync@")}/demo`, "i", "--ca", bogus], { cwd: work, env: home() });
    assert.equal(co.code, 1);
    assert.match(co.stderr, /holds no PEM certificate/);
  });

  test("serve refuses a key that does not belong to the certificate, and a lone --tls-cert", () => {
    const mismatch = spawnSync(process.execPath, [SERVER_BIN, "--data-dir", join(work, "srv"), "serve", "--port", "0", "--tls-cert", join(pki, "server.pem"), "--tls-key", join(pki, "other.key")], { encoding: "utf8" });
    assert.equal(mismatch.status, 1);
    assert.match(mismatch.stderr, /is not the private key of the certificate/);
    const lone = spawnSync(process.execPath, [SERVER_BIN, "--data-dir", join(work, "srv"), "serve", "--port", "0", "--tls-cert", join(pki, "server.pem")], { encoding: "utf8" });
    assert.equal(lone.status, 1);
    assert.match(lone.stderr, /--tls-cert and --tls-key go together/);
    const missing = spawnSync(process.execPath, [SERVER_BIN, "--data-dir", join(work, "srv"), "serve", "--port", "0", "--tls-cert", join(pki, "nope.pem"), "--tls-key", join(pki, "server.key")], { encoding: "utf8" });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read the TLS certificate .*nope\.pem \(ENOENT\)/);
  });
});

describe("credentials over plain http", () => {
  test("the decision: warn only for http:// to a non-loopback host with credentials", () => {
    assert.equal(cleartextCredentialsWarning("http://127.0.0.1:8080", true), undefined);
    assert.equal(cleartextCredentialsWarning("http://127.8.9.10:8080", true), undefined);
    assert.equal(cleartextCredentialsWarning("http://localhost:8080", true), undefined);
    assert.equal(cleartextCredentialsWarning("http://[::1]:8080", true), undefined);
    assert.equal(cleartextCredentialsWarning("https://example.com", true), undefined);
    assert.equal(cleartextCredentialsWarning("http://example.com", false), undefined);
    assert.match(cleartextCredentialsWarning("http://example.com:8080", true)!, /sending credentials to example\.com:8080 over plain http:\/\//);
    assert.match(cleartextCredentialsWarning("http://10.0.0.5", true)!, /10\.0\.0\.5/);
    assert.equal(isLoopbackHost("128.0.0.1"), false);
    assert.equal(isLoopbackHost("[::2]"), false);
  });

  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === "IPv4" && !a.internal)?.address;

  test("one warning line on stderr for a non-loopback address of this machine", async (t) => {
    if (!address) {
      // No network address here: the decision for such an address is all there is to check.
      assert.match(cleartextCredentialsWarning("http://192.0.2.2:8080", true)!, /over plain http/);
      return;
    }
    const server = await startServer({ host: "0.0.0.0" });
    const work = await tempDir("zsync-plain-");
    t.after(async () => {
      await server.stop();
      await rm(work, { recursive: true, force: true });
    });
    const url = `http://zsync@${address}:${server.port}/demo`;
    const co = await zsync(["checkout", url, "w", "-q"], { cwd: work, env: { HOME: work } });
    assert.equal(co.code, 0, co.stderr);
    const warnings = co.stderr.split("\n").filter((l) => l.includes("over plain http://"));
    assert.equal(warnings.length, 1, co.stderr);
    const anonymous = await zsync(["checkout", `http://${address}:${server.port}/demo`, "x", "-q"], { cwd: work, env: { HOME: work, ZSYNC_PASSWORD: undefined } });
    assert.doesNotMatch(anonymous.stderr, /plain http/);
    const loopback = await zsync(["checkout", `http://zsync@127.0.0.1:${server.port}/demo`, "y", "-q"], { cwd: work, env: { HOME: work } });
    assert.equal(loopback.code, 0, loopback.stderr);
    assert.equal(loopback.stderr, "");
  });
});
