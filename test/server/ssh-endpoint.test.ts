/**
 * The ssh endpoint of a real zsync-server process, driven by Debian's OpenSSH client and by ssh2:
 * host key trust, public-key and password authentication, refusals and their log lines, the
 * principal of requests on a channel, and the host key kept across restarts.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { openStore } from "../../src/server/store/open.js";
import { createZsyncClient } from "../../src/transport/http/client.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import {
  connectSsh2, hostPublicKey, httpGet, openSsh, parseHttpResponse, serverCli, sshDispatcher, sshKeygen, sshPort, writeKnownHosts,
} from "../helpers/ssh.js";

describe("ssh endpoint with OpenSSH", () => {
  let server: TestServer;
  let dir: string;
  let home: string;
  let demoKey: string;
  let strangerKey: string;
  let aliceKey: string;
  let knownHosts: string;
  let port: number;
  let hostKey: string;

  before(async () => {
    dir = await tempDir("zsync-ssh-");
    home = join(dir, "home");
    await mkdir(join(home, ".ssh"), { recursive: true });
    demoKey = await sshKeygen(join(home, ".ssh"), "id_ed25519");
    strangerKey = await sshKeygen(dir, "stranger");
    aliceKey = await sshKeygen(dir, "alice", "ecdsa");
    server = await startServer({ args: ["--ssh-port", "0"], env: { HOME: home } });
    port = sshPort(server);
    hostKey = await hostPublicKey(server.dataDir);
    knownHosts = await writeKnownHosts(join(dir, "known_hosts"), port, hostKey);
    assert.equal((await serverCli(server.dataDir, ["user", "add", "alice", "--password-stdin"], { input: "alice-secret-pw\n" })).code, 0);
    const added = await serverCli(server.dataDir, ["user", "key", "add", "alice", aliceKey + ".pub"]);
    assert.equal(added.code, 0, added.stderr);
  });
  after(() => server.stop());

  test("the demo authorizes the user's own key and prints a zsync+ssh checkout line", async () => {
    // The demo's "Try:" text follows the listening line; wait for its last line.
    for (let i = 0; i < 100 && !server.stdout().includes("Stop with Ctrl-C"); i++) await new Promise((r) => setTimeout(r, 50));
    const fingerprint = execFileSync("ssh-keygen", ["-lf", demoKey + ".pub"]).toString().split(" ")[1];
    const listed = await serverCli(server.dataDir, ["user", "key", "list", "zsync"]);
    assert.equal(listed.stdout, `zsync ${fingerprint} ssh-ed25519 id_ed25519@test\n`);
    assert.ok(server.stdout().includes(`authorized ${join(home, ".ssh", "id_ed25519.pub")} (${fingerprint}) for the demo account zsync`), server.stdout());
    assert.match(server.sshUrl!, /^zsync\+ssh:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.stdout().includes(`zsync checkout ${server.sshUrl!.replace("://", "://zsync@")}/demo ~/zsync-work2`), server.stdout());
    const hostFingerprint = execFileSync("ssh-keygen", ["-lf", join(server.dataDir, "ssh_host_ed25519_key.pub")]).toString().split(" ")[1];
    assert.ok(server.stdout().includes(`ssh host key ${hostFingerprint}`), server.stdout());
  });

  test("GET /.well-known/zsync over the zsync subsystem answers 200 JSON", async () => {
    const result = await openSsh({ port, key: demoKey, knownHosts, user: "zsync", subsystem: "zsync", input: httpGet("/.well-known/zsync"), home });
    assert.equal(result.code, 0, result.stderr);
    const response = parseHttpResponse(result.stdout);
    assert.equal(response.status, 200);
    const info = JSON.parse(response.body);
    assert.equal(info.server, "zsync-server");
    assert.equal(typeof info.repository.uuid, "string");
  });

  test("a wrong known_hosts entry makes ssh refuse the server", async () => {
    const otherHost = await sshKeygen(dir, "other-host");
    const wrong = await writeKnownHosts(join(dir, "wrong_known_hosts"), port, (await readFile(otherHost + ".pub", "utf8")).split(" ").slice(0, 2).join(" "));
    const result = await openSsh({ port, key: demoKey, knownHosts: wrong, user: "zsync", subsystem: "zsync", input: httpGet("/.well-known/zsync"), home });
    assert.equal(result.code, 255);
    assert.match(result.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    assert.equal(result.stdout, "");
  });

  test("an unknown key and an unknown user are refused, with a log line each", async () => {
    const stranger = await openSsh({ port, key: strangerKey, knownHosts, user: "zsync", subsystem: "zsync", input: httpGet("/.well-known/zsync"), home });
    assert.equal(stranger.code, 255);
    assert.match(stranger.stderr, /Permission denied \(publickey\)/);
    const nobody = await openSsh({ port, key: demoKey, knownHosts, user: "nobody", subsystem: "zsync", input: httpGet("/.well-known/zsync"), home });
    assert.equal(nobody.code, 255);
    assert.match(nobody.stderr, /Permission denied/);
    assert.match(await server.waitForStderr(/ssh: refused publickey for "zsync" from 127\.0\.0\.1:\d+: key SHA256:\S+ is not one of the account's keys/), /ssh: refused publickey for "zsync" from 127\.0\.0\.1:\d+: key SHA256:\S+ is not one of the account's keys/);
    assert.match(await server.waitForStderr(/ssh: refused publickey for "nobody" from 127\.0\.0\.1:\d+: no such account/), /ssh: refused publickey for "nobody" from 127\.0\.0\.1:\d+: no such account/);
  });

  test("exec, shell and other subsystems are refused with a message", async () => {
    const exec = await openSsh({ port, key: demoKey, knownHosts, user: "zsync", command: "cat /etc/passwd", home });
    assert.equal(exec.code, 1);
    assert.match(exec.stderr, /exec is not available; this server only offers the ssh subsystem "zsync"/);
    assert.doesNotMatch(exec.stdout, /root:/);
    const shell = await openSsh({ port, key: demoKey, knownHosts, user: "zsync", home });
    assert.equal(shell.code, 1);
    assert.match(shell.stderr, /shell is not available/);
    const sftp = await openSsh({ port, key: demoKey, knownHosts, user: "zsync", subsystem: "sftp", home });
    assert.equal(sftp.code, 1);
    assert.match(sftp.stderr, /subsystem "sftp" is not available/);
    assert.match(await server.waitForStderr(/ssh: refused exec for zsync from/), /ssh: refused exec for zsync from/);
  });

  test("requests on a channel act as the key's owner, without any Basic header", async () => {
    const ssh = await connectSsh2({ port, username: "alice", privateKey: await readFile(aliceKey), hostPublicKey: hostKey });
    const dispatcher = sshDispatcher(ssh);
    try {
      const client = createZsyncClient({ origin: "http://zsync.invalid", dispatcher });
      const result = await client.checkin(
        "demo",
        "from-alice",
        (async function* () {
          yield { kind: "file" as const, path: "from-alice", size: 3, body: "hi\n" };
        })(),
        { note: "over ssh" },
      );
      const log = await client.log("demo/from-alice");
      assert.equal(log[0].revision, result.revision);
      assert.equal(log[0].author, "alice");
      assert.equal(log[0].note, "over ssh");
    } finally {
      await dispatcher.close();
      ssh.end();
    }
    assert.match(await server.waitForStderr(/POST \/demo\/@@checkin\.snarf 200 alice /), /POST \/demo\/@@checkin\.snarf 200 alice /);
  });

  test("a key withdrawn with `user key remove` is refused", async () => {
    const listed = await serverCli(server.dataDir, ["user", "key", "list", "alice"]);
    const fingerprint = /^alice (SHA256:\S+) ecdsa-sha2-nistp256 alice@test$/m.exec(listed.stdout)?.[1];
    assert.ok(fingerprint, listed.stdout);
    const before = await openSsh({ port, key: aliceKey, knownHosts, user: "alice", subsystem: "zsync", input: httpGet("/.well-known/zsync"), home });
    assert.equal(before.code, 0, before.stderr);
    const removed = await serverCli(server.dataDir, ["user", "key", "remove", "alice", fingerprint]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await serverCli(server.dataDir, ["user", "key", "list", "alice"])).stdout, "");
    const after = await openSsh({ port, key: aliceKey, knownHosts, user: "alice", subsystem: "zsync", input: httpGet("/.well-known/zsync"), home });
    assert.equal(after.code, 255);
    assert.match(after.stderr, /Permission denied/);
    const again = await serverCli(server.dataDir, ["user", "key", "remove", "alice", fingerprint]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /alice has no key SHA256:/);
  });

  test("passwords are refused unless --ssh-password-auth, and the log holds no secret", async () => {
    await assert.rejects(
      connectSsh2({ port, username: "alice", password: "alice-secret-pw", hostPublicKey: hostKey, forcePassword: true }),
      /All configured authentication methods failed/,
    );
    assert.match(await server.waitForStderr(/ssh: refused password for "alice" from 127\.0\.0\.1:\d+: password authentication is off/), /ssh: refused password for "alice" from 127\.0\.0\.1:\d+: password authentication is off/);
    const log = server.stderr();
    assert.doesNotMatch(log, /alice-secret-pw/);
    for (const key of [demoKey, aliceKey, strangerKey]) {
      const secretLine = (await readFile(key, "utf8")).split("\n")[1];
      assert.ok(!log.includes(secretLine));
    }
  });
});

describe("ssh endpoint: passwords, restarts, removed accounts", () => {
  let dir: string;
  let dataDir: string;
  let bobKey: string;

  before(async () => {
    dir = await tempDir("zsync-ssh2-");
    dataDir = join(dir, "data");
    bobKey = await sshKeygen(dir, "bob");
  });

  test("failed ssh passwords are rate limited across connections, together with HTTP Basic", async () => {
    const guarded = await startServer({ dataDir: join(dir, "guarded"), demo: false, args: ["--ssh-port", "0", "--ssh-password-auth", "--max-login-failures", "2"], env: { HOME: dir } });
    try {
      assert.equal((await serverCli(guarded.dataDir, ["user", "add", "dan", "--password-stdin"], { input: "dan-pw-789\n" })).code, 0);
      const hostKey = await hostPublicKey(guarded.dataDir);
      const attempt = (password: string) => connectSsh2({ port: sshPort(guarded), username: "dan", password, hostPublicKey: hostKey });
      // Each guess on a new connection: the per-connection limit alone would never stop this.
      for (let i = 0; i < 2; i++) await assert.rejects(attempt(`guess-${i}`), /authentication methods failed/);
      await assert.rejects(attempt("dan-pw-789"), /authentication methods failed/, "even the right password is refused during the cool-down");
      const line = /ssh: refused password for "dan" from 127\.0\.0\.1:\d+: too many failed logins from this address; cooling down/;
      assert.match(await guarded.waitForStderr(line), line);
      // The same count guards HTTP Basic: dan's password over HTTP is refused too, with 429.
      const http = await fetch(`${guarded.url}/.well-known/zsync`, { headers: { authorization: "Basic " + Buffer.from("dan:dan-pw-789").toString("base64") } });
      assert.equal(http.status, 429);
      assert.doesNotMatch(guarded.stderr(), /guess-|dan-pw-789/);
    } finally {
      await guarded.stop();
    }
  });

  test("password auth when enabled; the host key persists; a removed account is refused", async () => {
    const first = await startServer({ dataDir, demo: false, args: ["--ssh-port", "0", "--ssh-password-auth"], env: { HOME: dir } });
    const firstFingerprint = /ssh host key (SHA256:\S+) \(.*, generated now\)/.exec(first.stdout())?.[1];
    assert.ok(firstFingerprint, first.stdout());
    try {
      assert.equal((await serverCli(dataDir, ["user", "add", "bob", "--password-stdin"], { input: "bob-pw-123\n" })).code, 0);
      assert.equal((await serverCli(dataDir, ["user", "key", "add", "bob", bobKey + ".pub"])).code, 0);
      const hostKey = await hostPublicKey(dataDir);
      const ssh = await connectSsh2({ port: sshPort(first), username: "bob", password: "bob-pw-123", hostPublicKey: hostKey });
      ssh.on("error", () => {});
      const sshClosed = new Promise<void>((resolve) => ssh.once("close", () => resolve()));
      await assert.rejects(connectSsh2({ port: sshPort(first), username: "bob", password: "wrong-pw-456", hostPublicKey: hostKey }), /authentication methods failed/);
      assert.match(await first.waitForStderr(/ssh: refused password for "bob" from 127\.0\.0\.1:\d+: wrong password/), /ssh: refused password for "bob" from 127\.0\.0\.1:\d+: wrong password/);
      assert.doesNotMatch(first.stderr(), /wrong-pw-456|bob-pw-123/);
      // SIGTERM with an ssh connection open: the server ends it and exits cleanly.
      await first.stop();
      assert.equal(first.process.exitCode, 0, first.stderr());
      await sshClosed;
    } finally {
      await first.stop();
    }
    const keyBefore = await readFile(join(dataDir, "ssh_host_ed25519_key"));
    const hostKey = await hostPublicKey(dataDir);
    // Remove the account on the stopped server's store; restart without password auth.
    const store = await openStore(`sqlite:${join(dataDir, "repository.sqlite")}`);
    await store.addAccount("carol", "x", "reader");
    await store.removeAccount("bob");
    await store.close();
    const second = await startServer({ dataDir, demo: false, args: ["--ssh-port", "0"], env: { HOME: dir } });
    try {
      assert.deepEqual(await readFile(join(dataDir, "ssh_host_ed25519_key")), keyBefore);
      const knownHosts = await writeKnownHosts(join(dir, "known_hosts"), sshPort(second), hostKey);
      const result = await openSsh({ port: sshPort(second), key: bobKey, knownHosts, user: "bob", subsystem: "zsync", input: httpGet("/.well-known/zsync"), home: dir });
      assert.equal(result.code, 255, "the old host key is still trusted, but bob is gone: " + result.stderr);
      assert.match(result.stderr, /Permission denied/);
      assert.doesNotMatch(result.stderr, /HOST IDENTIFICATION/);
      assert.match(await second.waitForStderr(/ssh: refused publickey for "bob" from 127\.0\.0\.1:\d+: no such account/), /ssh: refused publickey for "bob" from 127\.0\.0\.1:\d+: no such account/);
      assert.equal(/ssh host key (SHA256:\S+) \(/.exec(second.stdout())?.[1], firstFingerprint);
      assert.doesNotMatch(second.stdout(), /generated now/);
    } finally {
      await second.stop();
    }
  });
});
