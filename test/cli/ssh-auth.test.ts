/**
 * ssh client authentication end to end against a real OpenSSH sshd: ssh-agent keys, an
 * encrypted key unlocked on a terminal (right and wrong passphrase), an encrypted key without a
 * terminal, a key the server does not know, ~/.ssh/config aliases with IdentityFile.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { zsyncInPty } from "../helpers/pty.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { stdioSubsystem, makeKey, startAgent, startSshd, type TestSshd } from "../helpers/sshd.js";

const run = promisify(execFile);
const fingerprintOf = async (file: string) => (await run("ssh-keygen", ["-lf", file])).stdout.split(/\s+/)[1];

describe("ssh client authentication", () => {
  let server: TestServer;
  let sshd: TestSshd;
  let work: string;
  let url: string;
  let knownHosts: string;
  let agentKey: string;
  let encryptedKey: string;
  let strangerKey: string;
  let homes = 0;

  async function freshHome(extra: Record<string, string | undefined> = {}) {
    const home = join(work, `home${++homes}`);
    await mkdir(home);
    return { home, env: { HOME: home, SSH_AUTH_SOCK: undefined, ZSYNC_KNOWN_HOSTS: knownHosts, ZSYNC_SSH_ACCEPT_NEW: undefined, ZSYNC_PASSWORD: undefined, ...extra } };
  }

  before(async () => {
    server = await startServer({ demo: false });
    work = await tempDir("zsync-ssh-auth-");
    agentKey = await makeKey(join(work, "agent_key"));
    encryptedKey = await makeKey(join(work, "encrypted_key"), { passphrase: "correct horse" });
    strangerKey = await makeKey(join(work, "stranger_key"));
    sshd = await startSshd({ subsystem: stdioSubsystem(server.dataDir), authorize: [`${agentKey}.pub`, `${encryptedKey}.pub`] });
    url = `zsync+ssh://root@127.0.0.1:${sshd.port}/`;
    knownHosts = join(work, "known_hosts");
    await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
  });
  after(async () => {
    await sshd?.stop();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("a key held by ssh-agent (SSH_AUTH_SOCK) authenticates", async () => {
    const agent = await startAgent([agentKey]);
    try {
      const { home, env } = await freshHome({ SSH_AUTH_SOCK: agent.socket });
      const before = (await sshd.log()).length;
      const result = await zsync(["log", url], { cwd: home, env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /repository created/);
      const log = (await sshd.log()).slice(before);
      assert.ok(log.includes(`Accepted publickey for root from 127.0.0.1`) && log.includes(await fingerprintOf(`${agentKey}.pub`)), log);
    } finally {
      await agent.stop();
    }
  });

  test("an encrypted key asks for its passphrase on a terminal; the right one connects", async () => {
    const { home, env } = await freshHome();
    const result = await zsyncInPty(["log", url, "-i", encryptedKey], { cwd: home, env, answers: [{ prompt: /Enter passphrase for key/, answer: "correct horse" }] });
    assert.equal(result.code, 0, result.output);
    assert.ok(result.output.includes(`Enter passphrase for key '${encryptedKey}'`));
    assert.match(result.output, /repository created/);
    assert.doesNotMatch(result.output, /correct horse/, "the passphrase is not echoed");
  });

  test("an encrypted default identity (~/.ssh/id_ed25519) is asked for only when its turn comes", async () => {
    const agent = await startAgent([agentKey]);
    try {
      const { home, env } = await freshHome();
      await mkdir(join(home, ".ssh"));
      await copyFile(encryptedKey, join(home, ".ssh", "id_ed25519"));
      // The agent's key is accepted first: no passphrase question.
      const viaAgent = await zsync(["log", url], { cwd: home, env: { ...env, SSH_AUTH_SOCK: agent.socket } });
      assert.equal(viaAgent.code, 0, viaAgent.stderr);
      const asked = await zsyncInPty(["log", url], { cwd: home, env, answers: [{ prompt: /Enter passphrase for key/, answer: "correct horse" }] });
      assert.equal(asked.code, 0, asked.output);
      assert.ok(asked.output.includes(`Enter passphrase for key '${join(home, ".ssh", "id_ed25519")}'`));
    } finally {
      await agent.stop();
    }
  });

  test("a wrong passphrase is a clear error naming the key", async () => {
    const { home, env } = await freshHome();
    const result = await zsyncInPty(["log", url, "-i", encryptedKey], { cwd: home, env, answers: [{ prompt: /Enter passphrase for key/, answer: "wrong" }] });
    assert.equal(result.code, 1, result.output);
    assert.ok(result.output.includes(`zsync: wrong passphrase for the ssh key ${encryptedKey}`), result.output);
    assert.doesNotMatch(result.output, /\n\s+at /);
  });

  test("an encrypted key without a terminal: a clear error naming the key and ssh-add", async () => {
    const { home, env } = await freshHome();
    const result = await zsync(["log", url, "-i", encryptedKey], { cwd: home, env });
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(`${encryptedKey} is encrypted and there is no terminal to ask for the passphrase`), result.stderr);
    assert.match(result.stderr, /ssh-add/);
  });

  test("a key the server does not know is refused with a clear message", async () => {
    const { home, env } = await freshHome();
    const result = await zsync(["log", url, "-i", strangerKey], { cwd: home, env });
    assert.equal(result.code, 1);
    assert.ok(result.stderr.includes(`root@127.0.0.1:${sshd.port} refused the ssh keys offered for root (${strangerKey})`), result.stderr);
    const none = await zsync(["log", url], { cwd: (await freshHome()).home, env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no ssh key to offer/);
    const missing = await zsync(["log", url, "-i", join(home, "nope")], { cwd: home, env });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the ssh key .*nope \(ENOENT\)/);
  });

  test("~/.ssh/config: a Host alias with HostName, Port, User and IdentityFile", async () => {
    const { home, env } = await freshHome();
    await mkdir(join(home, ".ssh"));
    await copyFile(agentKey, join(home, ".ssh", "zsync_key"));
    await writeFile(join(home, ".ssh", "config"), `Host zserver\n  HostName 127.0.0.1\n  Port ${sshd.port}\n  User root\n  IdentityFile ~/.ssh/zsync_key\n`);
    const result = await zsync(["log", "zsync+ssh://zserver/"], { cwd: home, env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /repository created/);
    assert.equal((await readFile(knownHosts, "utf8")).split("\n").filter(Boolean).length, 1, "the known key of the real host name was used");
  });
});
