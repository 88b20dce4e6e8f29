/**
 * `zsync-server user key add|remove|list` through the real CLI: authorized_keys lines in,
 * `ssh-keygen -lf` fingerprints out; private keys, garbage and unknown accounts refused with a
 * clear message and nothing stored.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { tempDir } from "../helpers/server.js";
import { serverCli, sshKeygen } from "../helpers/ssh.js";

describe("zsync-server user key", () => {
  let dir: string;
  let dataDir: string;
  let ed: string;
  let rsa: string;

  before(async () => {
    dir = await tempDir("zsync-keys-");
    dataDir = join(dir, "data");
    ed = await sshKeygen(dir, "ed");
    rsa = await sshKeygen(dir, "rsa", "rsa");
    assert.equal((await serverCli(dataDir, ["user", "add", "ann", "--password-stdin"], { input: "pw-ann\n" })).code, 0);
  });

  const keys = async () => (await serverCli(dataDir, ["user", "key", "list"])).stdout;

  test("refuses a private key, garbage, key options and an unknown account; stores nothing", async () => {
    const cases: [string, string, RegExp][] = [
      ["ann", ed, /holds a private key; give the public key \(the \.pub file\) instead/],
      ["ann", join(dir, "garbage"), /line 1 is not an ssh public key/],
      ["ann", join(dir, "options"), /key options \(from=, command=, …\) are not supported/],
      ["ann", join(dir, "half-good"), /line 2 is not an ssh public key/],
      ["ann", join(dir, "empty"), /holds no ssh public key/],
      ["ann", join(dir, "missing"), /cannot read .*missing: no such file/],
      ["nobody", ed + ".pub", /no account "nobody"/],
    ];
    await writeFile(join(dir, "garbage"), "this is not a key\n");
    await writeFile(join(dir, "options"), `from="10.0.0.1" ${await readFile(ed + ".pub", "utf8")}`);
    await writeFile(join(dir, "half-good"), (await readFile(rsa + ".pub", "utf8")) + "ssh-ed25519 AAAAbroken\n");
    await writeFile(join(dir, "empty"), "# nothing here\n\n");
    for (const [account, file, message] of cases) {
      const result = await serverCli(dataDir, ["user", "key", "add", account, file]);
      assert.equal(result.code, 1, file);
      assert.match(result.stderr, message, file);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
      assert.doesNotMatch(result.stderr, /PRIVATE KEY|OPENSSH/, "never echo key material");
    }
    assert.equal(await keys(), "");
  });

  test("adds every key of an authorized_keys file with ssh-keygen's fingerprints, once", async () => {
    const file = join(dir, "authorized_keys");
    await writeFile(file, `# ann's keys\n${await readFile(ed + ".pub", "utf8")}\n${await readFile(rsa + ".pub", "utf8")}`);
    const added = await serverCli(dataDir, ["user", "key", "add", "ann", file]);
    assert.equal(added.code, 0, added.stderr);
    const expected = [ed, rsa].map((key) => execFileSync("ssh-keygen", ["-lf", key + ".pub"]).toString().split(" ")[1]);
    for (const fingerprint of expected) assert.ok(added.stdout.includes(fingerprint), added.stdout);
    const listed = (await keys()).trim().split("\n").sort();
    assert.deepEqual(listed, [`ann ${expected[0]} ssh-ed25519 ed@test`, `ann ${expected[1]} ssh-rsa rsa@test`].sort());
    const again = await serverCli(dataDir, ["user", "key", "add", "ann", ed + ".pub"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /ann has key SHA256:\S+ already/);
    const fromStdin = await serverCli(dataDir, ["user", "key", "add", "ann", "-"], { input: await readFile(ed + ".pub", "utf8") });
    assert.equal(fromStdin.code, 1);
    assert.equal((await keys()).trim().split("\n").length, 2);
  });
});
