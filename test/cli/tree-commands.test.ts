/**
 * add, mkdir, remove, revert, copy, cleanup, info end to end: the built `zsync` binary against a
 * real zsync-server, status letters (`zsync status --json`) before and after every command, the
 * `--json` shapes of docs/CLI.md, and refusals that leave every byte where it was.
 *
 * Tests that commit work on their own server folder (a copy of the demo's shape), so they never
 * change what the other tests check out.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ObjectMeta } from "../../src/protocol/types.js";
import { decodeIndex } from "../../src/wc/index-file.js";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { checkoutFresh, readTree, Remote, sha256, statusOf, type Content } from "../helpers/scenario.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

const LOGO = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 255, 254, 1, 2]);
const TREE: Record<string, Content | null> = {
  "README.txt": "Read me.\n",
  "index.html": "<h1>Welcome</h1>\n",
  docs: null,
  "docs/guide.md": "# Guide\n\nline 1\nline 2\nline 3\n",
  "docs/notes.txt": "notes\n",
  images: null,
  "images/logo.png": LOGO,
};
const META: Record<string, ObjectMeta> = {
  "index.html": { contentType: "text/html", extra: { title: "Welcome" } },
  docs: { extra: { title: "Documentation" } },
  "docs/guide.md": { contentType: "text/markdown", annotations: { dc: { creator: "zsync" } } },
  "images/logo.png": { contentType: "image/png" },
};

/** path → status letters (content + metadata, e.g. "M ", "=M") from `zsync status -v --json`. */
async function letters(dir: string): Promise<Record<string, string>> {
  const { items } = await statusOf(dir, true);
  return Object.fromEntries(items.map((i) => [i.path, i.status + (i.meta === "modified" ? "M" : " ")]));
}

/**
 * The hash of every file of the checkout, `.zsync/` included — the index as the entries it holds,
 * without the stat, metadata and listing caches, which any `zsync status` may refresh, and
 * without the index summary, which is derived from them.
 */
function everything(dir: string): Map<string, string> {
  const withoutCaches = (b: Buffer) => {
    const data = decodeIndex(b);
    const entries = [...data.entries].sort(([x], [y]) => (x < y ? -1 : 1)).map(([p, e]) => [p, { ...e, cache: undefined, metaCache: undefined, listing: undefined }]);
    return JSON.stringify({ revision: data.revision, entries });
  };
  // The index summary is a cache of the index too (a status that records caches rewrites it).
  const files = [...readTree(dir, { admin: true })].filter(([p]) => p !== ".zsync/index-summary");
  return new Map(files.map(([p, b]) => [p, sha256(p === ".zsync/index" ? withoutCaches(b) : b)]));
}

async function ok(args: string[], cwd: string) {
  const result = await zsync(args, { cwd });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

async function okJson<T = any>(args: string[], cwd: string): Promise<T> {
  const result = await zsyncJson<T>(args, { cwd });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} --json failed (${result.code}):\n${result.stderr}`);
  return result.json;
}

describe("tree commands against a real server", () => {
  let server: TestServer;
  let remote: Remote;
  let work: string;
  let folders = 0;

  /** A new server folder shaped like the demo, checked out into a fresh directory. */
  async function fresh(): Promise<{ wc: string; folder: string }> {
    const folder = `tree${++folders}`;
    await remote.createFolder(folder, TREE, META);
    return { wc: await checkoutFresh(remote.url(folder)), folder };
  }

  before(async () => {
    server = await startServer();
    remote = new Remote(server);
    work = await tempDir();
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("add: ? → A with parents, recursion, guessed and given content types; --json shape; commit sends them", async () => {
    const { wc, folder } = await fresh();
    await mkdir(join(wc, "news/2024"), { recursive: true });
    await writeFile(join(wc, "news/2024/jan.html"), "<p>January</p>\n");
    await writeFile(join(wc, "news/2024/feb.html"), "<p>February</p>\n");
    await writeFile(join(wc, "news/2024/feb.html~"), "editor backup\n");
    await writeFile(join(wc, "docs/extra.txt"), "extra\n");
    await writeFile(join(wc, "docs/data.thing"), "custom\n");
    const before = await letters(wc);
    assert.equal(before["news"], "? ");
    assert.equal(before["docs/extra.txt"], "? ");
    assert.equal(before["docs/data.thing"], "? ");

    const text = await ok(["add", "news/2024/jan.html", "docs/extra.txt"], wc);
    assert.equal(text.stdout, "A  news/  (parent folder, added too)\nA  news/2024/  (parent folder, added too)\nA  news/2024/jan.html\nA  docs/extra.txt\n");

    const json = await okJson(["add", "docs/data.thing", "--type", "application/x-thing"], wc);
    assert.deepEqual(Object.keys(json).sort(), ["added", "savedAside", "skipped"]);
    assert.deepEqual(json.added, [
      { path: "docs/data.thing", displayPath: "docs/data.thing", kind: "file", contentType: "application/x-thing", metaFile: "docs/@@meta/data.thing.json", parent: false },
    ]);
    assert.deepEqual(json.skipped, []);
    assert.deepEqual(JSON.parse(readFileSync(join(wc, "docs/@@meta/data.thing.json"), "utf8")), { contentType: "application/x-thing" });

    // Naming the (already added) folder picks up what is new inside it; ignored files stay out.
    const more = await okJson(["add", "news"], wc);
    assert.deepEqual(more.added, [
      { path: "news/2024/feb.html", displayPath: "news/2024/feb.html", kind: "file", contentType: "text/html", metaFile: "news/2024/@@meta/feb.html.json", parent: false },
    ]);

    const afterAdd = await letters(wc);
    for (const p of ["news", "news/2024", "news/2024/jan.html", "news/2024/feb.html", "docs/extra.txt", "docs/data.thing"]) assert.equal(afterAdd[p], "A ", p);
    assert.equal(afterAdd["news/2024/feb.html~"], undefined, "ignored");

    const again = await zsyncJson(["add", "README.txt"], { cwd: wc });
    assert.equal(again.code, 0, "already versioned is a warning, not an error");
    assert.deepEqual(again.json.skipped.map((s: { reason: string }) => s.reason), ["versioned"]);
    assert.match(again.stderr, /'README.txt' is already under version control/);

    await ok(["commit", "-m", "add news"], wc);
    const entries = await remote.entries(folder);
    assert.equal(entries.get("news/2024/jan.html")?.meta?.contentType, "text/html");
    assert.equal(entries.get("docs/data.thing")?.meta?.contentType, "application/x-thing");
    assert.equal(entries.get("docs/extra.txt")?.meta?.contentType, "text/plain");
    const afterCommit = await letters(wc);
    for (const p of ["news", "news/2024/jan.html", "docs/data.thing"]) assert.equal(afterCommit[p], "= ", p);
  });

  test("mkdir: creates and schedules; an unversioned parent is exit 1 with nothing changed", async () => {
    const { wc } = await fresh();
    const json = await okJson(["mkdir", "a", "a/b", "docs/c"], wc);
    assert.deepEqual(json, {
      created: [
        { path: "a", displayPath: "a", kind: "folder" },
        { path: "a/b", displayPath: "a/b", kind: "folder" },
        { path: "docs/c", displayPath: "docs/c", kind: "folder" },
      ],
      savedAside: [],
    });
    const after = await letters(wc);
    for (const p of ["a", "a/b", "docs/c"]) assert.equal(after[p], "A ", p);

    await mkdir(join(wc, "loose"));
    const bytes = everything(wc);
    const statusBefore = await letters(wc);
    const refused = await zsync(["mkdir", "x", "loose/y"], { cwd: wc });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /parent 'loose' is not under version control/);
    assert.equal(existsSync(join(wc, "x")), false, "the valid first path was not created either");
    assert.deepEqual(everything(wc), bytes);
    assert.deepEqual(await letters(wc), statusBefore);
    assert.equal((await ok(["mkdir", "e"], wc)).stdout, "A  e/\n");
  });

  test("remove: schedules and deletes files, folders and metadata files; --json shape; commit deletes on the server", async () => {
    const { wc, folder } = await fresh();
    assert.equal((await letters(wc))["index.html"], "= ");
    const text = await ok(["rm", "index.html"], wc);
    assert.equal(text.stdout, "R  index.html\n");
    assert.equal(existsSync(join(wc, "index.html")), false);
    assert.equal(existsSync(join(wc, "@@meta/index.html.json")), false);

    const json = await okJson(["remove", "docs"], wc);
    assert.deepEqual(Object.keys(json).sort(), ["deletedUnversioned", "kept", "removed", "savedAside", "skipped"]);
    assert.deepEqual(json.removed, [
      { path: "docs", displayPath: "docs", kind: "folder", action: "scheduled", deleted: true },
      { path: "docs/guide.md", displayPath: "docs/guide.md", kind: "file", action: "scheduled", deleted: true },
      { path: "docs/notes.txt", displayPath: "docs/notes.txt", kind: "file", action: "scheduled", deleted: true },
    ]);
    assert.equal(existsSync(join(wc, "docs")), false);
    assert.equal(existsSync(join(wc, "@@meta/docs.json")), false);

    // The alias `del`, run from a subfolder: paths are shown relative to it.
    const del = await ok(["del", "logo.png"], join(wc, "images"));
    assert.equal(del.stdout, "R  logo.png\n");
    const after = await letters(wc);
    for (const p of ["index.html", "docs", "docs/guide.md", "docs/notes.txt", "images/logo.png"]) assert.equal(after[p], "R ", p);

    await ok(["commit", "-m", "remove things"], wc);
    const entries = await remote.entries(folder);
    for (const p of ["index.html", "docs", "docs/guide.md", "images/logo.png"]) assert.equal(entries.has(p), false, p);
    assert.equal(entries.has("README.txt"), true);
  });

  test("remove refuses modified, unversioned and metadata-modified content: exit 1, nothing changed; --force removes", async () => {
    const { wc } = await fresh();
    await writeFile(join(wc, "docs/guide.md"), "my precious edit\n");
    await writeFile(join(wc, "docs/scratch.txt"), "unversioned notes\n");
    await writeFile(join(wc, "@@meta/index.html.json"), JSON.stringify({ contentType: "text/html", extra: { title: "Mine" } }));
    await writeFile(join(wc, "loose.txt"), "not versioned\n");
    const bytes = everything(wc);
    const statusBefore = await letters(wc);
    assert.equal(statusBefore["docs/guide.md"], "M ");

    for (const args of [["rm", "docs"], ["rm", "README.txt", "docs/guide.md"], ["rm", "index.html"], ["rm", "loose.txt"], ["rm", "README.txt", "loose.txt"]]) {
      const refused = await zsync(args, { cwd: wc });
      assert.equal(refused.code, 1, `${args.join(" ")}: ${refused.stderr}`);
      assert.match(refused.stderr, /nothing removed/);
      assert.match(refused.stderr, /--force/);
      assert.deepEqual(everything(wc), bytes, `${args.join(" ")} changed nothing`);
      assert.deepEqual(await letters(wc), statusBefore);
    }

    const refusedJson = await zsyncJson(["rm", "docs", "index.html", "loose.txt"], { cwd: wc });
    assert.equal(refusedJson.code, 1);
    assert.equal(refusedJson.json.error.code, "local-modifications");
    assert.deepEqual(refusedJson.json.error.offenders, [
      { path: "docs/guide.md", displayPath: "docs/guide.md", status: "M " },
      { path: "docs/scratch.txt", displayPath: "docs/scratch.txt", status: "? " },
      { path: "index.html", displayPath: "index.html", status: " M" },
      { path: "loose.txt", displayPath: "loose.txt", status: "?" },
    ]);
    assert.deepEqual(everything(wc), bytes);

    const forced = await okJson(["rm", "docs", "loose.txt", "--force"], wc);
    assert.deepEqual(forced.removed.map((r: { path: string }) => r.path), ["docs", "docs/guide.md", "docs/notes.txt"]);
    assert.deepEqual(forced.deletedUnversioned, ["loose.txt"]);
    assert.equal(existsSync(join(wc, "docs")), false);
    assert.equal(existsSync(join(wc, "loose.txt")), false);
    assert.equal((await letters(wc))["docs/guide.md"], "R ");
  });

  test("remove --keep-local keeps the file (and an added file just becomes unversioned)", async () => {
    const { wc } = await fresh();
    await writeFile(join(wc, "README.txt"), "edited, and kept\n");
    await writeFile(join(wc, "new.txt"), "new\n");
    await ok(["add", "new.txt"], wc);
    const json = await okJson(["rm", "--keep-local", "README.txt", "new.txt"], wc);
    assert.deepEqual(json.removed, [
      { path: "README.txt", displayPath: "README.txt", kind: "file", action: "scheduled", deleted: false },
      { path: "new.txt", displayPath: "new.txt", kind: "file", action: "forgotten", deleted: false },
    ]);
    assert.equal(readFileSync(join(wc, "README.txt"), "utf8"), "edited, and kept\n");
    assert.equal(readFileSync(join(wc, "new.txt"), "utf8"), "new\n");
    const after = await letters(wc);
    assert.equal(after["README.txt"], "R ");
    assert.equal(after["new.txt"], "? ");
  });

  test("revert: modified → BASE with FILE.orig byte for byte; removed → back from BASE; added → ?", async () => {
    const { wc } = await fresh();
    const mine = Buffer.concat([Buffer.from("my version\r\n"), Buffer.from([0, 1, 2, 200, 255])]);
    await writeFile(join(wc, "images/logo.png"), mine);
    await ok(["rm", "docs/notes.txt", "index.html"], wc);
    await writeFile(join(wc, "added.txt"), "added\n");
    await ok(["add", "added.txt"], wc);
    const before = await letters(wc);
    assert.deepEqual([before["images/logo.png"], before["docs/notes.txt"], before["index.html"], before["added.txt"]], ["M ", "R ", "R ", "A "]);

    const text = await ok(["revert", "images/logo.png"], wc);
    assert.equal(text.stdout, "Reverted 'images/logo.png' (your version saved as images/logo.png.orig)\n");
    assert.deepEqual(readFileSync(join(wc, "images/logo.png.orig")), mine);
    assert.deepEqual(readFileSync(join(wc, "images/logo.png")), LOGO);

    const json = await okJson(["revert", "docs/notes.txt", "index.html", "added.txt", "README.txt"], wc);
    assert.deepEqual(Object.keys(json).sort(), ["reverted", "savedAside", "skipped"]);
    assert.deepEqual(json.reverted, [
      { path: "added.txt", displayPath: "added.txt", kind: "file", previous: "A", unscheduled: "added", content: false, meta: false, savedAs: null, metaSavedAs: null, conflictCleared: false, removedArtifacts: [] },
      { path: "docs/notes.txt", displayPath: "docs/notes.txt", kind: "file", previous: "R", unscheduled: "removed", content: true, meta: false, savedAs: null, metaSavedAs: null, conflictCleared: false, removedArtifacts: [] },
      { path: "index.html", displayPath: "index.html", kind: "file", previous: "R", unscheduled: "removed", content: true, meta: true, savedAs: null, metaSavedAs: null, conflictCleared: false, removedArtifacts: [] },
    ], "the unchanged README.txt is not reported");
    assert.equal(readFileSync(join(wc, "docs/notes.txt"), "utf8"), TREE["docs/notes.txt"]);
    assert.equal(readFileSync(join(wc, "index.html"), "utf8"), TREE["index.html"]);
    assert.deepEqual(JSON.parse(readFileSync(join(wc, "@@meta/index.html.json"), "utf8")), META["index.html"]);
    assert.equal(readFileSync(join(wc, "added.txt"), "utf8"), "added\n", "the added file stays on disk");

    const after = await letters(wc);
    assert.deepEqual(
      [after["images/logo.png"], after["images/logo.png.orig"], after["docs/notes.txt"], after["index.html"], after["added.txt"]],
      ["= ", "? ", "= ", "= ", "? "],
    );
    assert.equal((await ok(["revert", "README.txt"], wc)).stdout, "", "reverting an unchanged file prints nothing");
  });

  test("revert clears a real conflict (from update) and its artifacts, keeping the conflicted file as .orig", async () => {
    const { wc, folder } = await fresh();
    await writeFile(join(wc, "docs/guide.md"), "# Guide\n\nline 1\nMY line 2\nline 3\n");
    await remote.change(folder, { modify: { "docs/guide.md": "# Guide\n\nline 1\nTHEIR line 2\nline 3\n" } });
    const up = await zsync(["update"], { cwd: wc });
    assert.equal(up.code, 1, `update reports the conflict: ${up.stdout}${up.stderr}`);
    const { byPath } = await statusOf(wc);
    const conflict = byPath.get("docs/guide.md")?.conflict;
    assert.ok(conflict, "docs/guide.md is in conflict");
    assert.ok(conflict.artifacts.length > 0);
    for (const a of conflict.artifacts) assert.ok(existsSync(join(wc, a)), a);
    const marked = readFileSync(join(wc, "docs/guide.md"));

    const json = await okJson(["revert", "docs/guide.md"], wc);
    assert.equal(json.reverted.length, 1);
    assert.equal(json.reverted[0].previous, "C");
    assert.equal(json.reverted[0].conflictCleared, true);
    assert.deepEqual(json.reverted[0].removedArtifacts, conflict.artifacts);
    assert.equal(json.reverted[0].savedAs, "docs/guide.md.orig");
    for (const a of conflict.artifacts) assert.equal(existsSync(join(wc, a)), false, a);
    assert.deepEqual(readFileSync(join(wc, "docs/guide.md.orig")), marked);
    assert.equal(readFileSync(join(wc, "docs/guide.md"), "utf8"), "# Guide\n\nline 1\nTHEIR line 2\nline 3\n", "BASE is now the server's version");
    const after = await letters(wc);
    assert.equal(after["docs/guide.md"], "= ");
    assert.equal(after["docs/guide.md.orig"], "? ");
  });

  test("revert of a folder: alone only its own metadata, -R everything inside", async () => {
    const { wc } = await fresh();
    await writeFile(join(wc, "@@meta/docs.json"), JSON.stringify({ extra: { title: "Mine" } }));
    await writeFile(join(wc, "docs/notes.txt"), "edited\n");
    const before = await letters(wc);
    assert.deepEqual([before["docs"], before["docs/notes.txt"]], ["=M", "M "]);
    const alone = await ok(["revert", "docs"], wc);
    assert.equal(alone.stdout, "Reverted 'docs/' (your metadata saved as @@meta/docs.json.orig)\n");
    const mid = await letters(wc);
    assert.deepEqual([mid["docs"], mid["docs/notes.txt"]], ["= ", "M "]);
    const all = await ok(["revert", "-R", "docs"], wc);
    assert.equal(all.stdout, "Reverted 'docs/notes.txt' (your version saved as docs/notes.txt.orig)\n");
    assert.equal((await letters(wc))["docs/notes.txt"], "= ");
  });

  test("copy: schedules the copy with its metadata file; --json shape; commit creates it on the server", async () => {
    const { wc, folder } = await fresh();
    const text = await ok(["cp", "index.html", "welcome.html"], wc);
    assert.equal(text.stdout, "A  welcome.html\n");
    assert.equal(readFileSync(join(wc, "welcome.html"), "utf8"), TREE["index.html"]);
    assert.deepEqual(JSON.parse(readFileSync(join(wc, "@@meta/welcome.html.json"), "utf8")), META["index.html"]);

    const json = await okJson(["copy", "docs", "manual"], wc);
    assert.deepEqual(json, {
      destination: "manual",
      copied: [
        { path: "manual", displayPath: "manual", kind: "folder", from: "docs", metaFile: "@@meta/manual.json" },
        { path: "manual/guide.md", displayPath: "manual/guide.md", kind: "file", from: "docs/guide.md", metaFile: "manual/@@meta/guide.md.json" },
        { path: "manual/notes.txt", displayPath: "manual/notes.txt", kind: "file", from: "docs/notes.txt" },
      ],
      skipped: [],
      savedAside: [],
    });
    const after = await letters(wc);
    for (const p of ["welcome.html", "manual", "manual/guide.md", "manual/notes.txt"]) assert.equal(after[p], "A ", p);
    assert.equal(after["index.html"], "= ");

    const exists = await zsync(["cp", "README.txt", "index.html"], { cwd: wc });
    assert.equal(exists.code, 1);
    assert.match(exists.stderr, /already/);

    await ok(["commit", "-m", "copies"], wc);
    const entries = await remote.entries(folder);
    assert.deepEqual(entries.get("welcome.html")?.meta, META["index.html"]);
    assert.deepEqual(entries.get("manual/guide.md")?.meta, META["docs/guide.md"]);
    assert.deepEqual(entries.get("manual")?.meta, META.docs);
  });

  test("cleanup completes an interrupted command (journal + lock of a dead process)", async () => {
    const { wc } = await fresh();
    // Simulate `zsync revert README.txt` killed after writing its journal: the journal's steps
    // reference a pristine copy of the user's edit and BASE; the lock names a dead process.
    await writeFile(join(wc, "README.txt"), "edit that was being reverted\n");
    await ok(["cp", "README.txt", "stash.txt"], wc); // puts the edit into the pristine store
    await ok(["revert", "stash.txt"], wc);
    const entries = Object.fromEntries(decodeIndex(readFileSync(join(wc, ".zsync/index"))).entries);
    const mine = sha256("edit that was being reverted\n");
    const journal = {
      command: "revert",
      steps: [
        { do: "write", path: "README.txt.orig", hash: mine, expect: "absent" },
        { do: "write", path: "README.txt", hash: entries["README.txt"].hash, expect: { hash: mine } },
      ],
      entries: { "README.txt": entries["README.txt"] },
    };
    await writeFile(join(wc, ".zsync/journal.json"), JSON.stringify(journal));
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    await writeFile(join(wc, ".zsync/lock"), JSON.stringify({ pid: dead, command: "revert", started: new Date().toISOString() }));
    await writeFile(join(wc, "docs/.guide.md.zsync-tmp-00aa11bb22cc"), "half written");

    const text = await ok(["cleanup"], wc);
    assert.match(text.stdout, /^Finished the interrupted `zsync revert`\.$/m);
    assert.match(text.stdout, /^Removed 'docs\/\.guide\.md\.zsync-tmp-00aa11bb22cc'$/m);
    assert.match(text.stdout, /Cleanup done\.\n$/);
    assert.equal(readFileSync(join(wc, "README.txt"), "utf8"), TREE["README.txt"]);
    assert.equal(readFileSync(join(wc, "README.txt.orig"), "utf8"), "edit that was being reverted\n");
    assert.equal(existsSync(join(wc, ".zsync/journal.json")), false);
    assert.equal(existsSync(join(wc, ".zsync/lock")), false);
    assert.equal(existsSync(join(wc, "docs/.guide.md.zsync-tmp-00aa11bb22cc")), false);
    assert.equal((await letters(wc))["README.txt"], "= ");

    const json = await okJson(["cleanup"], wc);
    assert.deepEqual(json, { finished: null, savedAside: [], removed: [], rebuiltIndex: null, rebuiltPack: null });
  });

  test("info: svn-like fields, --json shape, never credentials; unversioned paths are exit 1", async () => {
    const { wc, folder } = await fresh();
    const json = await okJson(["info", "docs/guide.md", "."], wc);
    assert.deepEqual(Object.keys(json).sort(), ["errors", "items"]);
    const [guide, top] = json.items;
    assert.deepEqual(Object.keys(guide).sort(), [
      "checksum", "contentType", "depth", "displayPath", "kind", "lastChangedRevision", "metaFile", "metaStatus", "name", "path",
      "repositoryRoot", "repositoryUuid", "revision", "schedule", "size", "status", "url", "workingCopyRoot",
    ]);
    assert.equal(guide.url, `${server.url}/${folder}/docs/guide.md`);
    assert.equal(guide.checksum, sha256(TREE["docs/guide.md"] as string));
    assert.equal(guide.contentType, "text/markdown");
    assert.equal(guide.kind, "file");
    assert.equal(guide.schedule, "normal");
    assert.equal(guide.status, "=");
    const wellKnown = await remote.client.info();
    assert.equal(guide.repositoryUuid, wellKnown.repository.uuid);
    assert.equal(top.url, `${server.url}/${folder}`);
    assert.equal(top.kind, "folder");
    assert.doesNotMatch(JSON.stringify(json), /zsync@|:zsync@/);

    const text = await ok(["info", "docs/guide.md"], wc);
    assert.match(text.stdout, /^Path: docs\/guide\.md$/m);
    assert.match(text.stdout, new RegExp(`^URL: ${server.url}/${folder}/docs/guide\\.md$`, "m"));
    assert.match(text.stdout, /^Node Kind: file$/m);
    assert.match(text.stdout, /^Schedule: normal$/m);
    assert.match(text.stdout, /^Checksum \(SHA-256\): [0-9a-f]{64}$/m);
    assert.match(text.stdout, /^Content Type: text\/markdown$/m);

    await writeFile(join(wc, "loose.txt"), "x");
    const missing = await zsyncJson(["info", "loose.txt"], { cwd: wc });
    assert.equal(missing.code, 1);
    assert.deepEqual(missing.json.errors.map((e: { path: string }) => e.path), ["loose.txt"]);
  });

  test("a path outside the checkout is a usage error (exit 2) for every command, and changes nothing", async () => {
    const { wc } = await fresh();
    const outside = join(work, "outside.txt");
    await writeFile(outside, "outside\n");
    await writeFile(join(wc, "new.txt"), "new\n");
    await writeFile(join(wc, "README.txt"), "modified\n");
    const bytes = everything(wc);
    const statusBefore = await letters(wc);
    for (const args of [
      ["add", "new.txt", outside],
      ["mkdir", "fresh", "../elsewhere"],
      ["rm", "index.html", outside],
      ["revert", "README.txt", outside],
      ["cp", "index.html", "../copied.html"],
      ["cp", outside, "copied.txt"],
      ["info", outside],
      ["add", ".zsync/entries.json"],
    ]) {
      const result = await zsync(args, { cwd: wc });
      assert.equal(result.code, 2, `zsync ${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, /not inside the checkout/);
      assert.deepEqual(everything(wc), bytes, `zsync ${args.join(" ")} changed nothing`);
    }
    assert.equal(existsSync(join(work, "elsewhere")), false);
    assert.equal(existsSync(join(work, "copied.html")), false);
    assert.deepEqual(await letters(wc), statusBefore);
  });
});
