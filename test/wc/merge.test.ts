/**
 * The merge between checkouts (src/wc/merge.ts), in-process: two checkouts A (SOURCE) and B
 * (TARGET) of a fresh server folder per test, local edits on both, then `merge`. Every case
 * checks B's files and status letters afterwards, and that A was not touched at all.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ObjectMeta } from "../../src/protocol/types.js";
import { createZsyncClient } from "../../src/transport/http/client.js";
import { add } from "../../src/wc/add.js";
import { WcError, adminPaths } from "../../src/wc/admin.js";
import { loadEntries } from "../../src/wc/entries.js";
import { formatMeta, metaFileOf } from "../../src/wc/meta-files.js";
import { merge, openSource, type MergeOptions, type MergeResult } from "../../src/wc/merge.js";
import { hasPristine } from "../../src/wc/pristine.js";
import { dropPristine, storedCopies } from "../helpers/pristines.js";
import { remove } from "../../src/wc/remove.js";
import { withWorkingCopy } from "../../src/wc/session.js";
import { status } from "../../src/wc/status.js";
import { update } from "../../src/wc/update.js";
import { checkoutInProcess, listAll, readTree, Remote, type Content } from "../helpers/scenario.js";
import { startServer, type TestServer } from "../helpers/server.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

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

/** A byte-exact picture of a checkout: every path (folders too) and every file's bytes, `.zsync/` included. */
function picture(dir: string): { paths: string[]; files: Record<string, string> } {
  const files: Record<string, string> = {};
  for (const [path, bytes] of readTree(dir, { admin: true })) files[path] = sha256(bytes);
  return { paths: listAll(dir), files };
}

interface Pair {
  folder: string;
  base: number;
  a: string;
  b: string;
  write(dir: string, path: string, content: Content): void;
  read(dir: string, path: string): string | undefined;
  meta(dir: string, path: string): ObjectMeta | undefined;
  setMeta(dir: string, path: string, meta: ObjectMeta): void;
  add(dir: string, paths: string[]): Promise<void>;
  rm(dir: string, paths: string[]): Promise<void>;
  /** Merges A into B, asserting that A is byte-for-byte untouched. */
  merge(opts?: MergeOptions): Promise<MergeResult>;
  /** B's status letters (content + metadata column) of changed paths. */
  letters(dir?: string): Promise<Record<string, string>>;
}

async function pair(tree: Record<string, Content | null>, meta: Record<string, ObjectMeta> = {}): Promise<Pair> {
  const folder = `m${++counter}`;
  const base = await remote.createFolder(folder, tree, meta);
  const a = await checkoutInProcess(remote, folder, "zsync-merge-a-");
  const b = await checkoutInProcess(remote, folder, "zsync-merge-b-");
  made.push(join(a, ".."), join(b, ".."));
  const p: Pair = {
    folder,
    base,
    a,
    b,
    write(dir, path, content) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), content);
    },
    read(dir, path) {
      const file = join(dir, path);
      return existsSync(file) ? readFileSync(file, "utf8") : undefined;
    },
    meta(dir, path) {
      const text = p.read(dir, metaFileOf(path));
      return text === undefined ? undefined : (JSON.parse(text) as ObjectMeta);
    },
    setMeta(dir, path, value) {
      p.write(dir, metaFileOf(path), formatMeta(value));
    },
    async add(dir, paths) {
      await withWorkingCopy(dir, { lock: "add" }, (wc) => add(wc, { paths }));
    },
    async rm(dir, paths) {
      await withWorkingCopy(dir, { lock: "remove" }, (wc) => remove(wc, { paths }));
    },
    async merge(opts = {}) {
      const before = picture(a);
      const source = await openSource(a);
      const result = await withWorkingCopy(b, { lock: opts.dryRun ? undefined : "merge" }, (wc) =>
        merge(wc, source, { connect: async () => remote.client, ...opts }),
      );
      assert.deepEqual(picture(a), before, "SOURCE must not change at all");
      return result;
    },
    async letters(dir = b) {
      const report = await withWorkingCopy(dir, {}, (wc) => status(wc));
      return Object.fromEntries(report.items.map((i) => [i.path, i.content + i.meta]));
    },
  };
  return p;
}

/** The report lines as `CM path` strings. */
const reported = (r: MergeResult) => r.lines.map((l) => `${l.content}${l.meta} ${l.path}`);

describe("merge between checkouts (in-process)", { concurrency: 4 }, () => {
  test("a file modified in SOURCE and untouched in TARGET is taken as is (U); TARGET's BASE stays", async () => {
    const p = await pair({ "f.txt": "one\ntwo\n" });
    p.write(p.a, "f.txt", "one\ntwo\nthree\n");
    const r = await p.merge();
    assert.deepEqual(reported(r), ["U  f.txt"]);
    assert.equal(r.conflicts, 0);
    assert.equal(p.read(p.b, "f.txt"), "one\ntwo\nthree\n");
    assert.deepEqual(await p.letters(), { "f.txt": "M " }, "a local modification of TARGET, not a new BASE");
    const entry = (await loadEntries(p.b)).entries.get("f.txt")!;
    assert.equal(entry.hash, sha256("one\ntwo\n"));
  });

  test("edits apart in both checkouts merge cleanly (G); TARGET's edit is kept", async () => {
    const p = await pair({ "f.txt": "a\nb\nc\nd\ne\n" });
    p.write(p.a, "f.txt", "a\nb\nc\nd\nE from A\n");
    p.write(p.b, "f.txt", "A from B\nb\nc\nd\ne\n");
    const r = await p.merge();
    assert.deepEqual(reported(r), ["G  f.txt"]);
    assert.equal(p.read(p.b, "f.txt"), "A from B\nb\nc\nd\nE from A\n");
    assert.deepEqual(await p.letters(), { "f.txt": "M " });
  });

  test("TARGET already holding SOURCE's change reports nothing and writes nothing", async () => {
    const p = await pair({ "f.txt": "a\n", "g.txt": "a\nb\nc\n" });
    p.write(p.a, "f.txt", "same\n");
    p.write(p.b, "f.txt", "same\n");
    // A clean merge whose result is TARGET's file as it is (the same line added on both sides).
    p.write(p.a, "g.txt", "a\nb\nc\nd\n");
    p.write(p.b, "g.txt", "z\na\nb\nc\nd\n");
    const entriesBefore = readFileSync(adminPaths(p.b).index, "utf8");
    const r = await p.merge();
    assert.deepEqual(reported(r), []);
    assert.equal(readFileSync(adminPaths(p.b).index, "utf8"), entriesBefore);
  });

  test("overlapping edits conflict: markers with SOURCE's BASE, artifacts .mine/.rN/.source, a recorded conflict", async () => {
    const p = await pair({ "f.txt": "base\n" });
    p.write(p.a, "f.txt", "theirs\n");
    p.write(p.b, "f.txt", "mine\n");
    const r = await p.merge();
    assert.deepEqual(reported(r), ["C  f.txt"]);
    assert.equal(r.conflicts, 1);
    assert.equal(p.read(p.b, "f.txt"), `<<<<<<< .mine\nmine\n||||||| .r${p.base}\nbase\n=======\ntheirs\n>>>>>>> .source\n`);
    assert.equal(p.read(p.b, "f.txt.mine"), "mine\n");
    assert.equal(p.read(p.b, `f.txt.r${p.base}`), "base\n");
    assert.equal(p.read(p.b, "f.txt.source"), "theirs\n");
    const conflict = (await loadEntries(p.b)).entries.get("f.txt")!.conflict!;
    assert.equal(conflict.kind, "text");
    assert.deepEqual([...conflict.artifacts].sort(), ["f.txt.mine", "f.txt.source", `f.txt.r${p.base}`].sort());
    assert.deepEqual(conflict.versions, { base: sha256("base\n"), mine: sha256("mine\n"), theirs: sha256("theirs\n") });
    assert.deepEqual(conflict.labels, { base: `.r${p.base}`, theirs: ".source" });
    for (const hash of Object.values(conflict.versions!)) assert.ok(await hasPristine(p.b, hash!), "every version is in TARGET's pristine store");
    assert.equal((await p.letters())["f.txt"], "C ");
  });

  test("binary files are never merged: TARGET's file stays, SOURCE's BASE and version go beside it", async () => {
    const png = (tag: string) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0xff]), Buffer.from(tag)]);
    const p = await pair({ "logo.png": png("base") }, { "logo.png": { contentType: "image/png" } });
    p.write(p.a, "logo.png", png("theirs"));
    p.write(p.b, "logo.png", png("mine"));
    const r = await p.merge();
    assert.deepEqual(reported(r), ["C  logo.png"]);
    assert.deepEqual(readFileSync(join(p.b, "logo.png")), png("mine"));
    assert.deepEqual(readFileSync(join(p.b, `logo.png.r${p.base}`)), png("base"));
    assert.deepEqual(readFileSync(join(p.b, "logo.png.source")), png("theirs"));
    assert.equal((await loadEntries(p.b)).entries.get("logo.png")!.conflict!.kind, "binary");
  });

  test("additions: a file with metadata and a folder with a file are copied and scheduled for addition", async () => {
    const p = await pair({ "f.txt": "f\n" });
    p.write(p.a, "new.txt", "new\n");
    p.write(p.a, "dir/inner.md", "# inner\n");
    await p.add(p.a, ["new.txt", "dir"]);
    p.setMeta(p.a, "new.txt", { contentType: "text/plain", extra: { title: "New" } });
    p.setMeta(p.a, "dir", { extra: { title: "A folder" } });
    const r = await p.merge();
    assert.deepEqual(reported(r), ["A  dir", "A  dir/inner.md", "A  new.txt"]);
    assert.equal(p.read(p.b, "new.txt"), "new\n");
    assert.equal(p.read(p.b, "dir/inner.md"), "# inner\n");
    assert.deepEqual(p.meta(p.b, "new.txt"), { contentType: "text/plain", extra: { title: "New" } });
    assert.deepEqual(p.meta(p.b, "dir"), { extra: { title: "A folder" } });
    // A Markdown file is a note: add gives it its title (issue 16).
    assert.deepEqual(p.meta(p.b, "dir/inner.md"), { contentType: "text/markdown", extra: { title: "inner" } });
    assert.deepEqual(await p.letters(), { dir: "A ", "dir/inner.md": "A ", "new.txt": "A " });
  });

  test("additions already in TARGET: same bytes → adopted or nothing; different bytes → two-way conflict", async () => {
    const p = await pair({ "f.txt": "f\n" });
    p.write(p.a, "same.txt", "same\n");
    p.write(p.a, "both.txt", "from A\n");
    p.write(p.a, "loose.txt", "from A\n");
    await p.add(p.a, ["same.txt", "both.txt", "loose.txt"]);
    p.write(p.b, "same.txt", "same\n"); // unversioned in TARGET, same bytes
    p.write(p.b, "both.txt", "from B\n");
    await p.add(p.b, ["both.txt"]); // added in TARGET too, other bytes
    p.write(p.b, "loose.txt", "loose B\n"); // unversioned in TARGET, other bytes
    const r = await p.merge();
    assert.deepEqual(reported(r), ["C  both.txt", "C  loose.txt", "A  same.txt"]);
    assert.equal(p.read(p.b, "both.txt"), "<<<<<<< .mine\nfrom B\n||||||| .base\n=======\nfrom A\n>>>>>>> .source\n");
    assert.equal(p.read(p.b, "both.txt.mine"), "from B\n");
    assert.equal(p.read(p.b, "both.txt.source"), "from A\n");
    assert.equal(p.read(p.b, "loose.txt.mine"), "loose B\n");
    const letters = await p.letters();
    assert.equal(letters["same.txt"], "A ");
    assert.equal(letters["both.txt"], "C ");
    assert.equal(letters["loose.txt"], "C ");
  });

  test("a removal in SOURCE is scheduled in TARGET when TARGET's file is SOURCE's BASE (D), file and metadata file deleted", async () => {
    const p = await pair({ "gone.txt": "bye\n", "keep.txt": "k\n" }, { "gone.txt": { contentType: "text/plain" } });
    await p.rm(p.a, ["gone.txt"]);
    const r = await p.merge();
    assert.deepEqual(reported(r), ["D  gone.txt"]);
    assert.equal(p.read(p.b, "gone.txt"), undefined);
    assert.equal(p.read(p.b, metaFileOf("gone.txt")), undefined);
    assert.deepEqual(await p.letters(), { "gone.txt": "R " });
  });

  test("a removal of a file TARGET edited (content or metadata) is a tree conflict that keeps TARGET's bytes", async () => {
    const p = await pair({ "edited.txt": "base\n", "meta.txt": "m\n" }, { "meta.txt": { contentType: "text/plain" } });
    await p.rm(p.a, ["edited.txt", "meta.txt"]);
    p.write(p.b, "edited.txt", "B's precious edit\n");
    p.setMeta(p.b, "meta.txt", { contentType: "text/plain", extra: { title: "B's title" } });
    const r = await p.merge();
    assert.deepEqual(reported(r), ["C  edited.txt", "C  meta.txt"]);
    assert.equal(p.read(p.b, "edited.txt"), "B's precious edit\n");
    assert.equal(p.read(p.b, "meta.txt"), "m\n");
    assert.deepEqual(p.meta(p.b, "meta.txt"), { contentType: "text/plain", extra: { title: "B's title" } });
    const entries = (await loadEntries(p.b)).entries;
    assert.equal(entries.get("edited.txt")!.conflict!.kind, "tree");
    assert.match(entries.get("edited.txt")!.conflict!.reason!, /removed in SOURCE/);
    assert.equal(entries.get("edited.txt")!.schedule, undefined, "not scheduled for removal");
    assert.deepEqual(await p.letters(), { "edited.txt": "C ", "meta.txt": "CM" });
  });

  test("a removed folder goes when TARGET holds nothing else there; otherwise a tree conflict keeps it all", async () => {
    const p = await pair(
      { clean: null, "clean/a.txt": "a\n", "clean/sub": null, "clean/sub/c.txt": "c\n", busy: null, "busy/b.txt": "b\n" },
      { clean: { extra: { title: "Clean" } }, "clean/a.txt": { contentType: "text/plain" }, "clean/sub": { extra: { title: "Sub" } } },
    );
    await p.rm(p.a, ["clean", "busy"]);
    p.write(p.b, "busy/notes-of-b.txt", "unversioned, only in B\n");
    const r = await p.merge();
    assert.deepEqual(reported(r), ["C  busy", "D  clean"]);
    assert.equal(existsSync(join(p.b, "clean")), false);
    assert.equal(p.read(p.b, metaFileOf("clean")), undefined);
    assert.equal(p.read(p.b, "busy/b.txt"), "b\n");
    assert.equal(p.read(p.b, "busy/notes-of-b.txt"), "unversioned, only in B\n");
    assert.match(r.lines.find((l) => l.path === "busy")!.reason!, /busy\/notes-of-b\.txt/);
    const letters = await p.letters();
    assert.equal(letters["clean"], "R ");
    assert.equal(letters["clean/a.txt"], "R ");
    assert.equal(letters["clean/sub/c.txt"], "R ");
    assert.equal(letters["busy"], "C ");
    assert.equal(letters["busy/b.txt"], undefined, "untouched inside the conflicted folder");
  });

  test("metadata merges per key: SOURCE-only change (U), changes of different keys (G), the same key changed differently (C)", async () => {
    const meta = { contentType: "text/plain", extra: { title: "T", author: "x" } };
    const p = await pair({ "u.txt": "u\n", "g.txt": "g\n", "c.txt": "c\n" }, { "": { extra: { title: "root" } }, "u.txt": meta, "g.txt": meta, "c.txt": meta });
    p.setMeta(p.a, "", { extra: { title: "root, renamed in A" } });
    p.setMeta(p.a, "u.txt", { ...meta, extra: { title: "A's title", author: "x" } });
    p.setMeta(p.a, "g.txt", { ...meta, extra: { title: "A's title", author: "x" } });
    p.setMeta(p.b, "g.txt", { ...meta, extra: { title: "T", author: "B" } });
    p.setMeta(p.a, "c.txt", { ...meta, extra: { title: "A's title", author: "x" } });
    p.setMeta(p.b, "c.txt", { ...meta, extra: { title: "B's title", author: "x" } });
    const r = await p.merge();
    assert.deepEqual(reported(r), [" U ", " C c.txt", " G g.txt", " U u.txt"]);
    assert.deepEqual(p.meta(p.b, ""), { extra: { title: "root, renamed in A" } }, "the checkout root's own metadata too");
    assert.deepEqual(p.meta(p.b, "u.txt"), { contentType: "text/plain", extra: { author: "x", title: "A's title" } });
    assert.deepEqual(p.meta(p.b, "g.txt"), { contentType: "text/plain", extra: { author: "B", title: "A's title" } });
    assert.deepEqual(p.meta(p.b, "c.txt")!.extra!.title, { "@@conflict": { mine: "B's title", base: "T", theirs: "A's title" } });
    const conflict = (await loadEntries(p.b)).entries.get("c.txt")!.conflict!;
    assert.equal(conflict.kind, "meta");
    assert.deepEqual(conflict.meta!.keys, ["extra.title"]);
    const letters = await p.letters();
    assert.equal(letters["u.txt"], "=M");
    assert.equal(letters["g.txt"], "=M");
    assert.equal(letters["c.txt"], "=C");
  });

  test("checkouts at different revisions: merged against SOURCE's BASE, so the server's newer change in TARGET is kept", async () => {
    const p = await pair({ "f.txt": "1\n2\n3\n4\n5\n6\n", "gone.txt": "g\n" });
    p.write(p.a, "f.txt", "1 from A\n2\n3\n4\n5\n6\n");
    await p.rm(p.a, ["gone.txt"]);
    // Someone else commits; B updates, A does not.
    await remote.change(p.folder, { modify: { "f.txt": "1\n2\n3\n4\n5\n6 from the server\n", "gone.txt": "changed on the server\n" } });
    await withWorkingCopy(p.b, { lock: "update" }, (wc) => update(wc, { client: remote.client }));
    const r = await p.merge();
    assert.deepEqual(reported(r), ["G  f.txt", "C  gone.txt"]);
    assert.deepEqual(r.differentBase.sort(), ["f.txt", "gone.txt"]);
    assert.equal(p.read(p.b, "f.txt"), "1 from A\n2\n3\n4\n5\n6 from the server\n");
    assert.equal(p.read(p.b, "gone.txt"), "changed on the server\n", "a version SOURCE never saw is not deleted");
    assert.deepEqual(r.fetched, [], "both BASEs are local: no server needed");
  });

  test("dry run: the same report, and TARGET is byte-for-byte unchanged (.zsync included)", async () => {
    const p = await pair({ "f.txt": "base\n", "g.txt": "g\n", "gone.txt": "x\n" });
    p.write(p.a, "f.txt", "theirs\n");
    p.write(p.b, "f.txt", "mine\n");
    p.write(p.a, "g.txt", "g2\n");
    p.write(p.a, "new.txt", "n\n");
    await p.add(p.a, ["new.txt"]);
    await p.rm(p.a, ["gone.txt"]);
    const before = picture(p.b);
    const dry = await p.merge({ dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.deepEqual(picture(p.b), before);
    const real = await p.merge();
    assert.deepEqual(reported(dry), reported(real));
    assert.deepEqual(reported(real), ["C  f.txt", "U  g.txt", "D  gone.txt", "A  new.txt"]);
  });

  test("a BASE missing from SOURCE's pristine store is fetched from the server at its revision; without a server nothing changes", async () => {
    const p = await pair({ "f.txt": "a\nb\nc\nd\n" });
    p.write(p.a, "f.txt", "a\nb\nc\nd from A\n");
    p.write(p.b, "f.txt", "a from B\nb\nc\nd\n");
    dropPristine(p.a, sha256("a\nb\nc\nd\n"));
    const before = picture(p.b);
    await assert.rejects(p.merge({ connect: undefined }), (e: unknown) => e instanceof WcError && e.code === "missing-pristine");
    await assert.rejects(
      p.merge({ connect: async () => createZsyncClient({ origin: "http://127.0.0.1:9", user: "zsync", password: "zsync" }) }),
      (e: unknown) => e instanceof WcError && /could not be fetched/.test(e.message),
    );
    assert.deepEqual(picture(p.b), before, "a failed merge changed nothing");
    const r = await p.merge();
    assert.deepEqual(r.fetched, ["f.txt"]);
    assert.deepEqual(reported(r), ["G  f.txt"]);
    assert.equal(p.read(p.b, "f.txt"), "a from B\nb\nc\nd from A\n");
    assert.equal(storedCopies(p.a).some((copy) => copy.hash === sha256("a\nb\nc\nd\n")), false, "SOURCE is not repaired: it is never written");
  });

  test("paths TARGET cannot take are reported, not merged: a conflict there, a missing parent folder", async () => {
    const p = await pair({ "f.txt": "base\n", sub: null, "sub/x.txt": "x\n" });
    // A conflict in TARGET on f.txt first.
    p.write(p.a, "f.txt", "A1\n");
    p.write(p.b, "f.txt", "B1\n");
    await p.merge();
    // SOURCE changes f.txt again and adds a file inside sub/, which TARGET removed.
    p.write(p.a, "f.txt", "A2\n");
    p.write(p.a, "sub/new.txt", "new\n");
    await p.add(p.a, ["sub/new.txt"]);
    await p.rm(p.b, ["sub"]);
    const r = await p.merge();
    assert.deepEqual(
      r.notMerged.map((n) => n.path),
      ["f.txt", "sub/new.txt"],
    );
    assert.match(r.notMerged[0].reason, /in conflict in TARGET/);
    assert.match(r.notMerged[1].reason, /scheduled for removal in TARGET/);
    assert.deepEqual(reported(r), []);
  });

  test("refusals change nothing: another folder, another repository, the same checkout, SOURCE with conflicts, an interrupted or a running command", async () => {
    const p = await pair({ "f.txt": "f\n" });
    const other = await pair({ "f.txt": "f\n" });
    const before = picture(p.b);
    const attempt = async (source: string, target = p.b) => {
      const src = await openSource(source);
      return withWorkingCopy(target, { lock: "merge" }, (wc) => merge(wc, src));
    };
    await assert.rejects(attempt(other.a), (e: unknown) => e instanceof WcError && e.code === "different-folder" && /\/m\d+/.test(e.message));
    // Another repository: a second server holds a folder of the same name.
    const server2 = await startServer({ demo: true });
    try {
      const remote2 = new Remote(server2);
      await remote2.createFolder(p.folder, { "f.txt": "f\n" });
      const foreign = await checkoutInProcess(remote2, p.folder, "zsync-merge-foreign-");
      made.push(join(foreign, ".."));
      await assert.rejects(attempt(foreign), (e: unknown) => e instanceof WcError && e.code === "different-repository");
    } finally {
      await server2.stop();
    }
    await assert.rejects(attempt(p.b), (e: unknown) => e instanceof WcError && e.code === "same-checkout");
    mkdirSync(join(p.a, "sub"));
    await assert.rejects(openSource(join(p.a, "sub")), (e: unknown) => e instanceof WcError && e.code === "not-checkout-root" && e.exitCode === 2);
    // SOURCE with an unresolved conflict.
    p.write(p.a, "f.txt", "A\n");
    await remote.change(p.folder, { modify: { "f.txt": "server\n" } });
    await withWorkingCopy(p.a, { lock: "update" }, (wc) => update(wc, { client: remote.client }));
    await assert.rejects(attempt(p.a), (e: unknown) => e instanceof WcError && e.code === "source-not-mergeable" && /f\.txt: in conflict/.test(e.message));
    // SOURCE with an interrupted command.
    writeFileSync(adminPaths(other.a).journal, JSON.stringify({ command: "update", steps: [], entries: {} }));
    await assert.rejects(openSource(other.a), (e: unknown) => e instanceof WcError && e.code === "source-interrupted");
    assert.ok(existsSync(adminPaths(other.a).journal), "SOURCE's journal is left to SOURCE");
    // SOURCE with a command running right now (its lock held by a live process).
    rmSync(adminPaths(other.a).journal);
    writeFileSync(adminPaths(other.a).lock, JSON.stringify({ pid: server.process.pid, command: "update" }));
    await assert.rejects(openSource(other.a), (e: unknown) => e instanceof WcError && e.code === "source-busy" && /zsync update/.test(e.message));
    rmSync(adminPaths(other.a).lock);
    assert.deepEqual(picture(p.b), before);
  });
});
