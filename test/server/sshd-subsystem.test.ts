/**
 * Stock OpenSSH as the ssh endpoint: a real sshd whose `Subsystem zsync` runs
 * `zsync-server --stdio`, reached with the OpenSSH client. The unix user sshd authenticated is
 * the account requests act as.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SERVER_BIN, tempDir } from "../helpers/server.js";
import { httpGet, openSsh, parseHttpResponse, serverCli, sshKeygen, writeKnownHosts } from "../helpers/ssh.js";

/** A port that was free a moment ago (sshd cannot be told to pick one and report it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe("stock sshd with Subsystem zsync → zsync-server --stdio", () => {
  let dir: string;
  let dataDir: string;
  let key: string;
  let mappedKey: string;
  let knownHosts: string;
  let port: number;
  let sshd: ChildProcess;
  let sshdLog = "";
  const unixUser = userInfo().username;

  before(async () => {
    dir = await tempDir("zsync-sshd-");
    dataDir = join(dir, "data");
    key = await sshKeygen(dir, "user");
    const hostKey = await sshKeygen(dir, "host");
    mappedKey = await sshKeygen(dir, "mapped");
    // The shared-unix-user setup of docs/SSH.md: a forced command maps this key to alice.
    const forced = `restrict,command="${process.execPath} ${SERVER_BIN} --stdio --data-dir ${join(dir, "data")} --as alice --log-file ${join(dir, "stdio.log")}"`;
    await writeFile(join(dir, "authorized_keys"), (await readFile(key + ".pub", "utf8")) + `${forced} ${await readFile(mappedKey + ".pub", "utf8")}`);
    await mkdir("/run/sshd", { recursive: true }).catch(() => {});
    assert.equal((await serverCli(dataDir, ["user", "add", "alice", "--password-stdin"], { input: "pw\n" })).code, 0);
    port = await freePort();
    const config = join(dir, "sshd_config");
    await writeFile(
      config,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${hostKey}`,
        `PidFile ${join(dir, "sshd.pid")}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        `Subsystem zsync ${process.execPath} ${SERVER_BIN} --stdio --data-dir ${dataDir}`,
        "",
      ].join("\n"),
    );
    sshd = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sshd did not start:\n${sshdLog}`)), 20_000);
      sshd.stderr!.on("data", (chunk) => {
        sshdLog += chunk;
        if (sshdLog.includes("Server listening on")) {
          clearTimeout(timer);
          resolve();
        }
      });
      sshd.once("exit", (code) => reject(new Error(`sshd exited with ${code}:\n${sshdLog}`)));
    });
    knownHosts = await writeKnownHosts(join(dir, "known_hosts"), port, (await readFile(hostKey + ".pub", "utf8")).split(" ").slice(0, 2).join(" "));
  });
  after(() => {
    sshd?.kill("SIGTERM");
  });

  test("a unix user without an account is told so (401 naming the user)", async () => {
    const result = await openSsh({ port, key, knownHosts, user: unixUser, subsystem: "zsync", input: httpGet("/.well-known/zsync"), home: dir });
    assert.equal(result.code, 0, result.stderr + sshdLog);
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
