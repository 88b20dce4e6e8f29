/**
 * svn habits through the real binaries: commands find the checkout from their path arguments
 * (so they work from outside it), paths in two checkouts are refused, and the first command that
 * authenticated with a password stores a login token — the original zsync's three lines work
 * with no terminal.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

/** A client of its own: no password variable, token caching as in real life (on). */
async function freshClient(): Promise<{ cwd: string; configDir: string; env: Record<string, string | undefined> }> {
  const cwd = await tempDir("zsync-user-");
  const configDir = join(cwd, "cfg");
  return { cwd, configDir, env: { HOME: cwd, ZSYNC_CONFIG_DIR: configDir, ZSYNC_PASSWORD: undefined, ZSYNC_NO_AUTH_CACHE: undefined } };
}

describe("checkout discovery from paths, remembered logins", () => {
  let server: TestServer;
  let withPassword: string;
  before(async () => {
    server = await startServer();
    withPassword = server.url.replace("http://", "http://zsync:zsync@") + "/demo";
  });
  after(() => server.stop());

  test("the original's three lines work from outside the checkout with no terminal", async () => {
    const { cwd, configDir, env } = await freshClient();
    const co = await zsync(["checkout", withPassword, "./parts/checkout"], { cwd, env });
    assert.equal(co.code, 0, co.stderr);
    assert.match(co.stderr, /stored a login token \(not the password\) for zsync at http:\/\/127\.0\.0\.1:\d+ in .*cfg\/credentials/);
    assert.ok(!readFileSync(join(configDir, "credentials"), "utf8").includes('"zsync:zsync'));
    assert.ok(!readFileSync(join(configDir, "credentials"), "utf8").includes("password"));
    writeFileSync(join(cwd, "parts/checkout/new.txt"), "edited\n");
    assert.equal((await zsync(["add", "parts/checkout/new.txt"], { cwd, env })).code, 0);
    const ci = await zsync(["commit", "./parts/checkout"], { cwd, env });
    assert.equal(ci.code, 0, ci.stderr);
    assert.match(ci.stdout, /Adding\s+parts\/checkout\/new\.txt/);
    assert.match(ci.stdout, /Committed revision \d+\./);
    assert.doesNotMatch(ci.stderr, /stored a login token/, "said once only");
    const st = await zsyncJson(["status", "parts/checkout"], { cwd, env });
    assert.equal(st.code, 0, st.stderr);
    assert.deepEqual(st.json.items, []);
  });

  test("status, diff, info, log, update, revert and cleanup take their checkout from the path", async () => {
    const { cwd, env } = await freshClient();
    assert.equal((await zsync(["checkout", withPassword, "wc"], { cwd, env })).code, 0);
    const file = (await zsyncJson(["status", "-v", "wc"], { cwd, env })).json.items.find((i: { kind: string }) => i.kind === "file");
    assert.ok(file, "the demo has a file");
    writeFileSync(join(cwd, "wc", file.path), "changed from outside\n");
    const st = await zsync(["status", "wc"], { cwd, env });
    assert.match(st.stdout, new RegExp(`^M  wc/${file.path}$`, "m"));
    const diff = await zsync(["diff", `wc/${file.path}`], { cwd, env });
    assert.match(diff.stdout, /\+changed from outside/);
    const info = await zsyncJson(["info", "wc"], { cwd, env });
    assert.equal(info.code, 0, info.stderr);
    assert.equal((await zsync(["log", "wc"], { cwd, env })).code, 0);
    assert.equal((await zsync(["update", "wc"], { cwd, env })).code, 0);
    assert.equal((await zsync(["revert", `wc/${file.path}`], { cwd, env })).code, 0);
    assert.equal((await zsync(["cleanup", "wc"], { cwd, env })).code, 0);
    const after = (await zsyncJson(["status", "wc"], { cwd, env })).json.items.map((i: { path: string; status: string }) => `${i.status} ${i.path}`);
    assert.deepEqual(after, [`? ${file.path}.orig`], "reverted; only revert's backup is left");
  });

  test("paths in two different checkouts are refused and nothing changes", async () => {
    const { cwd, env } = await freshClient();
    assert.equal((await zsync(["checkout", withPassword, "a"], { cwd, env })).code, 0);
    assert.equal((await zsync(["checkout", withPassword, "b"], { cwd, env })).code, 0);
    writeFileSync(join(cwd, "a/one.txt"), "1\n");
    writeFileSync(join(cwd, "b/two.txt"), "2\n");
    const r = await zsync(["add", "a/one.txt", "b/two.txt"], { cwd, env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /a\/one\.txt and b\/two\.txt are in different checkouts .*run the command once for each checkout/);
    const json = await zsyncJson(["status", "a", "b"], { cwd, env });
    assert.equal(json.code, 2);
    assert.equal(json.json.error.code, "different-checkouts");
    assert.equal((await zsyncJson(["status", "a"], { cwd, env })).json.items[0].status, "?", "one.txt was not added");
    const outside = await zsync(["status", "elsewhere"], { cwd, env });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /elsewhere is not inside a zsync checkout/);
  });

  test("--no-auth-cache and store-tokens = false store nothing", async () => {
    const { cwd, configDir, env } = await freshClient();
    const co = await zsync(["checkout", withPassword, "wc", "--no-auth-cache"], { cwd, env });
    assert.equal(co.code, 0, co.stderr);
    assert.ok(!existsSync(join(configDir, "credentials")));
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, "config"), "# my settings\nstore-tokens = false\n");
    const again = await zsync(["checkout", withPassword, "wc2"], { cwd, env });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!existsSync(join(configDir, "credentials")));
    const ci = await zsync(["commit", "wc", "-m", "x"], { cwd, env });
    assert.equal(ci.code, 1);
    assert.match(ci.stderr, /a password for zsync is needed/);
  });

  test("zsync login --password-stdin reads the password from a pipe", async () => {
    const { cwd, configDir, env } = await freshClient();
    const r = await zsync(["login", server.url, "-u", "zsync", "--password-stdin"], { cwd, env, input: "zsync\n" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Logged in to .* as zsync/);
    assert.ok(!readFileSync(join(configDir, "credentials"), "utf8").includes('"zsync\n'));
    const log = await zsync(["log", server.url + "/demo"], { cwd, env });
    assert.equal(log.code, 0, log.stderr);
    const empty = await zsync(["login", server.url, "-u", "zsync", "--password-stdin"], { cwd, env, input: "" });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--password-stdin read no password/);
    const wrong = await zsync(["login", server.url, "-u", "zsync", "--password-stdin"], { cwd, env, input: "nope\n" });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /refused the credentials/);
  });

  test("a wrong password stores nothing and says the server refused it", async () => {
    const { cwd, configDir, env } = await freshClient();
    const r = await zsync(["checkout", server.url.replace("http://", "http://zsync:wrong@") + "/demo", "wc"], { cwd, env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused the credentials/);
    assert.ok(!existsSync(join(configDir, "credentials")));
  });
});
