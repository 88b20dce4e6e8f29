/**
 * ssh host key trust end to end: the built `zsync` against a real OpenSSH sshd whose `zsync`
 * subsystem bridges to a real zsync-server. Unknown keys on a terminal (yes/no), without one,
 * with --accept-new-host-key; changed, revoked and hashed entries; unreadable files fail closed.
 * "No credentials sent" is read from sshd's VERBOSE log.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { zsyncInPty } from "../helpers/pty.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { stdioSubsystem, makeKey, startSshd, type TestSshd } from "../helpers/sshd.js";

const run = promisify(execFile);
const AUTH_LINE = /publickey|Accepted|Failed|Postponed|userauth|Invalid user|Authentication/i;

describe("ssh host key trust", () => {
  let server: TestServer;
  let sshd: TestSshd;
  let work: string;
  let key: string;
  let url: string;
  let hostFingerprint: string;
  let homes = 0;

  /** A fresh HOME with no ~/.ssh, and the env for every spawned zsync. */
  async function freshHome(extra: Record<string, string> = {}) {
    const home = join(work, `home${++homes}`);
    await mkdir(home);
    return { home, env: { HOME: home, SSH_AUTH_SOCK: undefined, ZSYNC_KNOWN_HOSTS: undefined, ZSYNC_SSH_ACCEPT_NEW: undefined, ...extra } };
  }

  /** Runs `work` and returns the sshd log lines it caused. */
  async function logOf(work: () => Promise<unknown>): Promise<string> {
    const before = (await sshd.log()).length;
    await work();
    await new Promise((r) => setTimeout(r, 200)); // sshd logs the disconnect after the client is gone
    return (await sshd.log()).slice(before);
  }

  before(async () => {
    server = await startServer({ demo: false });
    work = await tempDir("zsync-ssh-trust-");
    key = await makeKey(join(work, "user_key"));
    sshd = await startSshd({ subsystem: stdioSubsystem(server.dataDir), authorize: [`${key}.pub`], extraHostKeyTypes: ["rsa"] });
    url = `zsync+ssh://root@127.0.0.1:${sshd.port}/`;
    hostFingerprint = (await run("ssh-keygen", ["-lf", `${sshd.hostKey}.pub`])).stdout.split(/\s+/)[1];
  });
  after(async () => {
    await sshd?.stop();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("unknown key on a terminal answered no: aborted, nothing stored, no credentials sent", async () => {
    const { home, env } = await freshHome();
    let result!: { code: number; output: string };
    const log = await logOf(async () => {
      result = await zsyncInPty(["log", url, "-i", key], { cwd: home, env, answers: [{ prompt: /continue connecting/, answer: "no" }] });
    });
    assert.equal(result.code, 1, result.output);
    assert.match(result.output, /The authenticity of host '\[127\.0\.0\.1\]:\d+' can't be established/);
    assert.ok(result.output.includes(`ED25519 key fingerprint is ${hostFingerprint}.`), result.output);
    assert.match(result.output, /Host key verification failed: .* was not accepted; nothing was stored or sent/);
    await assert.rejects(stat(join(home, ".ssh")), { code: "ENOENT" });
    assert.match(log, /Connection from 127\.0\.0\.1 port \d+/, "the connection reached sshd");
    assert.doesNotMatch(log, AUTH_LINE, `sshd saw an authentication attempt:\n${log}`);
  });

  test("answered yes: stored in ~/.ssh/zsync_known_hosts (not known_hosts); the second run is silent", async () => {
    const { home, env } = await freshHome();
    const first = await zsyncInPty(["log", url, "-i", key], { cwd: home, env, answers: [{ prompt: /continue connecting/, answer: "yes" }] });
    assert.equal(first.code, 0, first.output);
    assert.ok(first.output.includes(hostFingerprint));
    assert.match(first.output, /Permanently added '\[127\.0\.0\.1\]:\d+' \(ED25519\)/);
    assert.match(first.output, /repository created/);
    const stored = await readFile(join(home, ".ssh", "zsync_known_hosts"), "utf8");
    assert.equal(stored, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
    await assert.rejects(stat(join(home, ".ssh", "known_hosts")), { code: "ENOENT" }, "the OpenSSH file is never written");
    const second = await zsync(["log", url, "-i", key], { cwd: home, env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stderr, "");
    assert.match(second.stdout, /repository created/);
    // OpenSSH itself accepts what zsync stored.
    const { stdout } = await run("ssh-keygen", ["-F", `[127.0.0.1]:${sshd.port}`, "-f", join(home, ".ssh", "zsync_known_hosts")]);
    assert.match(stdout, /ssh-ed25519/);
  });

  test("unknown key without a terminal: a clear error naming --accept-new-host-key, exit 1, nothing stored", async () => {
    const { home, env } = await freshHome();
    let result!: Awaited<ReturnType<typeof zsync>>;
    const log = await logOf(async () => (result = await zsync(["log", url, "-i", key], { cwd: home, env })));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /host key of \[127\.0\.0\.1\]:\d+ is not known/);
    assert.ok(result.stderr.includes(hostFingerprint));
    assert.match(result.stderr, /--accept-new-host-key \(or ZSYNC_SSH_ACCEPT_NEW=1\)/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    await assert.rejects(stat(join(home, ".ssh")), { code: "ENOENT" });
    assert.doesNotMatch(log, AUTH_LINE);
    const json = await zsync(["log", url, "-i", key, "--json"], { cwd: home, env });
    assert.equal(JSON.parse(json.stdout).error.code, "host-key-unknown");
  });

  test("--accept-new-host-key and ZSYNC_SSH_ACCEPT_NEW=1 store the key (in --known-hosts / ZSYNC_KNOWN_HOSTS when given)", async () => {
    const { home, env } = await freshHome();
    const accepted = await zsync(["log", url, "-i", key, "--accept-new-host-key"], { cwd: home, env });
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stderr, /permanently added/);
    assert.equal(await readFile(join(home, ".ssh", "zsync_known_hosts"), "utf8"), `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);

    const other = await freshHome({ ZSYNC_SSH_ACCEPT_NEW: "1" });
    const file = join(other.home, "ci_known_hosts");
    const viaEnv = await zsync(["log", url, "-i", key, "--known-hosts", file], { cwd: other.home, env: other.env });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(await readFile(file, "utf8"), `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
    await assert.rejects(stat(join(other.home, ".ssh")), { code: "ENOENT" });

    const third = await freshHome();
    const viaVar = await zsync(["log", url, "-i", key], { cwd: third.home, env: { ...third.env, ZSYNC_KNOWN_HOSTS: file } });
    assert.equal(viaVar.code, 0, viaVar.stderr);
    assert.equal(viaVar.stderr, "");
  });

  test("a changed key is refused loudly, even with --accept-new-host-key, and nothing is sent or stored", async () => {
    const { home, env } = await freshHome();
    const impostor = await makeKey(join(home, "impostor"));
    const impostorLine = (await readFile(`${impostor}.pub`, "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
    await mkdir(join(home, ".ssh"));
    const knownHosts = join(home, ".ssh", "known_hosts");
    const content = `[127.0.0.1]:${sshd.port} ${impostorLine}\n`;
    await writeFile(knownHosts, content);
    for (const extra of [[], ["--accept-new-host-key"]]) {
      let result!: Awaited<ReturnType<typeof zsync>>;
      const log = await logOf(async () => (result = await zsync(["log", url, "-i", key, ...extra], { cwd: home, env })));
      assert.equal(result.code, 1);
      assert.match(result.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
      assert.ok(result.stderr.includes(hostFingerprint));
      assert.ok(result.stderr.includes(`${knownHosts}:1`), "names the line to remove");
      assert.doesNotMatch(log, AUTH_LINE);
    }
    const onTerminal = await zsyncInPty(["log", url, "-i", key], { cwd: home, env, answers: [{ prompt: /continue connecting/, answer: "yes" }] });
    assert.equal(onTerminal.code, 1);
    assert.doesNotMatch(onTerminal.output, /continue connecting/, "no question is asked about a changed key");
    assert.equal(await readFile(knownHosts, "utf8"), content);
    await assert.rejects(stat(join(home, ".ssh", "zsync_known_hosts")), { code: "ENOENT" });
  });

  test("a host whose key of another type is on file shows that key (asked for first) and connects silently", async () => {
    const { home, env } = await freshHome();
    await mkdir(join(home, ".ssh"));
    const rsaLine = (await readFile(`${sshd.extraHostKeys[0]}.pub`, "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
    assert.match(rsaLine, /^ssh-rsa /);
    await writeFile(join(home, ".ssh", "known_hosts"), `[127.0.0.1]:${sshd.port} ${rsaLine}\n`);
    const result = await zsync(["log", url, "-i", key], { cwd: home, env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
  });

  test("a key marked @revoked is refused", async () => {
    const { home, env } = await freshHome();
    await mkdir(join(home, ".ssh"));
    await writeFile(join(home, ".ssh", "known_hosts"), `@revoked * ${sshd.hostKeyLine}\n[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
    const result = await zsync(["log", url, "-i", key, "--accept-new-host-key"], { cwd: home, env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /marked @revoked/);
  });

  test("entries hashed with ssh-keygen -H in ~/.ssh/known_hosts match", async () => {
    const { home, env } = await freshHome();
    await mkdir(join(home, ".ssh"));
    const knownHosts = join(home, ".ssh", "known_hosts");
    await writeFile(knownHosts, `other.example ${sshd.hostKeyLine}\n[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
    await run("ssh-keygen", ["-H", "-f", knownHosts]);
    assert.doesNotMatch(await readFile(knownHosts, "utf8"), /127\.0\.0\.1/, "hashed");
    const result = await zsync(["log", url, "-i", key], { cwd: home, env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    await assert.rejects(stat(join(home, ".ssh", "zsync_known_hosts")), { code: "ENOENT" });
  });

  test("a known_hosts file that cannot be read fails closed, before connecting", async () => {
    const { home, env } = await freshHome();
    await mkdir(join(home, ".ssh", "known_hosts"), { recursive: true }); // a directory where the file should be
    let result!: Awaited<ReturnType<typeof zsync>>;
    const log = await logOf(async () => (result = await zsync(["log", url, "-i", key, "--accept-new-host-key"], { cwd: home, env })));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot read the known hosts file .*known_hosts \(EISDIR\); refusing to connect/);
    assert.doesNotMatch(log, /Connection from/);
    await assert.rejects(stat(join(home, ".ssh", "zsync_known_hosts")), { code: "ENOENT" });
    const viaVar = await zsync(["log", url, "-i", key, "--accept-new-host-key"], { cwd: home, env: { ...env, ZSYNC_KNOWN_HOSTS: join(home, ".ssh") } });
    assert.equal(viaVar.code, 1);
    assert.match(viaVar.stderr, /cannot read the known hosts file/);
  });
});
