/**
 * `zsync diff`, `zsync log` and `zsync import|checkin` end to end: the built binary against a
 * real zsync-server (run `npm run build` first).
 */
import assert from "node:assert/strict";
import { appendFile, mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readRecordBody } from "../../src/protocol/snarf.js";
import { createZsyncClient, type ZsyncClient } from "../../src/transport/http/client.js";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

async function ok(args: string[], cwd: string, env?: Record<string, string>) {
  const result = await zsync(args, { cwd, env });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

const RULE = "===================================================================";

describe("zsync diff (with the server stopped)", () => {
  let server: TestServer;
  let dir: string;
  let work: string;
  before(async () => {
    server = await startServer();
    dir = await tempDir();
    await ok(["checkout", `${server.url.replace("://", "://zsync@")}/demo`, "work", "-q"], dir);
    work = join(dir, "work");
    // Everything below runs offline: diff needs nothing but the checkout.
    await server.stop();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("a clean checkout has no diff, and exit code 0", async () => {
    const result = await ok(["diff"], work);
    assert.equal(result.stdout, "");
  });

  test("modified text, binary, no final newline and metadata, svn style, exit code 0", async () => {
    const guide = join(work, "docs/guide.md");
    await writeFile(guide, (await readFile(guide, "utf8")).replace("2. Edit files as usual.\n", "2. Edit files with any editor.\n") + "5. Repeat.\n");
    await appendFile(join(work, "images/logo.png"), Buffer.from([0, 1, 2, 3]));
    await writeFile(join(work, "README.txt"), "Short now, and no newline");
    const metaFile = join(work, "@@meta/index.html.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8"));
    meta.extra.title = "Hello";
    await writeFile(metaFile, JSON.stringify(meta, null, 2) + "\n");

    const result = await zsync(["diff"], { cwd: work });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      [
        "Index: README.txt",
        RULE,
        "--- README.txt\t(revision 1)",
        "+++ README.txt\t(working copy)",
        "@@ -1,4 +1 @@",
        "-This folder is the zsync demo content.",
        "-",
        "-Every file here is an object on the server. Its metadata (title, content type)",
        "-is in the @@meta folder of a checkout, as JSON you can edit and commit.",
        "+Short now, and no newline",
        "\\ No newline at end of file",
        "Index: docs/guide.md",
        RULE,
        "--- docs/guide.md\t(revision 1)",
        "+++ docs/guide.md\t(working copy)",
        "@@ -1,6 +1,7 @@",
        " # A short guide",
        " ",
        " 1. `zsync checkout URL work` makes a working copy.",
        "-2. Edit files as usual.",
        "+2. Edit files with any editor.",
        " 3. `zsync status` shows what changed, `zsync diff` how.",
        " 4. `zsync commit -m \"why\"` sends it back; `zsync update` brings others' work.",
        "+5. Repeat.",
        "Index: images/logo.png",
        RULE,
        "Cannot display: file marked as a binary type.",
        "content type: image/png",
        "Index: @@meta/index.html.json",
        RULE,
        "--- @@meta/index.html.json\t(revision 1)",
        "+++ @@meta/index.html.json\t(working copy)",
        "@@ -1,6 +1,6 @@",
        " {",
        '   "contentType": "text/html",',
        '   "extra": {',
        '-    "title": "Welcome to the zsync demo"',
        '+    "title": "Hello"',
        "   }",
        " }",
        "",
      ].join("\n"),
    );

    // --json: one entry per file with the same text in `patch`.
    const { code, json } = await zsyncJson<{ files: { path: string; object: string; kind: string; change: string; binary: boolean; revision?: number; hunks: unknown[]; patch: string }[] }>(["diff"], { cwd: work });
    assert.equal(code, 0);
    assert.deepEqual(
      json.files.map((f) => [f.path, f.object, f.kind, f.change, f.binary, f.revision]),
      [
        ["README.txt", "README.txt", "content", "modified", false, 1],
        ["docs/guide.md", "docs/guide.md", "content", "modified", false, 1],
        ["images/logo.png", "images/logo.png", "content", "modified", true, 1],
        ["@@meta/index.html.json", "index.html", "meta", "modified", false, 1],
      ],
    );
    assert.equal(json.files.map((f) => f.patch).join(""), result.stdout);
    assert.deepEqual(json.files[2].hunks, []);
    assert.deepEqual(json.files[1].hunks[0], {
      oldStart: 1,
      oldLines: 6,
      newStart: 1,
      newLines: 7,
      lines: [
        " # A short guide",
        " ",
        " 1. `zsync checkout URL work` makes a working copy.",
        "-2. Edit files as usual.",
        "+2. Edit files with any editor.",
        " 3. `zsync status` shows what changed, `zsync diff` how.",
        " 4. `zsync commit -m \"why\"` sends it back; `zsync update` brings others' work.",
        "+5. Repeat.",
      ],
    });

    // Paths: relative to the current directory, limited to what was named.
    const sub = await ok(["di", "guide.md", "../README.txt"], join(work, "docs"));
    assert.match(sub.stdout, /^Index: \.\.\/README\.txt\n/);
    assert.match(sub.stdout, /\nIndex: guide\.md\n={67}\n--- guide\.md\t\(revision 1\)\n\+\+\+ guide\.md\t\(working copy\)\n/);
    assert.doesNotMatch(sub.stdout, /logo|index\.html/);
    const onlyMeta = await ok(["diff", "@@meta/index.html.json"], work);
    assert.match(onlyMeta.stdout, /^Index: @@meta\/index\.html\.json\n/);
    assert.equal(onlyMeta.stdout.match(/^Index: /gm)?.length, 1);
  });

  test("a path outside the checkout is a usage error (exit 2)", async () => {
    const result = await zsync(["diff", "../elsewhere"], { cwd: work });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /not inside the checkout/);
  });
});

describe("zsync log", () => {
  let server: TestServer;
  let dir: string;
  let work: string;
  let client: ZsyncClient;
  const env = { TZ: "UTC" };
  before(async () => {
    server = await startServer();
    client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
    dir = await tempDir();
    await ok(["checkout", `${server.url.replace("://", "://zsync@")}/demo`, "work", "-q"], dir);
    work = join(dir, "work");
    await appendFile(join(work, "docs/guide.md"), "5. Read the log.\n");
    await ok(["commit", "-m", "guide: one more step\n\nWritten for the log test.", "-q"], work);
    await writeFile(join(work, "README.txt"), "new readme\n");
    await ok(["commit", "-m", "shorter readme", "-q"], work);
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("shows each revision's number, author, date and note, newest first, svn style", async () => {
    const { stdout } = await ok(["log"], work, env);
    const separator = "-".repeat(72);
    const blocks = stdout.split(separator + "\n");
    assert.equal(blocks[0], "", "starts with a separator");
    assert.equal(blocks.length, 5, stdout); // "", r3, r2, r1, "" after the last separator
    assert.match(blocks[1], /^r3 \| zsync \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 \(\w{3}, \d\d \w{3} \d{4}\) \| 1 line\n\nshorter readme\n$/);
    assert.match(blocks[2], /^r2 \| zsync \| [^|]+ \| 3 lines\n\nguide: one more step\n\nWritten for the log test\.\n$/);
    assert.match(blocks[3], /^r1 \| zsync \| [^|]+ \| 1 line\n\ndemo content\n$/);
  });

  test("-v lists changed paths, -l limits, a path narrows the history", async () => {
    const verbose = await ok(["log", "-v", "-l", "1"], work, env);
    assert.match(verbose.stdout, /^-{72}\nr3 \| zsync \| [^|]+ \| 1 line\nChanged paths:\n {3}M \/demo\/README\.txt\n\nshorter readme\n-{72}\n$/);
    const guide = await ok(["log", "docs/guide.md"], work, env);
    assert.match(guide.stdout, /\nr2 \| zsync /);
    assert.match(guide.stdout, /\nr1 \| zsync /);
    assert.doesNotMatch(guide.stdout, /\nr3 /);
    const fromSub = await ok(["log", "guide.md", "--limit", "1"], join(work, "docs"), env);
    assert.match(fromSub.stdout, /^-{72}\nr2 \| /);
  });

  test("--json is the server's revisions; a URL works without a checkout", async () => {
    const { code, json } = await zsyncJson<{ path: string; revisions: unknown[] }>(["log", "docs"], { cwd: work });
    assert.equal(code, 0);
    assert.equal(json.path, "/demo/docs");
    assert.deepEqual(json.revisions, await client.log("demo/docs"));
    const byUrl = await zsyncJson<{ path: string; revisions: { revision: number; note: string; author: string }[] }>(
      ["log", `${server.url.replace("://", "://zsync@")}/demo/README.txt`],
      { cwd: dir },
    );
    assert.equal(byUrl.code, 0);
    assert.deepEqual(byUrl.json.revisions.map((r) => [r.revision, r.author, r.note]), [[3, "zsync", "shorter readme"], [1, "zsync", "demo content"]]);
  });

  test("a path outside the checkout is a usage error (exit 2)", async () => {
    const result = await zsync(["log", "../x"], { cwd: work });
    assert.equal(result.code, 2);
  });
});

describe("zsync import / checkin", () => {
  let server: TestServer;
  let dir: string;
  let url: string;
  let client: ZsyncClient;
  const SECRET = "TOP-SECRET-never-upload-me";
  before(async () => {
    server = await startServer();
    client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
    url = `${server.url.replace("://", "://zsync@")}/demo`;
    dir = await tempDir();
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function snapshotOf(path: string) {
    const { manifest, records } = await client.snapshot(path);
    const files = new Map<string, Buffer>();
    for await (const record of records) if (record.kind === "file") files.set(record.path, await readRecordBody(record, 1 << 20));
    return { manifest, files };
  }
  const head = async () => (await client.info()).repository.revision;

  const PIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x00, 0x0a, 0x01]);

  async function makeTree(root: string) {
    await mkdir(join(root, "nested/deeper"), { recursive: true });
    await mkdir(join(root, "empty"));
    await mkdir(join(root, "images/@@meta"), { recursive: true });
    await mkdir(join(root, "@@meta"));
    await writeFile(join(root, "top.txt"), "top\n");
    await writeFile(join(root, "nested/deeper/leaf.txt"), "leaf\n");
    await writeFile(join(root, "images/pic.bin"), PIC);
    await writeFile(join(root, "@@meta/top.txt.json"), '{"extra": {"title": "Top"}, "contentType": "text/plain"}');
    await writeFile(join(root, "images/@@meta/pic.bin.json"), JSON.stringify({ contentType: "application/octet-stream", annotations: { dc: { creator: "me" } } }));
    await writeFile(join(root, "@@meta/@@root.json"), JSON.stringify({ extra: { title: "Imported" } }));
    await writeFile(join(root, "top.txt~"), "editor backup\n");
    // Hostile symlinks: to a file and to a folder outside the tree.
    await mkdir(join(dir, "outside"), { recursive: true });
    await writeFile(join(dir, "outside/secret.txt"), SECRET);
    await symlink(join(dir, "outside/secret.txt"), join(root, "evil.txt"));
    await symlink(join(dir, "outside"), join(root, "evil-dir"));
  }

  test("imports nested folders, an empty folder, a binary file and metadata; symlinks are not followed; DIR becomes a clean checkout", async () => {
    const tree = join(dir, "tree");
    await makeTree(tree);
    const { code, json, stderr } = await zsyncJson<{ revision: number; path: string; attached: boolean; skipped: { path: string }[]; meta: string[] }>(
      ["import", `${url}/tree`, "tree", "-m", "import a tree"],
      { cwd: dir },
    );
    assert.equal(code, 0, stderr);
    assert.equal(json.path, "/demo/tree");
    assert.equal(json.attached, true);
    assert.deepEqual(json.skipped.map((s) => s.path).sort(), ["evil-dir", "evil.txt"]);
    assert.deepEqual(json.meta, ["", "images/pic.bin", "top.txt"]);

    const { manifest, files } = await snapshotOf("demo/tree");
    assert.equal(manifest.revision, json.revision);
    assert.deepEqual(manifest.entries.map((e) => `${e.path}:${e.kind}`).sort(), [
      ":folder",
      "empty:folder",
      "images/pic.bin:file",
      "images:folder",
      "nested/deeper/leaf.txt:file",
      "nested/deeper:folder",
      "nested:folder",
      "top.txt:file",
    ]);
    const meta = Object.fromEntries(manifest.entries.map((e) => [e.path, e.meta]));
    assert.deepEqual(meta["top.txt"], { contentType: "text/plain", extra: { title: "Top" } });
    assert.deepEqual(meta["images/pic.bin"], { contentType: "application/octet-stream", annotations: { dc: { creator: "me" } } });
    assert.deepEqual(meta[""], { extra: { title: "Imported" } });
    // A file without a metadata file gets the type `zsync add` would give it, and its metadata file once attached.
    assert.deepEqual(meta["nested/deeper/leaf.txt"], { contentType: "text/plain" });
    assert.deepEqual(files.get("images/pic.bin"), PIC);
    assert.equal(files.get("top.txt")?.toString(), "top\n");
    for (const body of files.values()) assert.ok(!body.toString("latin1").includes(SECRET), "a symlink target reached the server");
    const log = await client.log("demo/tree", { limit: 1 });
    assert.equal(log[0].note, "import a tree");

    // DIR is now a checkout of the new object, clean, its files untouched.
    const config = JSON.parse(await readFile(join(tree, ".zsync/config.json"), "utf8"));
    assert.equal(config.path, "demo/tree");
    assert.equal(JSON.stringify(config).includes("zsync:zsync"), false);
    const status = await ok(["status"], tree);
    assert.equal(status.stdout, "");
    const verbose = await zsyncJson<{ revision: number; items: { path: string; status: string; meta: string }[] }>(["status", "-v"], { cwd: tree });
    assert.equal(verbose.json.revision, json.revision);
    assert.deepEqual(verbose.json.items.filter((i) => i.status !== "=" || i.meta !== "unchanged"), []);
    assert.deepEqual(verbose.json.items.map((i) => i.path).sort(), ["", "empty", "images", "images/pic.bin", "nested", "nested/deeper", "nested/deeper/leaf.txt", "top.txt"]);
    assert.equal(await readFile(join(tree, "@@meta/top.txt.json"), "utf8"), '{"extra": {"title": "Top"}, "contentType": "text/plain"}', "user files are not rewritten");
    assert.deepEqual(JSON.parse(await readFile(join(tree, "nested/deeper/@@meta/leaf.txt.json"), "utf8")), { contentType: "text/plain" });
    assert.equal(await readFile(join(dir, "outside/secret.txt"), "utf8"), SECRET);

    // Importing onto the existing name fails with exit 1 and changes nothing on the server.
    const before = await head();
    await mkdir(join(dir, "other"));
    await writeFile(join(dir, "other/different.txt"), "different\n");
    const again = await zsync(["import", `${url}/tree`, "other", "-m", "again"], { cwd: dir });
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /already exists/);
    assert.equal(await head(), before);
    const after = await snapshotOf("demo/tree");
    assert.equal(after.manifest.entries.length, manifest.entries.length);
    assert.equal(after.files.has("different.txt"), false);
    await assert.rejects(stat(join(dir, "other/.zsync")));
  });

  test("refuses a missing DIR and a reserved name (exit 1, nothing sent)", async () => {
    const before = await head();
    const missing = await zsync(["import", `${url}/nothing`, "does-not-exist"], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
    await mkdir(join(dir, "ok"), { recursive: true });
    await writeFile(join(dir, "ok/a.txt"), "a\n");
    const reserved = await zsync(["checkin", `${url}/@@evil`, "ok"], { cwd: dir });
    assert.equal(reserved.code, 1);
    assert.match(reserved.stderr, /reserved/);
    await mkdir(join(dir, "bad-meta/@@meta"), { recursive: true });
    await writeFile(join(dir, "bad-meta/a.txt"), "a\n");
    await writeFile(join(dir, "bad-meta/@@meta/a.txt.json"), '{"colour": "red"}');
    const badMeta = await zsync(["import", `${url}/bad-meta`, "bad-meta"], { cwd: dir });
    assert.equal(badMeta.code, 1);
    assert.match(badMeta.stderr, /@@meta\/a\.txt\.json/);
    assert.equal(await head(), before);
    await assert.rejects(client.log("demo/bad-meta"));
  });

  test("--no-attach leaves DIR alone; a DIR that is a checkout already stays what it is", async () => {
    await mkdir(join(dir, "loose/sub"), { recursive: true });
    await writeFile(join(dir, "loose/sub/f.txt"), "f\n");
    const loose = await zsyncJson<{ attached: boolean }>(["import", `${url}/loose`, "loose", "--no-attach"], { cwd: dir });
    assert.equal(loose.code, 0);
    assert.equal(loose.json.attached, false);
    await assert.rejects(stat(join(dir, "loose/.zsync")));
    assert.equal((await snapshotOf("demo/loose")).files.get("sub/f.txt")?.toString(), "f\n");

    await ok(["checkout", url, "co", "-q"], dir);
    const copy = await zsyncJson<{ attached: boolean; notAttached: string; imported: { path: string }[] }>(["import", `${url}/copy`, "co"], { cwd: dir });
    assert.equal(copy.code, 0);
    assert.equal(copy.json.attached, false);
    assert.match(copy.json.notAttached, /already is a checkout/);
    assert.equal(copy.json.imported.some((i) => i.path.startsWith(".zsync")), false);
    const { files } = await snapshotOf("demo/copy");
    for (const path of ["README.txt", "docs/guide.md", "docs/notes.txt", "images/logo.png", "index.html", "tree/top.txt"]) assert.ok(files.has(path), path);
    assert.equal([...files.keys()].some((p) => p.includes(".zsync")), false);
    assert.equal(JSON.parse(await readFile(join(dir, "co/.zsync/config.json"), "utf8")).path, "demo");
  });
});
