/**
 * `zsync move|mv` through the real binaries: a rename keeps content, local edits and metadata and
 * commits as one add + delete; moving into a folder; refusals (unversioned content inside, a
 * conflict, an existing destination, the root) change nothing; `--json` shape; typo hints.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { checkoutFresh, readTree, Remote } from "../helpers/scenario.js";
import { startServer, type TestServer } from "../helpers/server.js";

describe("zsync move", () => {
  let server: TestServer;
  let remote: Remote;
  let folders = 0;
  async function fresh(): Promise<{ wc: string; folder: string }> {
    const folder = `mv${++folders}`;
    await remote.createFolder(folder, { "a.txt": "alpha\n", "docs": null, "docs/b.txt": "beta\n", "docs/c.txt": "gamma\n" }, { "a.txt": { contentType: "text/plain", extra: { title: "Alpha" } } });
    return { wc: await checkoutFresh(remote.url(folder)), folder };
  }
  before(async () => {
    server = await startServer();
    remote = new Remote(server);
  });
  after(() => server.stop());

  test("a renamed file keeps its edits and metadata; commit sends the add and the delete", async () => {
    const { wc, folder } = await fresh();
    await writeFile(join(wc, "a.txt"), "alpha edited\n");
    const r = await zsyncJson(["mv", "a.txt", "renamed.txt"], { cwd: wc });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      { from: r.json.from, to: r.json.to, added: r.json.added.map((a: { path: string; from: string }) => [a.path, a.from]), removed: r.json.removed.map((x: { path: string }) => x.path) },
      { from: "a.txt", to: "renamed.txt", added: [["renamed.txt", "a.txt"]], removed: ["a.txt"] },
    );
    assert.equal(r.json.added[0].metaFile, "@@meta/renamed.txt.json");
    assert.equal(readFileSync(join(wc, "renamed.txt"), "utf8"), "alpha edited\n");
    assert.ok(!existsSync(join(wc, "a.txt")) && !existsSync(join(wc, "@@meta/a.txt.json")));
    const st = await zsyncJson(["status"], { cwd: wc });
    assert.deepEqual(st.json.items.map((i: { path: string; status: string }) => `${i.status} ${i.path}`).sort(), ["A renamed.txt", "R a.txt"]);
    const ci = await zsync(["commit", "-m", "rename"], { cwd: wc });
    assert.equal(ci.code, 0, ci.stderr);
    const server = await remote.entries(folder);
    assert.ok(!server.has("a.txt"));
    assert.deepEqual(server.get("renamed.txt")?.meta?.extra, { title: "Alpha" });
  });

  test("a folder moves into an existing versioned folder, named from the command line outside the checkout", async () => {
    const { wc } = await fresh();
    assert.equal((await zsync(["mkdir", "archive"], { cwd: wc })).code, 0);
    const r = await zsync(["move", join(wc, "docs"), join(wc, "archive")], { cwd: join(wc, "..") });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^A  wc\/archive\/docs\/$/m);
    assert.match(r.stdout, /^R  wc\/docs\/$/m);
    assert.equal(readFileSync(join(wc, "archive/docs/b.txt"), "utf8"), "beta\n");
  });

  test("refusals change nothing: unversioned files inside, an existing destination, the root", async () => {
    const { wc } = await fresh();
    await writeFile(join(wc, "docs/notes.txt"), "mine\n");
    const before = readTree(wc, { admin: true });
    const inside = await zsync(["mv", "docs", "papers"], { cwd: wc });
    assert.equal(inside.code, 1);
    assert.match(inside.stderr, /nothing moved: 'docs' holds paths a move would lose or leave behind:\n {2}\? {2}docs\/notes\.txt/);
    const exists = await zsync(["mv", "a.txt", "docs/b.txt"], { cwd: wc });
    assert.equal(exists.code, 1);
    assert.match(exists.stderr, /already under version control/);
    const root = await zsyncJson(["mv", ".", "x"], { cwd: wc });
    assert.equal(root.json.error.code, "move-root");
    const unversioned = await zsync(["mv", "docs/notes.txt", "n.txt"], { cwd: wc });
    assert.match(unversioned.stderr, /not under version control \(a plain `mv` will do\)/);
    assert.deepEqual(readTree(wc, { admin: true }), before);
  });
});
