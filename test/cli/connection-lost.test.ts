/**
 * A commit whose answer never arrives: the server applied it, then the connection died. The
 * client must say the upload may have been applied (not "cannot reach"), and `update` must then
 * settle the checkout with nothing lost.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { answerDroppingProxy } from "../helpers/proxy.js";
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

test("a commit applied by the server whose answer is lost: clear message, then update settles it, nothing lost", async () => {
  await remote.createFolder("lost", { "f.txt": "one\n", "g.txt": "g\n" });
  const proxy = await answerDroppingProxy(server.url);
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
