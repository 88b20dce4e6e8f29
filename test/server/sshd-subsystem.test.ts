/**
 * Stock OpenSSH as the ssh endpoint: a real sshd whose `Subsystem zsync` runs
 * `zsync-server --stdio`, reached with the OpenSSH client. The unix user sshd authenticated is
 * the account requests act as.
 */
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { tempDir } from "../helpers/server.js";
import { httpGet, openSsh, parseHttpResponse, serverCli, sshKeygen, writeKnownHosts } from "../helpers/ssh.js";
import { startSshd, stdioSubsystem, type TestSshd } from "../helpers/sshd.js";

describe("stock sshd with Subsystem zsync → zsync-server --stdio", () => {
  let dir: string;
  let dataDir: string;
  let key: string;
  let mappedKey: string;
  let knownHosts: string;
  let port: number;
  let sshd: TestSshd;
  const sshdLog = () => sshd.log();
  const unixUser = userInfo().username;

  before(async () => {
    dir = await tempDir("zsync-sshd-");
    dataDir = join(dir, "data");
    key = await sshKeygen(dir, "user");
    mappedKey = await sshKeygen(dir, "mapped");
    assert.equal((await serverCli(dataDir, ["user", "add", "alice", "--password-stdin"], { input: "pw\n" })).code, 0);
    sshd = await startSshd({ subsystem: stdioSubsystem(dataDir) });
    // The shared-unix-user setup of docs/SSH.md: a forced command maps this key to alice.
    const forced = `restrict,command="${stdioSubsystem(dataDir, { as: "alice" })} --log-file ${join(dir, "stdio.log")}"`;
    await writeFile(sshd.authorizedKeys, (await readFile(key + ".pub", "utf8")) + `${forced} ${await readFile(mappedKey + ".pub", "utf8")}`);
    port = sshd.port;
    knownHosts = await writeKnownHosts(join(dir, "known_hosts"), port, sshd.hostKeyLine);
  });
  after(async () => {
    await sshd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("a unix user without an account is told so (401 naming the user)", async () => {
    const result = await openSsh({ port, key, knownHosts, user: unixUser, subsystem: "zsync", input: httpGet("/.well-known/zsync"), home: dir });
    assert.equal(result.code, 0, result.stderr + (await sshdLog()));
    const response = parseHttpResponse(result.stdout);
    assert.equal(response.status, 401);
    assert.match(JSON.parse(response.body).error.message, new RegExp(`the ssh user "${unixUser}" has no zsync account`));
  });

  test("once the account exists, requests over the subsystem are served as it", async () => {
    assert.equal((await serverCli(dataDir, ["user", "add", unixUser, "--password-stdin"], { input: "pw\n" })).code, 0);
    const result = await openSsh({ port, key, knownHosts, user: unixUser, subsystem: "zsync", input: httpGet("/.well-known/zsync"), home: dir });
    assert.equal(result.code, 0, result.stderr);
    const response = parseHttpResponse(result.stdout);
    assert.equal(response.status, 200);
    assert.equal(JSON.parse(response.body).server, "zsync-server");
  });

  test("a forced command in authorized_keys maps a key to an account with --as", async () => {
    const result = await openSsh({ port, key: mappedKey, knownHosts, user: unixUser, subsystem: "zsync", input: httpGet("/.well-known/zsync"), home: dir });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(parseHttpResponse(result.stdout).status, 200);
    // sshd discards a subsystem's stderr, hence --log-file.
    assert.match(await readFile(join(dir, "stdio.log"), "utf8"), /^\S+ GET \/\.well-known\/zsync 200 alice \d+ms$/m);
  });
});
