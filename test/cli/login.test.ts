/**
 * `zsync login` / `zsync logout` with the real binaries: stored tokens replace passwords for
 * every command, the credentials file is private, logout revokes on the server, a revoked or
 * expired login asks for `zsync login`, nothing prompts without a TTY, and a URL password is used
 * once and never written.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { addAccount, PASSWORD } from "../helpers/accounts.js";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { zsyncInPty } from "../helpers/pty.js";
import { SERVER_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";

/** A client environment of its own: HOME and config directory in temp dirs, no password variable. */
async function clientEnv(): Promise<{ env: Record<string, string | undefined>; configDir: string; home: string }> {
  const home = await tempDir("zsync-home-");
  const configDir = join(home, "cfg");
  return { home, configDir, env: { HOME: home, ZSYNC_CONFIG_DIR: configDir, XDG_CONFIG_HOME: undefined, ZSYNC_PASSWORD: undefined } };
}

async function bearerStatus(server: TestServer, token: string): Promise<number> {
  const r = await fetch(`${server.url}/demo/@@log`, { headers: { authorization: `Bearer ${token}` } });
  await r.text();
  return r.status;
}

function storedLogins(configDir: string): Array<{ origin: string; user: string; token: string; id: string; expiresAt: string }> {
  return JSON.parse(readFileSync(join(configDir, "credentials"), "utf8")).logins;
}

describe("zsync login and logout", () => {
  let server: TestServer;
  let origin: string;
  before(async () => {
    const dataDir = await tempDir("zsync-server-");
    await addAccount(dataDir, "ann", PASSWORD);
    await addAccount(dataDir, "carol", PASSWORD); // wrong passwords on a terminal: her failures never cool ann down
    server = await startServer({ dataDir });
    origin = server.url;
  });
  after(() => server.stop());

  test("login stores a private token; commands then work without a password", async () => {
    const { env, configDir } = await clientEnv();
    const cwd = await tempDir();
    const login = await zsyncJson(["login", origin, "-u", "ann", "--password", PASSWORD], { cwd, env });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.json.user, "ann");
    assert.equal(login.json.origin, origin);
    assert.equal(login.json.credentialsFile, join(configDir, "credentials"));
    assert.equal(statSync(configDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(configDir, "credentials")).mode & 0o777, 0o600);
    const text = readFileSync(join(configDir, "credentials"), "utf8");
    assert.ok(!text.includes(PASSWORD));
    const [stored] = storedLogins(configDir);
    assert.deepEqual({ origin: stored.origin, user: stored.user, id: stored.id }, { origin, user: "ann", id: login.json.id });
    assert.match(stored.token, /^zst_/);
    assert.ok(!login.stderr.includes(stored.token));

    // A URL without a user: the only login for the origin is used, and its user recorded.
    const co = await zsync(["checkout", `${origin}/demo`, "wc", "--non-interactive"], { cwd, env });
    assert.equal(co.code, 0, co.stderr);
    const config = JSON.parse(readFileSync(join(cwd, "wc/.zsync/config.json"), "utf8"));
    assert.equal(config.user, "ann");
    writeFileSync(join(cwd, "wc/README.txt"), "edited with a token\n");
    const ci = await zsync(["commit", "-m", "by token", "--non-interactive"], { cwd: join(cwd, "wc"), env });
    assert.equal(ci.code, 0, ci.stderr);
    const log = await zsyncJson(["log", "--limit", "1"], { cwd: join(cwd, "wc"), env });
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.json.revisions[0].author, "ann");

    // Logging in again replaces the stored token and revokes the old one on the server.
    const again = await zsync(["login", "--password", PASSWORD], { cwd: join(cwd, "wc"), env });
    assert.equal(again.code, 0, again.stderr);
    const logins = storedLogins(configDir);
    assert.equal(logins.length, 1);
    assert.notEqual(logins[0].id, stored.id);
    assert.equal(await bearerStatus(server, stored.token), 401);
    assert.equal(await bearerStatus(server, logins[0].token), 200);
  });

  test("logout revokes the token on the server and deletes it here", async () => {
    const { env, configDir } = await clientEnv();
    const cwd = await tempDir();
    assert.equal((await zsync(["login", origin.replace("://", "://ann@"), "--password", PASSWORD], { cwd, env })).code, 0);
    const [stored] = storedLogins(configDir);
    assert.equal(await bearerStatus(server, stored.token), 200);
    const out = await zsyncJson(["logout", origin], { cwd, env });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual({ revoked: out.json.revoked, id: out.json.id }, { revoked: true, id: stored.id });
    assert.equal(await bearerStatus(server, stored.token), 401);
    assert.deepEqual(storedLogins(configDir), []);
    const again = await zsync(["logout", origin], { cwd, env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no stored login to/);
    // No login and no TTY: a clear error naming zsync login, no prompt, no hang.
    const co = await zsync(["checkout", origin.replace("://", "://ann@") + "/demo", "wc"], { cwd, env });
    assert.equal(co.code, 1);
    assert.match(co.stderr, /a password for ann is needed: run `zsync login`/);
    assert.ok(!existsSync(join(cwd, "wc")));
  });

  test("a login revoked on the server, or expired, asks to log in again", async () => {
    const { env, configDir } = await clientEnv();
    const cwd = await tempDir();
    assert.equal((await zsync(["login", origin, "-u", "ann", "--password", PASSWORD], { cwd, env })).code, 0);
    assert.equal((await zsync(["checkout", `${origin}/demo`, "wc"], { cwd, env })).code, 0);
    const [stored] = storedLogins(configDir);
    const revoke = spawn(process.execPath, [SERVER_BIN, "--data-dir", server.dataDir, "token", "revoke", stored.id], { stdio: "ignore" });
    assert.equal(await new Promise((resolve) => revoke.on("close", resolve)), 0);
    const up = await zsync(["update"], { cwd: join(cwd, "wc"), env });
    assert.equal(up.code, 1);
    assert.match(up.stderr, new RegExp(`your login to ${origin.replace(/[.]/g, "\\.")} was revoked or is no longer valid; run \`zsync login ${origin.replace(/[.]/g, "\\.")} -u ann\``));

    // A token on a server whose clock the test moves past the token's life: the message says it expired.
    const shortDir = await tempDir("zsync-server-");
    await addAccount(shortDir, "ann", PASSWORD);
    const clockFile = join(shortDir, "clock-offset");
    const short = await startServer({ dataDir: shortDir, args: ["--token-ttl-days", "1"], env: { ZSYNC_CLOCK_OFFSET_FILE: clockFile } });
    try {
      const login = await zsyncJson(["login", short.url, "-u", "ann", "--password", PASSWORD], { cwd, env });
      assert.equal(login.code, 0, login.stderr);
      writeFileSync(clockFile, String(Date.parse(login.json.expiresAt) - Date.now() + 60_000));
      const log = await zsync(["log", `${short.url}/demo`], { cwd, env });
      assert.equal(log.code, 1);
      assert.match(log.stderr, /your login to http:\/\/127\.0\.0\.1:\d+ has expired; run `zsync login http:\/\/127\.0\.0\.1:\d+ -u ann`/);
      // Logging in again fixes it, without touching the other server's login.
      assert.equal((await zsync(["login", short.url, "--password", PASSWORD], { cwd, env })).code, 0);
      assert.equal((await zsync(["log", `${short.url}/demo`], { cwd, env })).code, 0);
      assert.equal(storedLogins(configDir).length, 2);
    } finally {
      await short.stop();
    }
  });

  test("login without a password and without a TTY fails clearly and stores nothing", async () => {
    const { env, configDir } = await clientEnv();
    const cwd = await tempDir();
    const r = await zsync(["login", origin, "-u", "ann"], { cwd, env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /a password for ann is needed to log in: pass --password, set ZSYNC_PASSWORD, or run on a terminal/);
    assert.ok(!existsSync(join(configDir, "credentials")));
    const noUser = await zsync(["login", origin, "--password", PASSWORD], { cwd, env });
    assert.equal(noUser.code, 2);
    assert.match(noUser.stderr, /name the user: zsync login http:\/\/127\.0\.0\.1:\d+ -u USER/);
    const nowhere = await zsync(["login"], { cwd, env });
    assert.equal(nowhere.code, 2);
    assert.match(nowhere.stderr, /name the server/);
    const wrong = await zsync(["login", origin, "-u", "ann", "--password", "not-it"], { cwd, env });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused the credentials/);
    assert.ok(!existsSync(join(configDir, "credentials")));
  });

  test("on a terminal, login asks for the password (masked) and stores only the token", async () => {
    const { env, configDir } = await clientEnv();
    const cwd = await tempDir();
    // Typed once the prompt has appeared (an event, not a timer).
    const r = await zsyncInPty(["login", origin, "-u", "ann"], { cwd, env, answers: [{ prompt: /Password for ann/, answer: PASSWORD }] });
    const shown = r.output;
    assert.equal(r.code, 0, shown);
    assert.ok(!shown.includes(PASSWORD), "the password is not echoed");
    assert.match(shown, /Logged in to/);
    assert.equal(storedLogins(configDir).length, 1);
    assert.ok(!readFileSync(join(configDir, "credentials"), "utf8").includes(PASSWORD));
  });

  test("on a terminal a wrong password is asked again, three times in all; the prompt names the server", async () => {
    const { env, home } = await clientEnv();
    const prompt = new RegExp(`Password for carol at ${origin.replace(/[.]/g, "\\.")}:`);
    const url = origin.replace("://", "://carol@") + "/demo";
    const twice = await zsyncInPty(["ls", url], {
      cwd: home,
      env,
      answers: [
        { prompt, answer: "wrong-1" },
        { prompt: /refused the password for carol at .*; try again \(2 more tries\)[\s\S]*Password for carol/, answer: "wrong-2" },
        { prompt: /try again \(1 more try\)[\s\S]*Password for carol/, answer: PASSWORD },
      ],
    });
    assert.equal(twice.code, 0, twice.output);
    assert.ok(!twice.output.includes(PASSWORD), "the password is not echoed");
    const refused = await zsyncInPty(["ls", url], {
      cwd: home,
      env,
      answers: [
        { prompt, answer: "wrong-3" },
        { prompt: /2 more tries[\s\S]*Password for carol/, answer: "wrong-4" },
        { prompt: /1 more try[\s\S]*Password for carol/, answer: "wrong-5" },
      ],
    });
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /refused the credentials/);
    // The prompt redraws on every key (the mask), so count the refusals between prompts instead.
    assert.equal(refused.output.match(/try again/g)?.length, 2, "asked three times, no more");
    const login = await zsyncInPty(["login", origin, "-u", "carol"], {
      cwd: home,
      env,
      answers: [
        { prompt, answer: "wrong-6" },
        { prompt: /refused the password for carol[\s\S]*Password for carol/, answer: PASSWORD },
      ],
    });
    assert.equal(login.code, 0, login.output);
    assert.match(login.output, /Logged in to/);
  });

  test("a URL password works for one command and is never written", async () => {
    const { env, configDir, home } = await clientEnv();
    const cwd = await tempDir();
    const url = origin.replace("://", `://ann:${encodeURIComponent(PASSWORD)}@`) + "/demo";
    const co = await zsync(["checkout", url, "wc"], { cwd, env });
    assert.equal(co.code, 0, co.stderr);
    assert.ok(!existsSync(configDir), "no login is stored by a URL password");
    const config = readFileSync(join(cwd, "wc/.zsync/config.json"), "utf8");
    assert.ok(!config.includes(PASSWORD));
    assert.equal(JSON.parse(config).user, "ann");
    // The next command has no password: it fails clearly rather than reuse the URL's.
    const up = await zsync(["update"], { cwd: join(cwd, "wc"), env });
    assert.equal(up.code, 1);
    assert.match(up.stderr, /zsync login/);
    assert.ok(!existsSync(join(home, ".config")));
  });

  test("XDG_CONFIG_HOME and HOME pick the credentials directory; a readable file is refused", async () => {
    const { env, home } = await clientEnv();
    const cwd = await tempDir();
    const xdg = join(home, "xdg");
    const r = await zsync(["login", origin, "-u", "ann", "--password", PASSWORD], { cwd, env: { ...env, ZSYNC_CONFIG_DIR: undefined, XDG_CONFIG_HOME: xdg } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(xdg, "zsync/credentials")));
    const h = await zsync(["login", origin, "-u", "ann", "--password", PASSWORD], { cwd, env: { ...env, ZSYNC_CONFIG_DIR: undefined } });
    assert.equal(h.code, 0, h.stderr);
    const file = join(home, ".config/zsync/credentials");
    assert.equal(statSync(file).mode & 0o777, 0o600);
    chmodSync(file, 0o644);
    const refused = await zsync(["log", `${origin}/demo`], { cwd, env: { ...env, ZSYNC_CONFIG_DIR: undefined } });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is readable by other users \(mode 644\): run `chmod 600/);
  });

  test("logout when the server cannot be reached deletes the login and says it was not revoked", async () => {
    const { env, configDir } = await clientEnv();
    const cwd = await tempDir();
    const dataDir = await tempDir("zsync-server-");
    await addAccount(dataDir, "ann", PASSWORD);
    const gone = await startServer({ dataDir });
    assert.equal((await zsync(["login", gone.url, "-u", "ann", "--password", PASSWORD], { cwd, env })).code, 0);
    const [stored] = storedLogins(configDir);
    await gone.stop();
    const r = await zsync(["logout", gone.url], { cwd, env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`the token could not be revoked on the server .*zsync-server token revoke ${stored.id}`));
    assert.deepEqual(storedLogins(configDir), []);
  });

  test("login and logout on a zsync+ssh:// URL explain that the ssh key is the login", async () => {
    const { env, configDir } = await clientEnv();
    const cwd = await tempDir();
    for (const command of ["login", "logout"]) {
      const r = await zsync([command, "zsync+ssh://ann@127.0.0.1:1/demo"], { cwd, env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is reached over ssh, where your ssh key is the login/);
    }
    assert.equal(existsSync(join(configDir, "credentials")), false, "nothing stored");
  });
});
