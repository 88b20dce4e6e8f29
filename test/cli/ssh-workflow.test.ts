/**
 * The svn-like workflow over zsync+ssh://, end to end: import, two checkouts, edit, commit,
 * update, log — each command one ssh connection to a real OpenSSH sshd whose `zsync`
 * subsystem runs `zsync-server --stdio` on the data directory of a running zsync-server.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { stdioSubsystem, makeKey, startSshd, type TestSshd } from "../helpers/sshd.js";

describe("the workflow over zsync+ssh://", () => {
  let server: TestServer;
  let sshd: TestSshd;
  let work: string;
  let home: string;
  let env: Record<string, string | undefined>;
  let base: string;

  /** Runs zsync and returns the sshd log lines of its connections; fails when the command fails. */
  async function ok(args: string[], cwd: string): Promise<{ stdout: string; log: string }> {
    const before = (await sshd.log()).length;
    const result = await zsync(args, { cwd, env });
    assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
    return { stdout: result.stdout, log: (await sshd.log()).slice(before) };
  }

  before(async () => {
    server = await startServer({ demo: false });
    work = await tempDir("zsync-ssh-workflow-");
    home = join(work, "home");
    await mkdir(join(home, ".ssh"), { recursive: true });
    await makeKey(join(home, ".ssh", "id_ed25519"));
    sshd = await startSshd({
      subsystem: stdioSubsystem(server.dataDir),
      authorize: [join(home, ".ssh", "id_ed25519.pub")],
    });
    env = { HOME: home, SSH_AUTH_SOCK: undefined, ZSYNC_KNOWN_HOSTS: undefined, ZSYNC_SSH_ACCEPT_NEW: undefined, ZSYNC_PASSWORD: undefined };
    base = `zsync+ssh://root@127.0.0.1:${sshd.port}`;
    const first = await zsync(["log", `${base}/`, "--accept-new-host-key"], { cwd: home, env });
    assert.equal(first.code, 0, first.stderr);
  });
  after(async () => {
    await sshd?.stop();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("import, checkout twice, edit, commit, update, log", async () => {
    const source = join(work, "source");
    await mkdir(join(source, "docs"), { recursive: true });
    await writeFile(join(source, "index.html"), "<h1>hello</h1>\n");
    await writeFile(join(source, "docs", "guide.md"), "line 1\nline 2\nline 3\n");
    await ok(["import", `${base}/site`, source, "-m", "first import", "--no-attach"], work);

    const checkout = await ok(["checkout", `${base}/site`, "alice"], work);
    assert.equal((checkout.log.match(/Accepted publickey/g) ?? []).length, 1, "one ssh connection for the whole command");
    // Channels are pooled (at most 4 per connection, so a long-lived @@events stream never blocks other requests) and kept alive.
    const channels = (checkout.log.match(/Starting session: subsystem 'zsync'/g) ?? []).length;
    assert.ok(channels >= 1 && channels <= 4, `1 to 4 channels, kept alive across requests (saw ${channels})`);
    await ok(["checkout", `${base}/site`, "bob", "-q"], work);
    const alice = join(work, "alice");
    const bob = join(work, "bob");

    const config = JSON.parse(await readFile(join(alice, ".zsync", "config.json"), "utf8"));
    assert.equal(config.origin, base);
    assert.equal(config.path, "site");
    assert.equal(config.user, "root");

    await writeFile(join(alice, "docs", "guide.md"), "line 1\nline 2 by alice\nline 3\n");
    await writeFile(join(bob, "index.html"), "<h1>hello from bob</h1>\n");
    const commit = await ok(["commit", "-m", "alice edits"], alice);
    assert.match(commit.stdout, /docs\/guide\.md/);
    await ok(["commit", "-m", "bob edits"], bob);

    const update = await zsyncJson<{ changes: { path: string; content: string }[] }>(["update"], { cwd: alice, env });
    assert.equal(update.code, 0, update.stderr);
    assert.ok(update.json.changes.some((c) => c.path === "index.html"), JSON.stringify(update.json));
    assert.equal(await readFile(join(alice, "index.html"), "utf8"), "<h1>hello from bob</h1>\n");
    await ok(["update"], bob);
    assert.equal(await readFile(join(bob, "docs", "guide.md"), "utf8"), "line 1\nline 2 by alice\nline 3\n");

    const status = await zsyncJson<{ items: { path: string; outOfDate?: boolean }[] }>(["status", "-u"], { cwd: bob, env });
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(status.json.items.filter((i) => i.outOfDate), []);

    const log = await ok(["log"], alice);
    assert.match(log.stdout, /alice edits/);
    assert.match(log.stdout, /bob edits/);
    const info = await ok(["info"], alice);
    assert.ok(info.stdout.includes(`${base}/site`), info.stdout);
  });

  test("a server without the zsync subsystem gives a clear error", async () => {
    const plain = await startSshd({ subsystem: null, authorize: [join(home, ".ssh", "id_ed25519.pub")] });
    try {
      const result = await zsync(["log", `zsync+ssh://root@127.0.0.1:${plain.port}/`, "--accept-new-host-key"], { cwd: home, env });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /cannot reach zsync\+ssh:\/\/root@127\.0\.0\.1:\d+: the ssh server root@127\.0\.0\.1:\d+ does not offer the zsync subsystem/);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    } finally {
      await plain.stop();
    }
  });
});
