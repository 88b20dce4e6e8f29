/**
 * A commit whose answer never arrives: the server applied it, then the connection died. The
 * client must say the upload may have been applied (not "cannot reach"), and `update` must then
 * settle the checkout with nothing lost.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { Remote, statusOf } from "../helpers/scenario.js";

let server: TestServer;
let remote: Remote;
const made: string[] = [];
before(async () => {
  server = await startServer({ demo: true });
  remote = new Remote(server);
});
after(async () => {
  await server.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A proxy to the real server that, while `cutCommits` is set, forwards commits but drops their answers. */
async function answerDroppingProxy(): Promise<{ origin: string; state: { cutCommits: boolean; cut: number }; server: Server }> {
  const target = new URL(server.url);
  const state = { cutCommits: false, cut: 0 };
  const proxy = createServer((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (state.cutCommits && req.url!.includes("@@fromFS.snarf")) {
        state.cut++;
        answer.resume();
        answer.on("end", () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  return { origin: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, state, server: proxy };
}

test("a commit applied by the server whose answer is lost: clear message, then update settles it, nothing lost", async () => {
  await remote.createFolder("lost", { "f.txt": "one\n", "g.txt": "g\n" });
  const proxy = await answerDroppingProxy();
  try {
    const parent = await tempDir("zsync-lost-");
    made.push(parent);
    const dir = join(parent, "wc");
    const co = await zsync(["checkout", `${proxy.origin.replace("://", "://zsync@")}/lost`, dir], { cwd: parent });
    assert.equal(co.code, 0, co.stderr);
    writeFileSync(join(dir, "f.txt"), "one\ntwo\n");

    proxy.state.cutCommits = true;
    const ci = await zsync(["commit", "-m", "edit"], { cwd: dir });
    assert.equal(proxy.state.cut, 1);
    assert.notEqual(ci.code, 0);
    assert.match(ci.stderr, /lost the connection to http:\/\/127\.0\.0\.1:\d+ during the upload.+may have applied it: run `zsync update`/s);
    assert.doesNotMatch(ci.stderr, /cannot reach|at .+\.js:\d+/);
    assert.equal(readFileSync(join(dir, "f.txt"), "utf8"), "one\ntwo\n");

    proxy.state.cutCommits = false;
    const up = await zsync(["update"], { cwd: dir });
    assert.equal(up.code, 0, up.stderr);
    assert.equal(readFileSync(join(dir, "f.txt"), "utf8"), "one\ntwo\n");
    const status = await statusOf(dir);
    assert.deepEqual(status.items, [], "the checkout is clean: the server's copy is the user's edit");
    const cat = await remote.client.cat("lost/f.txt");
    let text = "";
    for await (const chunk of cat) text += chunk;
    assert.equal(text, "one\ntwo\n");
  } finally {
    await new Promise((resolve) => proxy.server.close(resolve));
  }
});
