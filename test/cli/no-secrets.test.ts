/**
 * No password or token ends up anywhere it should not: not in any file of a checkout (`.zsync/`
 * included), not in any request body, not in the server's log or data directory. Every request
 * goes through a recording proxy in this test, so request bodies are seen exactly as sent.
 */
import assert from "node:assert/strict";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { addAccount, PASSWORD } from "../helpers/accounts.js";

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A forwarding proxy that keeps every request with its whole body. */
async function recordingProxy(target: string): Promise<{ url: string; requests: Recorded[]; server: Server }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const upstream = request(new URL(req.url ?? "/", target), { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      upstream.write(chunk);
    });
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
      upstream.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
}

function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Every form a secret could take on the wire or on disk. */
function formsOf(secret: string, user: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    Buffer.from(secret).toString("base64"),
    Buffer.from(secret).toString("base64url"),
    Buffer.from(`${user}:${secret}`).toString("base64"),
  ];
}

let server: TestServer;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
before(async () => {
  const dataDir = await tempDir("zsync-server-");
  await addAccount(dataDir, "ann", PASSWORD);
  server = await startServer({ dataDir });
  proxy = await recordingProxy(server.url);
});
after(async () => {
  proxy.server.closeAllConnections();
  await new Promise((resolve) => proxy.server.close(resolve));
  await server.stop();
});

test("login, checkout, edit, commit, update: no password or token in the checkout, request bodies or server log", async () => {
  const home = await tempDir("zsync-home-");
  const configDir = join(home, "cfg");
  const env = { HOME: home, ZSYNC_CONFIG_DIR: configDir, XDG_CONFIG_HOME: undefined, ZSYNC_PASSWORD: undefined };
  const cwd = await tempDir();
  const outputs: string[] = [];
  const run = async (args: string[], where: string, extra: Record<string, string | undefined> = {}) => {
    const r = await zsync(args, { cwd: where, env: { ...env, ...extra } });
    assert.equal(r.code, 0, `zsync ${args.join(" ")}: ${r.stderr}`);
    outputs.push(r.stdout, r.stderr);
  };

  await run(["login", proxy.url, "-u", "ann"], cwd, { ZSYNC_PASSWORD: PASSWORD });
  const token: string = JSON.parse(readFileSync(join(configDir, "credentials"), "utf8")).logins[0].token;
  assert.match(token, /^zst_/);

  // With the token.
  await run(["checkout", `${proxy.url}/demo`, "wc"], cwd);
  const wc = join(cwd, "wc");
  writeFileSync(join(wc, "README.txt"), "changed with a token\n");
  mkdirSync(join(wc, "my-notes"));
  writeFileSync(join(wc, "my-notes/new.txt"), "new\n");
  await run(["add", "my-notes"], wc);
  await run(["commit", "-m", "token commit"], wc);
  // With a URL password (this command only), then with ZSYNC_PASSWORD.
  await run(["checkout", `${proxy.url.replace("://", `://ann:${encodeURIComponent(PASSWORD)}@`)}/demo`, "wc2"], cwd);
  const wc2 = join(cwd, "wc2");
  writeFileSync(join(wc2, "index.html"), "<p>changed with a password</p>\n");
  await run(["commit", "-m", "password commit"], wc2, { ZSYNC_PASSWORD: PASSWORD });
  await run(["update"], wc);
  await run(["update"], wc2);
  mkdirSync(join(cwd, "import"));
  writeFileSync(join(cwd, "import/a.txt"), "imported\n");
  await run(["import", `${proxy.url}/imported`, "import"], cwd);
  await run(["log", "--limit", "5"], wc);

  const secrets = [...formsOf(PASSWORD, "ann"), ...formsOf(token, "ann")];
  const found = (text: Buffer | string) => secrets.filter((s) => (typeof text === "string" ? text.includes(s) : text.includes(s)));

  const files = allFiles(cwd);
  assert.ok(files.some((f) => f.includes(".zsync")), "the checkouts' admin files are searched too");
  for (const file of files) assert.deepEqual(found(readFileSync(file)), [], file);

  const bodies = proxy.requests.filter((r) => r.body.length > 0);
  assert.ok(bodies.some((r) => r.url.includes("@@fromFS.snarf")) && bodies.some((r) => r.url.includes("@@checkin.snarf")), "commit and import bodies were captured");
  for (const r of proxy.requests) assert.deepEqual(found(r.body), [], `${r.method} ${r.url}`);
  for (const r of proxy.requests) assert.ok(!r.url.includes(token) && !r.url.includes(PASSWORD), r.url);

  // The token was really used: Bearer after login, and the token commit sent no password at all.
  const tokenCommit = proxy.requests.find((r) => r.url.includes("@@fromFS.snarf"))!;
  assert.equal(tokenCommit.headers.authorization, `Bearer ${token}`);
  const login = proxy.requests.find((r) => r.url === "/.well-known/zsync/tokens")!;
  assert.match(String(login.headers.authorization), /^Basic /);

  assert.deepEqual(found(server.stderr()), [], "server log");
  assert.deepEqual(found(outputs.join("\n")), [], "client output");
  for (const file of allFiles(server.dataDir)) assert.deepEqual(found(readFileSync(file)), [], file);
  // The credentials file holds the token (that is its job) and never the password.
  assert.deepEqual(found(readFileSync(join(configDir, "credentials"))).filter((s) => formsOf(PASSWORD, "ann").includes(s)), []);
});
