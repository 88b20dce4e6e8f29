/**
 * `zsync merge SOURCE [TARGET]` end to end: the built binary against a real zsync-server, two
 * checkouts A (SOURCE) and B (TARGET). Every merge is checked to leave A byte-for-byte as it was
 * (its files and everything in .zsync/, entries.json included).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ObjectMeta } from "../../src/protocol/types.js";
import { metaFileOf } from "../../src/wc/meta-files.js";
import { dropPristine } from "../helpers/pristines.js";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { checkoutFresh, checkoutInProcess, listAll, readTree, Remote, run, statusOf, type Content } from "../helpers/scenario.js";
import { startServer, type TestServer } from "../helpers/server.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

interface MergeJson {
  source: { root: string; revision: number };
  root: string;
  dryRun: boolean;
  revision: number;
  target: number;
  conflicts: number;
  changes: { path: string; displayPath: string; kind: string; content: string | null; meta: string | null; reason?: string }[];
  savedAside: unknown[];
  skipped: string[];
  notMerged: { path: string; reason: string }[];
  fetched: string[];
  differentBase: string[];
  resolved?: { path: string; accept: string }[];
}

/** A byte-exact picture of a checkout (paths, and the hash of every file, `.zsync/` included). */
function picture(dir: string): { paths: string[]; files: Record<string, string> } {
  const files: Record<string, string> = {};
  for (const [path, bytes] of readTree(dir, { admin: true })) files[path] = sha256(bytes);
  return { paths: listAll(dir), files };
}

const letters = (changes: MergeJson["changes"]) => changes.map((c) => `${c.content ?? " "}${c.meta ?? " "} ${c.path}`);
const read = (dir: string, path: string) => (existsSync(join(dir, path)) ? readFileSync(join(dir, path), "utf8") : undefined);
const write = (dir: string, path: string, content: Content) => {
  mkdirSync(join(dir, path, ".."), { recursive: true });
  writeFileSync(join(dir, path), content);
};
const readMeta = (dir: string, path: string) => JSON.parse(read(dir, metaFileOf(path))!) as ObjectMeta;
const writeMeta = (dir: string, path: string, meta: ObjectMeta) => write(dir, metaFileOf(path), JSON.stringify(meta, null, 2) + "\n");

let server: TestServer;
let remote: Remote;
let counter = 0;
const made: string[] = [];

before(async () => {
  server = await startServer({ demo: true });
  remote = new Remote(server);
});
after(async () => {
  await server.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** Two in-process checkouts of a fresh folder on `r`. */
async function pair(tree: Record<string, Content | null>, r = remote): Promise<{ folder: string; base: number; a: string; b: string }> {
  const folder = `cm${++counter}`;
  const base = await r.createFolder(folder, tree);
  const a = await checkoutInProcess(r, folder, "zsync-cmerge-a-");
  const b = await checkoutInProcess(r, folder, "zsync-cmerge-b-");
  made.push(join(a, ".."), join(b, ".."));
  return { folder, base, a, b };
}

/** `zsync merge ARGS --json` in `cwd`, asserting that SOURCE `a` is untouched. */
async function mergeJson(a: string, cwd: string, args: string[], env?: Record<string, string | undefined>) {
  const before = picture(a);
  const result = await zsyncJson<MergeJson>(["merge", ...args], { cwd, env });
  assert.deepEqual(picture(a), before, "SOURCE must be byte-for-byte untouched");
  return result;
}

describe("zsync merge (end to end)", { concurrency: 3 }, () => {
  test("A's edits, additions with metadata, removal and metadata change land in B as local modifications; B's own edit stays; B commits them all", async () => {
    const parent = join(await checkoutFresh(remote.url("demo"), "zsync-cmerge-demo-"), "..");
    made.push(parent);
    const a = join(parent, "wc");
    const b = join(parent, "B");
    await run(["checkout", remote.url("demo"), "B", "-q"], parent);

    // A: modify, add a file with metadata and a folder with metadata and a file, remove, change metadata.
    write(a, "README.txt", read(a, "README.txt") + "A's last line\n");
    write(a, "news.txt", "fresh news\n");
    write(a, "gallery/caption.txt", "a caption\n");
    await run(["add", "news.txt", "gallery"], a);
    writeMeta(a, "news.txt", { contentType: "text/plain", extra: { title: "News" } });
    writeMeta(a, "gallery", { extra: { title: "Gallery" } });
    await run(["rm", "docs/notes.txt"], a);
    const indexMeta = readMeta(a, "index.html");
    writeMeta(a, "index.html", { ...indexMeta, extra: { ...indexMeta.extra, title: "Title by A" } });
    // B: its own edits, one in a file A changed too (apart), one elsewhere.
    write(b, "README.txt", "B's first line\n" + read(b, "README.txt"));
    write(b, "docs/guide.md", read(b, "docs/guide.md") + "B's guide line\n");

    // Revisions are repository-wide and the suite's other tests commit concurrently, so B may be
    // checked out at a later revision than A: merge must leave B's revision where it was.
    const bRevision = (await statusOf(b)).revision;
    const merged = await mergeJson(a, b, ["../wc"]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.equal(merged.json.conflicts, 0);
    assert.equal(merged.json.source.root, a);
    assert.deepEqual(letters(merged.json.changes), ["G  README.txt", "D  docs/notes.txt", "A  gallery", "A  gallery/caption.txt", " U index.html", "A  news.txt"]);
    assert.equal(merged.json.revision, bRevision);

    const st = await statusOf(b);
    const shown = Object.fromEntries(st.items.map((i) => [i.path, i.status + (i.meta === "modified" ? "M" : " ")]));
    assert.deepEqual(shown, {
      "README.txt": "M ",
      "docs/guide.md": "M ",
      "docs/notes.txt": "R ",
      gallery: "A ",
      "gallery/caption.txt": "A ",
      "index.html": "=M",
      "news.txt": "A ",
    });
    assert.match(read(b, "README.txt")!, /^B's first line\n[\s\S]*A's last line\n$/);
    assert.equal(read(b, "docs/guide.md")!.endsWith("B's guide line\n"), true);
    assert.deepEqual(readMeta(b, "news.txt"), { contentType: "text/plain", extra: { title: "News" } });
    assert.deepEqual(readMeta(b, "gallery"), { extra: { title: "Gallery" } });

    const ci = await zsync(["commit", "-m", "A's work, merged into B"], { cwd: b });
    assert.equal(ci.code, 0, ci.stdout + ci.stderr);

    // The server has all of it: a fresh checkout sees every change.
    const c = await checkoutFresh(remote.url("demo"), "zsync-cmerge-check-");
    made.push(join(c, ".."));
    assert.equal(read(c, "README.txt"), read(b, "README.txt"));
    assert.equal(read(c, "docs/guide.md"), read(b, "docs/guide.md"));
    assert.equal(read(c, "docs/notes.txt"), undefined);
    assert.equal(read(c, "news.txt"), "fresh news\n");
    assert.equal(read(c, "gallery/caption.txt"), "a caption\n");
    assert.deepEqual(readMeta(c, "news.txt"), { contentType: "text/plain", extra: { title: "News" } });
    assert.deepEqual(readMeta(c, "gallery"), { extra: { title: "Gallery" } });
    assert.equal(readMeta(c, "index.html").extra?.title, "Title by A");
  });

  test("conflicting edits: C with markers and artifacts, exit 1; --accept theirs-full and postpone", async () => {
    const p = await pair({ "f.txt": "base\n", "g.txt": "base g\n" });
    write(p.a, "f.txt", "A's line\n");
    write(p.b, "f.txt", "B's line\n");
    const plain = await zsync(["merge", p.a], { cwd: p.b });
    assert.equal(plain.code, 1, "unresolved conflicts exit 1");
    assert.match(plain.stdout, /^C  f\.txt {2}\(1 conflicting region\)$/m);
    assert.match(plain.stdout, /Conflicts: 1\./);
    assert.equal(read(p.b, "f.txt"), `<<<<<<< .mine\nB's line\n||||||| .r${p.base}\nbase\n=======\nA's line\n>>>>>>> .source\n`);
    assert.equal(read(p.b, "f.txt.mine"), "B's line\n");
    assert.equal(read(p.b, `f.txt.r${p.base}`), "base\n");
    assert.equal(read(p.b, "f.txt.source"), "A's line\n");
    const item = (await statusOf(p.b)).byPath.get("f.txt")!;
    assert.equal(item.status, "C");
    assert.deepEqual([...item.conflict!.artifacts].sort(), ["f.txt.mine", "f.txt.source", `f.txt.r${p.base}`].sort());

    // --accept: the conflicts this merge makes are resolved with that choice.
    write(p.a, "g.txt", "A's g\n");
    write(p.b, "g.txt", "B's g\n");
    const postponed = await mergeJson(p.a, p.b, [p.a, "--accept", "postpone"]);
    assert.equal(postponed.code, 1);
    assert.equal(postponed.json.conflicts, 1);
    assert.deepEqual(postponed.json.notMerged.map((n) => n.path), ["f.txt"], "f.txt is still in conflict from the first merge");
    await run(["revert", "g.txt"], p.b);
    rmSync(join(p.b, "g.txt.orig"), { force: true });
    write(p.b, "g.txt", "B's g\n");
    const accepted = await mergeJson(p.a, p.b, [p.a, "--accept", "theirs-full"]);
    assert.deepEqual(accepted.json.resolved?.map((r) => `${r.path} ${r.accept}`), ["g.txt theirs-full"]);
    assert.equal(accepted.json.conflicts, 0);
    assert.equal(read(p.b, "g.txt"), "A's g\n");
    assert.equal(existsSync(join(p.b, "g.txt.mine")), false, "artifacts are removed on resolve");
    assert.equal((await statusOf(p.b)).byPath.get("g.txt")?.status, "M");
  });

  test("a file A removed and B modified: tree conflict, B's bytes kept, exit 1", async () => {
    const p = await pair({ "f.txt": "base\n", "other.txt": "o\n" });
    await run(["rm", "f.txt"], p.a);
    write(p.b, "f.txt", "B's precious edit\n");
    const r = await mergeJson(p.a, p.b, [p.a]);
    assert.equal(r.code, 1);
    assert.deepEqual(letters(r.json.changes), ["C  f.txt"]);
    assert.match(r.json.changes[0].reason!, /removed in SOURCE/);
    assert.equal(read(p.b, "f.txt"), "B's precious edit\n");
    const item = (await statusOf(p.b)).byPath.get("f.txt")!;
    assert.equal(item.status, "C");
    assert.equal(item.conflict?.kind, "tree");
  });

  test("checkouts at different revisions (B updated after someone's commit, A not): three-way against A's BASE, then B commits", async () => {
    const p = await pair({ "f.txt": "1\n2\n3\n4\n5\n6\n" });
    write(p.a, "f.txt", "1 by A\n2\n3\n4\n5\n6\n");
    await remote.change(p.folder, { modify: { "f.txt": "1\n2\n3\n4\n5\n6 by someone\n" } });
    await run(["update", "-q"], p.b);
    const r = await mergeJson(p.a, p.b, [p.a]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(letters(r.json.changes), ["G  f.txt"]);
    assert.deepEqual(r.json.differentBase, ["f.txt"]);
    assert.ok(r.json.source.revision < r.json.revision, "A is behind B");
    assert.equal(read(p.b, "f.txt"), "1 by A\n2\n3\n4\n5\n6 by someone\n");
    await run(["commit", "-m", "A's edit via B"], p.b);
    const entries = await remote.entries(p.folder);
    const body = await remote.client.cat(`${p.folder}/f.txt`, { rev: entries.get("f.txt")!.revision });
    let text = "";
    for await (const chunk of body) text += chunk;
    assert.equal(text, "1 by A\n2\n3\n4\n5\n6 by someone\n");
  });

  test("fully offline: with the server stopped, checkouts sharing a revision merge", async () => {
    const own = await startServer({ demo: true });
    const r2 = new Remote(own);
    let stopped = false;
    try {
      const p = await pair({ "f.txt": "a\nb\nc\nd\n", "gone.txt": "g\n" }, r2);
      write(p.a, "f.txt", "a\nb\nc\nd by A\n");
      write(p.b, "f.txt", "a by B\nb\nc\nd\n");
      write(p.a, "new.txt", "new\n");
      await run(["add", "new.txt"], p.a);
      await run(["rm", "gone.txt"], p.a);
      await own.stop();
      stopped = true;
      const r = await mergeJson(p.a, p.b, [p.a], { ZSYNC_PASSWORD: undefined });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(letters(r.json.changes), ["G  f.txt", "D  gone.txt", "A  new.txt"]);
      assert.deepEqual(r.json.fetched, []);
      assert.equal(read(p.b, "f.txt"), "a by B\nb\nc\nd by A\n");
    } finally {
      if (!stopped) await own.stop();
    }
  });

  test("a BASE copy missing from A's pristine store is fetched from the server", async () => {
    const p = await pair({ "f.txt": "a\nb\nc\nd\n" });
    write(p.a, "f.txt", "a\nb\nc\nd by A\n");
    write(p.b, "f.txt", "a by B\nb\nc\nd\n");
    dropPristine(p.a, sha256("a\nb\nc\nd\n"));
    const plain = await zsync(["merge", p.a], { cwd: p.b });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^G  f\.txt$/m);
    assert.match(plain.stdout, /Fetched from the server the BASE of 1 file/);
    assert.equal(read(p.b, "f.txt"), "a by B\nb\nc\nd by A\n");
  });

  test("--dry-run prints what would happen and changes nothing in TARGET (files and .zsync byte-identical)", async () => {
    const p = await pair({ "f.txt": "base\n", "g.txt": "g\n", "gone.txt": "x\n" });
    write(p.a, "f.txt", "A\n");
    write(p.b, "f.txt", "B\n");
    write(p.a, "g.txt", "g by A\n");
    write(p.a, "new.txt", "n\n");
    await run(["add", "new.txt"], p.a);
    await run(["rm", "gone.txt"], p.a);
    const before = picture(p.b);
    const dry = await zsync(["merge", p.a, "--dry-run"], { cwd: p.b });
    assert.equal(dry.code, 1, "the conflict it would make is reported like a real one");
    assert.match(dry.stdout, /\(dry run\)/);
    for (const line of [/^C  f\.txt/m, /^U  g\.txt$/m, /^D  gone\.txt$/m, /^A  new\.txt$/m]) assert.match(dry.stdout, line);
    assert.match(dry.stdout, /Dry run: nothing was changed\./);
    const json = await mergeJson(p.a, p.b, [p.a, "--dry-run"]);
    assert.equal(json.json.dryRun, true);
    assert.deepEqual(letters(json.json.changes), ["C  f.txt", "U  g.txt", "D  gone.txt", "A  new.txt"]);
    assert.deepEqual(picture(p.b), before);
  });

  test("merging checkouts of different folders or repositories, or not naming a checkout's top: a clear error, nothing changed", async () => {
    const p = await pair({ "f.txt": "f\n" });
    const q = await pair({ "f.txt": "f\n" });
    write(q.a, "f.txt", "changed\n");
    const before = picture(p.b);
    const folders = await mergeJson(q.a, p.b, [q.a]);
    assert.equal(folders.code, 1);
    assert.equal((folders.json as unknown as { error: { code: string } }).error.code, "different-folder");
    assert.match(folders.stderr, new RegExp(`of /${q.folder}.*of /${p.folder}.*same folder`, "s"));

    const own = await startServer({ demo: true });
    try {
      const r2 = new Remote(own);
      await r2.createFolder(p.folder, { "f.txt": "f\n" });
      const foreign = await checkoutInProcess(r2, p.folder, "zsync-cmerge-foreign-");
      made.push(join(foreign, ".."));
      write(foreign, "f.txt", "foreign\n");
      const repos = await zsync(["merge", relative(p.b, foreign)], { cwd: p.b });
      assert.equal(repos.code, 1);
      assert.match(repos.stderr, /another repository/);
    } finally {
      await own.stop();
    }

    mkdirSync(join(p.a, "sub"));
    const inner = await zsync(["merge", join(p.a, "sub")], { cwd: p.b });
    assert.equal(inner.code, 2);
    assert.match(inner.stderr, /inside the checkout at .*name the checkout's top folder/);
    const none = await zsync(["merge", join(p.a, "..", "..")], { cwd: p.b });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /not inside a zsync checkout/);
    assert.deepEqual(picture(p.b), before);
  });

  test("TARGET given explicitly, run from elsewhere; `zsync help merge` documents the arguments", async () => {
    const p = await pair({ "f.txt": "f\n" });
    write(p.a, "f.txt", "by A\n");
    const r = await zsync(["merge", p.a, p.b], { cwd: join(p.b, "..", "..") });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^U  .*f\.txt$/m);
    assert.equal(read(p.b, "f.txt"), "by A\n");
    const help = await zsync(["merge", "--help"], { cwd: p.b });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /zsync merge <source> \[target\]/);
    assert.match(help.stdout, /--dry-run/);
    assert.match(help.stdout, /--accept/);
  });
});
