/**
 * Login tokens and failed-login limiting against a real zsync-server process: minting with a
 * password, Bearer on every request, revocation that works at once (over HTTP and with
 * `zsync-server token revoke` on the running server), expiry, malformed tokens, 429 and recovery.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEMO_AUTH, SERVER_BIN, startServer, tempDir, zsyncServerCli, type TestServer } from "../helpers/server.js";

const TOKENS = "/.well-known/zsync/tokens";
const bearer = (token: string) => `Bearer ${token}`;
const basic = (user: string, password: string) => "Basic " + Buffer.from(`${user}:${password}`).toString("base64");

async function call(server: TestServer, path: string, opts: { method?: string; authorization?: string; body?: string; contentType?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.authorization) headers.authorization = opts.authorization;
  if (opts.contentType) headers["content-type"] = opts.contentType;
  const response = await fetch(server.url + path, { method: opts.method ?? "GET", headers, body: opts.body });
  const text = await response.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

async function mint(server: TestServer, label = "test") {
  const r = await call(server, TOKENS, { method: "POST", authorization: DEMO_AUTH, body: JSON.stringify({ label }), contentType: "application/json" });
  assert.equal(r.status, 201, r.text);
  return r.json as { token: string; id: string; account: string; expiresAt: string };
}

/** Runs `zsync-server --data-dir DIR ARGS`. */
function serverCli(dataDir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return zsyncServerCli(["--data-dir", dataDir, ...args]);
}

describe("login tokens", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  test("a password mints a token; the token authenticates; discovery lists bearer", async () => {
    const minted = await mint(server, "laptop");
    assert.match(minted.token, /^zst_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    assert.equal(minted.token.split("_")[1], minted.id);
    assert.equal(minted.account, "zsync");
    const lifetime = Date.parse(minted.expiresAt) - Date.now();
    assert.ok(lifetime > 89 * 86_400_000 && lifetime <= 90 * 86_400_000, `default lifetime is 90 days, got ${lifetime} ms`);
    const info = await call(server, "/.well-known/zsync", { authorization: bearer(minted.token) });
    assert.equal(info.status, 200);
    assert.deepEqual(info.json.auth, ["basic", "bearer"]);
    const log = await call(server, "/demo/@@log", { authorization: bearer(minted.token) });
    assert.equal(log.status, 200);
    assert.ok(Array.isArray(log.json.revisions));
    assert.match(await server.waitForStderr(/GET \/demo\/@@log 200 zsync/), /GET \/demo\/@@log 200 zsync/);
  });

  test("a token cannot mint tokens; bad token requests are refused", async () => {
    const minted = await mint(server);
    const byToken = await call(server, TOKENS, { method: "POST", authorization: bearer(minted.token) });
    assert.equal(byToken.status, 403);
    assert.equal(byToken.json.error.code, "forbidden");
    const notJson = await call(server, TOKENS, { method: "POST", authorization: DEMO_AUTH, body: "{label", contentType: "application/json" });
    assert.equal(notJson.status, 400);
    const badLabel = await call(server, TOKENS, { method: "POST", authorization: DEMO_AUTH, body: JSON.stringify({ label: 42 }), contentType: "application/json" });
    assert.equal(badLabel.status, 400);
    const huge = await call(server, TOKENS, { method: "POST", authorization: DEMO_AUTH, body: JSON.stringify({ label: "x".repeat(10_000) }), contentType: "application/json" });
    assert.equal(huge.status, 413);
    const get = await call(server, TOKENS, { authorization: DEMO_AUTH });
    assert.equal(get.status, 405);
    const deleteWithPassword = await call(server, `${TOKENS}/current`, { method: "DELETE", authorization: DEMO_AUTH });
    assert.equal(deleteWithPassword.status, 400);
  });

  test("malformed, unknown and wrong-secret tokens get 401 unauthorized", async () => {
    const minted = await mint(server);
    const wrongSecret = minted.token.slice(0, -4) + (minted.token.endsWith("AAAA") ? "BBBB" : "AAAA");
    const unknownId = `zst_${"0".repeat(16)}_${minted.token.split("_").slice(2).join("_")}`;
    for (const token of ["garbage", "", "zst_", `${minted.token}x`, wrongSecret, unknownId]) {
      const r = await call(server, "/demo/@@log", { authorization: bearer(token) });
      assert.equal(r.status, 401, token);
      assert.equal(r.json.error.code, "unauthorized", token);
      assert.match(r.headers.get("www-authenticate") ?? "", /Bearer/);
    }
    assert.equal((await call(server, "/demo/@@log", { authorization: bearer(minted.token) })).status, 200);
  });

  test("DELETE /tokens/current revokes the token at once", async () => {
    const minted = await mint(server);
    assert.equal((await call(server, "/demo/@@log", { authorization: bearer(minted.token) })).status, 200);
    const revoke = await call(server, `${TOKENS}/current`, { method: "DELETE", authorization: bearer(minted.token) });
    assert.equal(revoke.status, 204);
    const after = await call(server, "/demo/@@log", { authorization: bearer(minted.token) });
    assert.equal(after.status, 401);
    assert.equal(after.json.error.code, "unauthorized");
  });

  test("zsync-server token list/revoke work on a running server, without showing secrets", async () => {
    const minted = await mint(server, "cli test");
    assert.equal((await call(server, "/demo/@@log", { authorization: bearer(minted.token) })).status, 200);
    const listed = await serverCli(server.dataDir, ["token", "list", "zsync", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const tokens = JSON.parse(listed.stdout).tokens as Array<Record<string, unknown>>;
    const mine = tokens.find((t) => t.id === minted.id)!;
    assert.deepEqual({ account: mine.account, label: mine.label, revoked: mine.revoked, state: mine.state, expiresAt: mine.expiresAt }, {
      account: "zsync",
      label: "cli test",
      revoked: false,
      state: "active",
      expiresAt: minted.expiresAt,
    });
    assert.ok(!("secretHash" in mine));
    const secret = minted.token.split("_").slice(2).join("_");
    assert.ok(!listed.stdout.includes(secret));
    const table = await serverCli(server.dataDir, ["token", "list"]);
    assert.match(table.stdout, new RegExp(`${minted.id}\\tzsync\\tactive`));
    assert.ok(!table.stdout.includes(secret));

    const revoked = await serverCli(server.dataDir, ["token", "revoke", minted.id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await call(server, "/demo/@@log", { authorization: bearer(minted.token) });
    assert.equal(after.status, 401, "a revoke through the store works on the running server at once");
    const relisted = await serverCli(server.dataDir, ["token", "list", "--json"]);
    assert.equal(JSON.parse(relisted.stdout).tokens.find((t: { id: string }) => t.id === minted.id).state, "revoked");
    const unknown = await serverCli(server.dataDir, ["token", "revoke", "ffffffffffffffff"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no token with id ffffffffffffffff/);
  });

  test("the server log holds no token and no password", () => {
    const log = server.stderr();
    assert.ok(!log.includes("zst_"));
    assert.ok(!log.includes(DEMO_AUTH.slice(6)));
  });
});

/** A server whose clock the test moves (ZSYNC_CLOCK_OFFSET_FILE, src/server/clock.ts) instead of waiting. */
async function serverWithClock(args: string[]): Promise<{ server: TestServer; advance: (ms: number) => void }> {
  const clockFile = join(await tempDir("zsync-clock-"), "offset");
  let offset = 0;
  const server = await startServer({ args, env: { ZSYNC_CLOCK_OFFSET_FILE: clockFile } });
  return { server, advance: (ms) => writeFileSync(clockFile, String((offset += ms))) };
}

describe("token expiry", () => {
  let server: TestServer;
  let advance: (ms: number) => void;
  before(async () => {
    ({ server, advance } = await serverWithClock(["--token-ttl-days", "2"]));
  });
  after(() => server.stop());

  test("an expired token gets 401 token-expired", async () => {
    const minted = await mint(server);
    const lifetime = Date.parse(minted.expiresAt) - Date.now();
    assert.ok(Math.abs(lifetime - 2 * 86_400_000) < 60_000, "the lifetime follows --token-ttl-days");
    assert.equal((await call(server, "/demo/@@log", { authorization: bearer(minted.token) })).status, 200, "valid a day before it expires");
    advance(2 * 86_400_000 + 1000);
    const r = await call(server, "/demo/@@log", { authorization: bearer(minted.token) });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, "token-expired");
  });

  test("a bad --token-ttl-days is refused", async () => {
    const bad = await serverCli(server.dataDir, ["serve", "--port", "0", "--token-ttl-days", "0"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--token-ttl-days must be a positive number/);
  });
});

describe("failed-login limiting", () => {
  let server: TestServer;
  let advance: (ms: number) => void;
  before(async () => {
    ({ server, advance } = await serverWithClock(["--max-login-failures", "3", "--login-cool-down", "60"]));
  });
  after(() => server.stop());

  test("after too many wrong passwords: 429 without checking the password, then recovery", async () => {
    for (let i = 0; i < 3; i++) {
      const r = await call(server, "/demo/@@log", { authorization: basic("zsync", "wrong-password-123") });
      assert.equal(r.status, 401);
    }
    const refused = await call(server, "/demo/@@log", { authorization: DEMO_AUTH });
    assert.equal(refused.status, 429, "even the right password is not checked during the cool-down");
    assert.equal(refused.json.error.code, "too-many-failures");
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter >= 1, `Retry-After: ${refused.headers.get("retry-after")}`);
    const lines = (await server.waitForStderr(/too many failed basic logins/)).split("\n").filter((l) => l.includes("too many failed basic logins"));
    assert.equal(lines.length, 1, server.stderr());
    assert.match(lines[0], /from 127\.0\.0\.1 for user "zsync"/);
    assert.ok(!server.stderr().includes("wrong-password-123"));
    // Another user from the same address is not yet refused (the per-address limit is 3×3).
    const other = await call(server, "/demo/@@log", { authorization: basic("someone", "x") });
    assert.equal(other.status, 401);

    advance(retryAfter * 1000 + 1000); // the cool-down passes on the server's clock, not the test's
    const recovered = await call(server, "/demo/@@log", { authorization: DEMO_AUTH });
    assert.equal(recovered.status, 200);
  });

  test("failed bearer attempts from one address are limited too", async () => {
    let status = 0;
    let attempts = 0;
    while (status !== 429 && attempts < 20) {
      status = (await call(server, "/demo/@@log", { authorization: bearer("zst_nonsense") })).status;
      attempts++;
    }
    assert.equal(status, 429);
    assert.equal(attempts, 10, "the per-address limit is 3 × --max-login-failures");
    assert.match(await server.waitForStderr(/too many failed bearer logins/), /too many failed bearer logins from 127\.0\.0\.1: refusing them for 60 s/);
    // Basic logins are counted apart, so a password still works.
    assert.equal((await call(server, "/demo/@@log", { authorization: DEMO_AUTH })).status, 200);
  });
});
