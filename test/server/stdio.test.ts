/**
 * `zsync-server --stdio`: one HTTP connection on stdin/stdout, as sshd runs it for
 * `Subsystem zsync …`. Driven by raw requests on stdin and by the protocol client over a
 * dispatcher whose connections are spawned `--stdio` processes.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Duplex } from "node:stream";
import { before, describe, test } from "node:test";
import { Client as UndiciClient } from "undici";
import { createZsyncClient } from "../../src/transport/http/client.js";
import { SERVER_BIN, tempDir } from "../helpers/server.js";
import { httpGet, parseHttpResponse, run, serverCli } from "../helpers/ssh.js";

/** `zsync-server --stdio --store sqlite:…` with `input` on stdin, in a scrubbed environment. */
function stdio(dataDir: string, input: string, opts: { args?: string[]; user?: string; logname?: string } = {}) {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dataDir };
  if (opts.user !== undefined) env.USER = opts.user;
  if (opts.logname !== undefined) env.LOGNAME = opts.logname;
  const args = [SERVER_BIN, "--data-dir", dataDir, "--store", `sqlite:${join(dataDir, "repository.sqlite")}`, "--stdio", ...(opts.args ?? [])];
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

describe("zsync-server --stdio", () => {
  let open: string;
  let withAccounts: string;

  before(async () => {
    open = await tempDir("zsync-stdio-open-");
    withAccounts = await tempDir("zsync-stdio-acc-");
    for (const [name, password] of [["alice", "alice-pw"], ["carol", "carol-pw"]]) {
      const added = await serverCli(withAccounts, ["user", "add", name, "--password-stdin"], { input: password + "\n" });
      assert.equal(added.code, 0, added.stderr);
    }
  });

  test("answers a request on stdout with nothing but HTTP, and exits at EOF", async () => {
    const result = await stdio(open, httpGet("/.well-known/zsync").replace("Connection: close\r\n", ""));
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.match(result.stdout, /^HTTP\/1\.1 200 OK\r\n/);
    const response = parseHttpResponse(result.stdout);
    assert.equal(JSON.parse(response.body).server, "zsync-server");
    assert.equal(Number(/content-length: (\d+)/i.exec(response.headers)![1]), Buffer.byteLength(response.body));
  });

  test("without accounts requests are anonymous, as over HTTP", async () => {
    const result = await stdio(open, httpGet("/.well-known/zsync"), { user: "whoever" });
    assert.equal(parseHttpResponse(result.stdout).status, 200);
  });

  test("requests act as the account named by USER, LOGNAME or --as", async () => {
    for (const opts of [{ user: "alice" }, { logname: "alice" }, { user: "nobody", args: ["--as", "carol"] }]) {
      const result = await stdio(withAccounts, httpGet("/.well-known/zsync"), opts);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(parseHttpResponse(result.stdout).status, 200, JSON.stringify(opts));
    }
  });

  test("an ssh user without an account gets 401 on every request, naming the user", async () => {
    const twice = httpGet("/.well-known/zsync").replace("Connection: close\r\n", "") + httpGet("/.well-known/zsync");
    const result = await stdio(withAccounts, twice, { user: "mallory" });
    assert.equal(result.code, 0, result.stderr);
    const answers = result.stdout.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, result.stdout);
    for (const answer of answers) {
      const response = parseHttpResponse(answer);
      assert.equal(response.status, 401);
      assert.match(JSON.parse(response.body).error.message, /the ssh user "mallory" has no zsync account/);
    }
    // A Basic header does not stand in for the missing ssh account.
    const basic = await stdio(withAccounts, httpGet("/.well-known/zsync", { Authorization: "Basic " + Buffer.from("alice:alice-pw").toString("base64") }), { user: "mallory" });
    assert.equal(parseHttpResponse(basic.stdout).status, 401);
    const nameless = await stdio(withAccounts, httpGet("/.well-known/zsync"));
    assert.match(JSON.parse(parseHttpResponse(nameless.stdout).body).error.message, /needs --as NAME or the USER variable/);
  });

  test("malformed input gets a 400 answer, no crash, no stack trace", async () => {
    for (const input of ["garbage\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", "\u0000\u0001\u0002 binary\r\n\r\n"]) {
      const result = await stdio(open, input, { args: ["--log"] });
      assert.equal(result.code, 0, result.stderr);
      const response = parseHttpResponse(result.stdout);
      assert.equal(response.status, 400);
      assert.equal(JSON.parse(response.body).error.code, "bad-request");
      assert.doesNotMatch(result.stderr, /\n\s+at |Error:/);
    }
  });

  test("--as needs --stdio (usage error)", async () => {
    const result = await run(process.execPath, [SERVER_BIN, "--data-dir", open, "--as", "alice"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /as -> stdio/);
    assert.equal(result.stdout, "");
  });

  test("the protocol client commits through spawned --stdio processes as the mapped account", async () => {
    const dispatcher = new UndiciClient("http://stdio.invalid", {
      connect(_options, callback) {
        const child = spawn(process.execPath, [SERVER_BIN, "--data-dir", withAccounts, "--stdio", "--as", "carol"], { stdio: ["pipe", "pipe", "inherit"] });
        const socket = Duplex.from({ readable: child.stdout, writable: child.stdin }) as Duplex & Record<string, unknown>;
        for (const method of ["setTimeout", "setNoDelay", "setKeepAlive", "ref", "unref"]) socket[method] = () => socket;
        // undici wants the callback asynchronously (a synchronous one leaves it "connecting").
        child.once("spawn", () => callback(null, socket as never));
        child.once("error", (error) => callback(error, null));
      },
    });
    try {
      const client = createZsyncClient({ origin: "http://stdio.invalid", dispatcher });
      const result = await client.checkin(
        "",
        "notes",
        (async function* () {
          yield { kind: "file" as const, path: "notes", size: 6, body: "carol\n" };
        })(),
        { note: "via stdio" },
      );
      const log = await client.log("notes");
      assert.equal(log[0].revision, result.revision);
      assert.equal(log[0].author, "carol");
    } finally {
      await dispatcher.close();
    }
  });
});
