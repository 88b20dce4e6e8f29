/**
 * `zsync log -r`, `zsync cat`, `zsync list|ls` and `zsync diff -r` end to end: the built binary
 * against a real zsync-server (run `npm run build` first).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { PASSWORD, addAccount } from "../helpers/accounts.js";
import { SERVER_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";

async function ok(args: string[], cwd: string, env?: Record<string, string>) {
  const result = await zsync(args, { cwd, env });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

function serverCli(dataDir: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_BIN, "--data-dir", dataDir, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(stderr))));
  });
}

const RULE = "===================================================================";

describe("history verbs: log -r, cat, list, diff -r", () => {
  let server: TestServer;
  let dir: string;
  let work: string;
  let url: string;
  const guide1 = "";
  let guideAt1 = guide1;
  before(async () => {
    server = await startServer();
    url = server.url.replace("://", "://zsync@");
    dir = await tempDir();
    await ok(["checkout", `${url}/demo`, "work", "-q"], dir);
    work = join(dir, "work");
    guideAt1 = await readFile(join(work, "docs/guide.md"), "utf8");
    // r2: guide edited; r3: README edited and its title changed; r4: notes removed, new.txt added.
    await writeFile(join(work, "docs/guide.md"), guideAt1.replace("2. Edit files as usual.", "2. Edit files in r2."));
    await ok(["commit", "-m", "r2 guide", "-q"], work);
    await writeFile(join(work, "README.txt"), "readme at r3\n");
    const metaFile = join(work, "@@meta/README.txt.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8"));
    meta.extra.title = "Read me (r3)";
    await writeFile(metaFile, JSON.stringify(meta, null, 2) + "\n");
    await ok(["commit", "-m", "r3 readme", "-q"], work);
    await ok(["remove", "docs/notes.txt", "-q"], work);
    await writeFile(join(work, "new.txt"), "new in r4\n");
    await ok(["add", "new.txt", "-q"], work);
    await ok(["commit", "-m", "r4 add and remove", "-q"], work);
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("log -r: one revision, a descending range, an ascending range (oldest first), with -l", async () => {
    const revs = async (args: string[]) => (await zsyncJson<{ revisions: { revision: number }[] }>(["log", ...args], { cwd: work })).json.revisions.map((r) => r.revision);
    assert.deepEqual(await revs(["-r", "3"]), [3]);
    assert.deepEqual(await revs(["-r", "4:2"]), [4, 3, 2]);
    assert.deepEqual(await revs(["-r", "2:HEAD"]), [2, 3, 4]);
    assert.deepEqual(await revs(["-r", "1:4", "-l", "2"]), [1, 2]);
    assert.deepEqual(await revs(["-r", "HEAD:1", "-l", "2"]), [4, 3]);
    assert.deepEqual(await revs(["README.txt", "-r", "4:1"]), [3, 1]);
    const text = await ok(["log", "-r", "3", "-v"], work, { TZ: "UTC" });
    assert.match(text.stdout, /^-{72}\nr3 \| zsync \| [^|]+ \| 1 line\nChanged paths:\n {3}M \/demo\/README\.txt\n\nr3 readme\n-{72}\n$/);
    const bad = await zsync(["log", "-r", "two"], { cwd: work });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /bad revision "two"/);
  });

  test("cat prints the bytes at BASE, at -r N, at HEAD by URL; --meta the metadata file's text", async () => {
    assert.equal((await ok(["cat", "docs/guide.md", "-r", "1"], work)).stdout, guideAt1);
    assert.equal((await ok(["cat", "docs/guide.md"], work)).stdout, await readFile(join(work, "docs/guide.md"), "utf8"));
    assert.equal((await ok(["cat", "-r", "2", `${url}/demo/README.txt`], dir)).stdout, await (await ok(["cat", "-r", "1", "README.txt"], work)).stdout);
    assert.equal((await ok(["cat", `${url}/demo/README.txt`], dir)).stdout, "readme at r3\n");
    assert.equal((await ok(["cat", "-r", "3", "docs/notes.txt"], work)).stdout.length > 0, true);
    const gone = await zsync(["cat", "-r", "4", `${url}/demo/docs/notes.txt`], { cwd: dir });
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no object at \/demo\/docs\/notes\.txt in revision 4/);
    const metaOld = await ok(["cat", "--meta", "-r", "2", "README.txt"], work);
    assert.equal(metaOld.stdout, JSON.stringify({ contentType: "text/plain", extra: { title: "Read me" } }, null, 2) + "\n");
    const metaNow = await zsyncJson(["cat", "--meta", "README.txt", "-r", "HEAD"], { cwd: work });
    assert.deepEqual(metaNow.json, { path: "/demo/README.txt", revision: 4, objectRevision: 3, meta: { contentType: "text/plain", extra: { title: "Read me (r3)" } } });
    const png = await zsyncJson<{ contentBase64: string; size: number }>(["cat", "images/logo.png"], { cwd: work });
    assert.deepEqual(Buffer.from(png.json.contentBase64, "base64"), await readFile(join(work, "images/logo.png")));
    const folder = await zsync(["cat", "docs"], { cwd: work });
    assert.equal(folder.code, 1);
    assert.match(folder.stderr, /is a folder/);
  });

  test("list|ls: folders first with a slash, -v revision/author/size/date, -r an old revision, a file, --json", async () => {
    assert.equal((await ok(["list"], work)).stdout, "contacts/\ndocs/\nimages/\nnotes/\nREADME.txt\nindex.html\nnew.txt\n");
    assert.equal((await ok(["ls", "-r", "1", "docs"], work)).stdout, "guide.md\nnotes.txt\n");
    assert.equal((await ok(["ls", `${url}/demo/docs`], dir)).stdout, "guide.md\n");
    const verbose = (await ok(["ls", "-v", "."], work, { TZ: "UTC" })).stdout.split("\n");
    assert.match(verbose.find((l) => l.endsWith(" docs/")) ?? "", /^ {6}1 zsync {23}\d{4}-\d\d-\d\d \d\d:\d\d docs\/$/);
    assert.match(verbose.find((l) => l.endsWith(" README.txt")) ?? "", /^ {6}3 zsync {20}13 \d{4}-\d\d-\d\d \d\d:\d\d README\.txt$/);
    assert.equal((await ok(["ls", "README.txt"], work)).stdout, "README.txt\n");
    const { json } = await zsyncJson<{ path: string; revision: number; kind: string; entries: { name: string; kind: string; revision: number; author: string; size?: number }[] }>(["ls", "docs", "-r", "2"], { cwd: work });
    assert.equal(json.path, "/demo/docs");
    assert.equal(json.revision, 2);
    assert.deepEqual(json.entries.map((e) => [e.name, e.kind, e.revision, e.author]), [["guide.md", "file", 2, "zsync"], ["notes.txt", "file", 1, "zsync"]]);
  });

  test("diff -r A:B shows content and metadata changes between revisions, svn style; B:A backwards", async () => {
    const { stdout } = await ok(["diff", "-r", "2:3"], work);
    assert.equal(
      stdout,
      [
        "Index: README.txt",
        RULE,
        "--- README.txt\t(revision 2)",
        "+++ README.txt\t(revision 3)",
        "@@ -1,4 +1 @@",
        "-This folder is the zsync demo content.",
        "-",
        "-Every file here is an object on the server. Its metadata (title, content type)",
        "-is in the @@meta folder of a checkout, as JSON you can edit and commit.",
        "+readme at r3",
        "Index: @@meta/README.txt.json",
        RULE,
        "--- @@meta/README.txt.json\t(revision 2)",
        "+++ @@meta/README.txt.json\t(revision 3)",
        "@@ -1,6 +1,6 @@",
        " {",
        '   "contentType": "text/plain",',
        '   "extra": {',
        '-    "title": "Read me"',
        '+    "title": "Read me (r3)"',
        "   }",
        " }",
        "",
      ].join("\n"),
    );
    const added = await ok(["diff", "-r", "3:4"], work);
    assert.match(added.stdout, /Index: docs\/notes\.txt\n={67}\n--- docs\/notes\.txt\t\(revision 3\)\n\+\+\+ docs\/notes\.txt\t\(nonexistent\)\n/);
    assert.match(added.stdout, /Index: new\.txt\n={67}\n--- new\.txt\t\(nonexistent\)\n\+\+\+ new\.txt\t\(revision 4\)\n@@ -0,0 \+1 @@\n\+new in r4\n/);
    const backwards = await zsyncJson<{ files: { path: string; change: string }[] }>(["diff", "-r", "4:3"], { cwd: work });
    assert.deepEqual(backwards.json.files.map((f) => [f.path, f.change]).sort(), [["@@meta/new.txt.json", "removed"], ["docs/@@meta/notes.txt.json", "added"], ["docs/notes.txt", "added"], ["new.txt", "removed"]]);
    const onePath = await ok(["diff", "-r", "1:2", "docs/guide.md"], join(work));
    assert.match(onePath.stdout, /^Index: docs\/guide\.md\n={67}\n--- docs\/guide\.md\t\(revision 1\)\n\+\+\+ docs\/guide\.md\t\(revision 2\)\n@@ -1,6 \+1,6 @@\n/);
    assert.match(onePath.stdout, /\n-2\. Edit files as usual\.\n\+2\. Edit files in r2\.\n/);
    const fromSub = await ok(["diff", "-r", "1:2", "guide.md"], join(work, "docs"));
    assert.match(fromSub.stdout, /^Index: guide\.md\n/);
    const byUrl = await ok(["diff", "-r", "1:2", `${url}/demo/docs`], dir);
    assert.match(byUrl.stdout, /^Index: guide\.md\n/);
    assert.equal((await ok(["diff", "-r", "3:3"], work)).stdout, "");
  });

  test("diff -r A compares the working files with revision A", async () => {
    await writeFile(join(work, "new.txt"), "new in r4\nand edited\n");
    try {
      const { stdout } = await ok(["diff", "-r", "1"], work);
      assert.match(stdout, /Index: README\.txt\n={67}\n--- README\.txt\t\(revision 1\)\n\+\+\+ README\.txt\t\(working copy\)\n/);
      assert.match(stdout, /Index: docs\/guide\.md\n[^]*\n\+2\. Edit files in r2\.\n/);
      assert.match(stdout, /Index: docs\/notes\.txt\n={67}\n--- docs\/notes\.txt\t\(revision 1\)\n\+\+\+ docs\/notes\.txt\t\(nonexistent\)\n/);
      assert.match(stdout, /Index: new\.txt\n={67}\n--- new\.txt\t\(nonexistent\)\n\+\+\+ new\.txt\t\(working copy\)\n@@ -0,0 \+1,2 @@\n\+new in r4\n\+and edited\n/);
      assert.match(stdout, /Index: @@meta\/README\.txt\.json\n[^]*-    "title": "Read me"\n\+    "title": "Read me \(r3\)"\n/);
      const head = await ok(["diff", "-r", "HEAD"], work);
      assert.equal(head.stdout, (await ok(["diff"], work)).stdout, "against HEAD = against BASE in an up-to-date checkout");
      const scoped = await zsyncJson<{ files: { path: string }[] }>(["diff", "-r", "1", "docs"], { cwd: work });
      assert.deepEqual(scoped.json.files.map((f) => f.path), ["docs/guide.md", "docs/notes.txt", "docs/@@meta/notes.txt.json"]);
    } finally {
      await ok(["revert", "new.txt", "-q"], work);
    }
  });

  test("a hidden path answers list, cat, diff and log exactly like a missing one", async () => {
    await addAccount(server.dataDir, "nina", PASSWORD);
    await serverCli(server.dataDir, ["grant", "nina", "/demo/docs", "none"]);
    const env = { ZSYNC_PASSWORD: PASSWORD };
    const as = (path: string) => `${server.url.replace("://", "://nina@")}${path}`;
    for (const [args, missingArgs] of [
      [["ls", as("/demo/docs")], ["ls", as("/demo/nothing")]],
      [["cat", as("/demo/docs/guide.md")], ["cat", as("/demo/nothing/guide.md")]],
      [["diff", "-r", "1:2", as("/demo/docs")], ["diff", "-r", "1:2", as("/demo/nothing")]],
      [["log", as("/demo/docs")], ["log", as("/demo/nothing")]],
    ]) {
      const hidden = await zsync(args, { cwd: dir, env });
      const missing = await zsync(missingArgs, { cwd: dir, env });
      assert.equal(hidden.code, 1, hidden.stderr);
      assert.equal(hidden.stderr.replaceAll("docs", "X"), missing.stderr.replaceAll("nothing", "X"));
    }
    const listing = await ok(["ls", as("/demo")], dir, env);
    assert.equal(listing.stdout, "contacts/\nimages/\nnotes/\nREADME.txt\nindex.html\nnew.txt\n");
    const changes = await zsyncJson<{ files: { path: string }[] }>(["diff", "-r", "3:4", as("/demo")], { cwd: dir, env });
    assert.deepEqual(changes.json.files.map((f) => f.path), ["new.txt", "@@meta/new.txt.json"]);
  });
});
