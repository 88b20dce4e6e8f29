/**
 * Password login over ssh with the real binaries, against zsync-server's ssh endpoint started as
 * `npm run demo` starts it (`--ssh-password-auth`): the original zsync's
 * `zsync co zsync+ssh://zsync:zsync@localhost:2200/demo parts/co2` works as written (with a warning
 * about shell history), ZSYNC_PASSWORD works, a wrong password is refused clearly, a terminal is
 * asked with a prompt naming user@host, and nothing is stored.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { zsyncInPty } from "../helpers/pty.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

describe("ssh password login", () => {
  let server: TestServer;
  let port: string;
  before(async () => {
    server = await startServer({ args: ["--ssh-port", "0", "--ssh-password-auth"] });
    port = /:(\d+)$/.exec(server.sshUrl!)![1];
  });
  after(() => server.stop());

  async function user() {
    const home = await tempDir("zsync-ssh-pw-");
    return { home, env: { HOME: home, SSH_AUTH_SOCK: undefined, ZSYNC_PASSWORD: undefined, ZSYNC_KNOWN_HOSTS: join(home, "known_hosts"), ZSYNC_SSH_ACCEPT_NEW: "1" } };
  }

  test("the original's ssh line: a password in the URL, for that command only", async () => {
    const { home, env } = await user();
    const co = await zsync(["co", `zsync+ssh://zsync:zsync@localhost:${port}/demo`, "parts/co2"], { cwd: home, env });
    assert.equal(co.code, 0, co.stderr);
    assert.match(co.stderr, /the password in this URL stays in your shell history/);
    const config = readFileSync(join(home, "parts/co2/.zsync/config.json"), "utf8");
    assert.ok(!config.includes(":zsync@"), config);
    // The next command has no password and no key: refused, saying how to give one.
    const st = await zsync(["status", "-u", "parts/co2"], { cwd: home, env });
    assert.equal(st.code, 1);
    assert.match(st.stderr, /no ssh key to offer/);
    // ZSYNC_PASSWORD works for the ssh password method too.
    const again = await zsync(["status", "-u", "parts/co2"], { cwd: home, env: { ...env, ZSYNC_PASSWORD: "zsync" } });
    assert.equal(again.code, 0, again.stderr);
  });

  test("a wrong password is refused and says so", async () => {
    const { home, env } = await user();
    const r = await zsync(["co", `zsync+ssh://zsync@localhost:${port}/demo`, "co"], { cwd: home, env: { ...env, ZSYNC_PASSWORD: "wrong" } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused the password for zsync/);
    // The client prefers keyboard-interactive (as OpenSSH does), which the server offers with passwords on.
    assert.match(await server.waitForStderr(/ssh: refused keyboard-interactive for "zsync" from [\d.:]+: wrong password/), /refused keyboard-interactive for "zsync"/);
  });

  test("on a terminal the prompt names user@host and asks again after a wrong password", async () => {
    const { home, env } = await user();
    const r = await zsyncInPty(["co", `zsync+ssh://zsync@localhost:${port}/demo`, "co"], {
      cwd: home,
      env,
      answers: [
        { prompt: /zsync@localhost's password:/, answer: "wrong\r" },
        { prompt: /try again[\s\S]*zsync@localhost's password:/, answer: "zsync\r" },
      ],
    });
    assert.equal(r.code, 0, r.output);
  });
});
