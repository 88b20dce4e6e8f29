import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { SnarfError, decodeSnarf, encodeSnarf, type SnarfInput, type SnarfRecord } from "../../src/protocol/snarf.js";
import { extractRecords, treeRecords } from "../../src/protocol/snarf-tree.js";
import { MANIFEST_RECORD } from "../../src/protocol/types.js";

// ---------------------------------------------------------------------------------------------
// Helpers

/** A tree on disk: path → file content, or null for a directory. */
type Tree = Record<string, string | Buffer | null>;

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "snarf-tree-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeTree(root: string, tree: Tree): Promise<void> {
  for (const [path, content] of Object.entries(tree)) {
    const abs = join(root, ...path.split("/"));
    if (content === null) await mkdir(abs, { recursive: true });
    else {
      await mkdir(join(abs, ".."), { recursive: true });
      await writeFile(abs, content);
    }
  }
}

/** Reads a directory back as a Tree (symlinks as "-> target"), sorted by path. */
async function readTree(root: string, rel = ""): Promise<Tree> {
  const tree: Tree = {};
  for (const name of (await readdir(join(root, rel))).sort()) {
    const path = rel === "" ? name : `${rel}/${name}`;
    const abs = join(root, path);
    const stats = await lstat(abs);
    if (stats.isSymbolicLink()) tree[path] = `-> ${await readlink(abs)}`;
    else if (stats.isDirectory()) Object.assign(tree, { [path]: null }, await readTree(root, path));
    else tree[path] = await readFile(abs);
  }
  return tree;
}

async function collect(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function* fromChunks(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function snarfOf(dir: string, opts?: Parameters<typeof treeRecords>[1]): Promise<string> {
  return (await collect(encodeSnarf(treeRecords(dir, opts)))).toString();
}

function decode(archive: string | Buffer): AsyncGenerator<SnarfRecord> {
  return decodeSnarf(fromChunks([Buffer.from(archive)]));
}

/** A hand-made record, bypassing the decoder's checks. */
function record(path: string, body = "", kind: "file" | "dir" = "file"): SnarfRecord {
  return { kind, path, size: Buffer.byteLength(body), body: fromChunks(body ? [Buffer.from(body)] : []) as AsyncIterable<Buffer> };
}

async function* records(...list: SnarfRecord[]): AsyncGenerator<SnarfRecord> {
  yield* list;
}

function isSnarfError(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SnarfError, `expected SnarfError, got ${String(error)}`);
    assert.match(error.message, message);
    return true;
  };
}

const case3Tree: Tree = { f1: "f1data", "f1~": "f1adata", f2: "f2data", d1: null, "d1/f1": "d1f1data" };
const case3 = "0 \n0 d1/\n8 d1/f1\nd1f1data6 f1\nf1data7 f1~\nf1adata6 f2\nf2data";
const case4 = "0 top/\n0 top/d1/\n8 top/d1/f1\nd1f1data6 top/f1\nf1data7 top/f1~\nf1adata6 top/f2\nf2data";
const case7 = "0 \n0 d1/\n0 d1/d3/\n0 d2/\n";

// ---------------------------------------------------------------------------------------------
// treeRecords: zsync acceptance cases (§7.2)

test("§7.2 case 3: addtree of a small tree", async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, case3Tree);
  assert.equal(await snarfOf(dir), case3);
});

test("§7.2 case 4: the same with prefix top/", async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, case3Tree);
  assert.equal(await snarfOf(dir, { prefix: "top/" }), case4);
  assert.equal(await snarfOf(dir, { prefix: "top" }), case4);
});

test("§7.2 case 5: a filter excluding names ending in ~", async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, case3Tree);
  const seen: [string, boolean][] = [];
  const filter = (relPath: string, isDir: boolean) => {
    seen.push([relPath, isDir]);
    return !relPath.endsWith("~");
  };
  assert.equal(await snarfOf(dir, { filter }), "0 \n0 d1/\n8 d1/f1\nd1f1data6 f1\nf1data6 f2\nf2data");
  assert.deepEqual(seen, [["d1", true], ["d1/f1", false], ["f1", false], ["f1~", false], ["f2", false]]);
  // A directory left out is left out with its contents.
  assert.equal(await snarfOf(dir, { filter: (p) => p !== "d1" }), "0 \n6 f1\nf1data7 f1~\nf1adata6 f2\nf2data");
});

test("§7.2 case 6: add(file, top) and add(dir, top)", async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, { "single/file": "12345", ...Object.fromEntries(Object.entries(case3Tree).map(([p, c]) => [`tree/${p}`, c])) });
  assert.equal(await snarfOf(join(dir, "single/file"), { prefix: "top" }), "5 top\n12345");
  assert.equal(await snarfOf(join(dir, "tree"), { prefix: "top" }), case4);
});

test("§7.2 case 7: empty directories", async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, { d1: null, "d1/d3": null, d2: null });
  assert.equal(await snarfOf(dir), case7);
});

test("§7.2 case 9: unsnarfing cases 3, 4 and 7 recreates the tree", async (t) => {
  const base = await tempDir(t);
  const expected3 = { d1: null, "d1/f1": Buffer.from("d1f1data"), f1: Buffer.from("f1data"), "f1~": Buffer.from("f1adata"), f2: Buffer.from("f2data") };
  const written3 = await extractRecords(decode(case3), join(base, "3"));
  assert.deepEqual(await readTree(join(base, "3")), expected3);
  assert.deepEqual(written3, ["d1", "d1/f1", "f1", "f1~", "f2"]);

  await extractRecords(decode(case4), join(base, "4"));
  assert.deepEqual(
    await readTree(join(base, "4")),
    Object.fromEntries([["top", null], ...Object.entries(expected3).map(([p, c]) => [`top/${p}`, c])]),
  );

  await extractRecords(decode(case7), join(base, "7"));
  assert.deepEqual(await readTree(join(base, "7")), { d1: null, "d1/d3": null, d2: null });
});

// ---------------------------------------------------------------------------------------------
// treeRecords: details

test("symlinks are skipped, never followed", async (t) => {
  const base = await tempDir(t);
  const dir = join(base, "tree");
  await writeTree(base, { "outside/secret": "secret", "tree/a": "a" });
  await symlink(join(base, "outside"), join(dir, "linkdir"));
  await symlink(join(base, "outside/secret"), join(dir, "linkfile"));
  assert.equal(await snarfOf(dir), "0 \n1 a\na");
});

test("file bodies are opened lazily, one at a time", async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, { a: "1", b: "2" });
  const inputs = treeRecords(dir);
  const got: SnarfInput[] = [];
  for await (const input of inputs) got.push(input);
  // Nothing was opened while listing: deleting a file now only fails when its body is read.
  await rm(join(dir, "b"));
  const stream = encodeSnarf(got);
  await assert.rejects(collect(stream), { code: "ENOENT" });
});

test("a file that grows or shrinks while archived fails the archive", async (t) => {
  const dir = await tempDir(t);
  await writeTree(dir, { a: "12345" });
  async function* changing(change: (path: string) => Promise<void>): AsyncGenerator<SnarfInput> {
    for await (const input of treeRecords(dir)) {
      if (input.path === "a") await change(join(dir, "a"));
      yield input;
    }
  }
  await assert.rejects(
    collect(encodeSnarf(changing((p) => appendFile(p, "678")))),
    isSnarfError(/body of "a" has at least 8 bytes, declared size is 5/),
  );
  await writeFile(join(dir, "a"), "12345");
  await assert.rejects(
    collect(encodeSnarf(changing((p) => truncate(p, 2)))),
    isSnarfError(/body of "a" has 2 bytes, declared size is 5/),
  );
});

test("a file replaced by a symlink after listing is not followed", async (t) => {
  const base = await tempDir(t);
  await writeTree(base, { "tree/a": "12345", "outside/secret": "SECRET" });
  async function* swapped(): AsyncGenerator<SnarfInput> {
    for await (const input of treeRecords(join(base, "tree"))) {
      if (input.path === "a") {
        await rm(join(base, "tree/a"));
        await symlink(join(base, "outside/secret"), join(base, "tree/a"));
      }
      yield input;
    }
  }
  const parts: Buffer[] = [];
  await assert.rejects(async () => {
    for await (const part of encodeSnarf(swapped())) parts.push(part as Buffer);
  }, { code: "ELOOP" });
  assert.ok(!Buffer.concat(parts).toString().includes("SECRET"));
});

// ---------------------------------------------------------------------------------------------
// Round trip

test("round trip: treeRecords → encodeSnarf → decodeSnarf → extractRecords reproduces the tree", async (t) => {
  const base = await tempDir(t);
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 11)) & 0xff;
  const tree: Tree = {
    "empty-dir": null,
    "nested/deeper/deepest": null,
    "nested/deeper/file.bin": Buffer.from([0, 1, 2, 255, 10, 13, 0]),
    "nested/empty-file": "",
    "nested/big": big,
    "ünïcödé/日本語.txt": "こんにちは\n",
    "with space/and\rcarriage": "cr",
    "newline-at-end": "text\n",
    ".hidden": "h",
  };
  await writeTree(join(base, "src"), tree);
  const archive = encodeSnarf(treeRecords(join(base, "src")), { sizeWidth: 8 });
  const written = await extractRecords(decodeSnarf(archive), join(base, "dest"));
  assert.deepEqual(await readTree(join(base, "dest")), await readTree(join(base, "src")));
  assert.deepEqual([...written].sort(), Object.keys(await readTree(join(base, "src"))).sort());
});

// ---------------------------------------------------------------------------------------------
// extractRecords safety

test("paths escaping the target cannot even be decoded", async () => {
  for (const path of ["../x", "a/../x", "/etc/passwd", "a/../../b"]) {
    const decoding = (async () => {
      for await (const _ of decode(`1 ${path}\nx`));
    })();
    await assert.rejects(decoding, isSnarfError(/invalid archive path/), path);
  }
});

test("extractRecords re-checks paths and writes nothing outside the target", async (t) => {
  const base = await tempDir(t);
  const target = join(base, "target");
  const sibling = join(base, "sibling");
  await mkdir(sibling);
  for (const path of ["a/../x", "../sibling/x", "a/../../sibling/x", "/tmp/x", "@@x", "a\\..\\..\\x", "a//b"]) {
    await assert.rejects(extractRecords(records(record(path, "pwned")), target), isSnarfError(/refusing to extract/), path);
    await assert.rejects(extractRecords(records(record(path, "", "dir")), target), isSnarfError(/refusing to extract/), path);
  }
  assert.deepEqual(await readdir(sibling), []);
  assert.deepEqual(await readTree(target), {});
});

test("extractRecords refuses to write through a symlinked directory inside the target", async (t) => {
  const base = await tempDir(t);
  const target = join(base, "target");
  const sibling = join(base, "sibling");
  await mkdir(sibling);
  await mkdir(join(target, "real"), { recursive: true });
  await symlink(sibling, join(target, "link"));
  await symlink(sibling, join(target, "real/link"));
  const attempts = [
    [record("link/x", "pwned")],
    [record("link", "", "dir"), record("link/x", "pwned")],
    [record("link/sub", "", "dir")],
    [record("real/link/x", "pwned")],
    [record("real/link/deep/x", "pwned")],
  ];
  for (const attempt of attempts) {
    await assert.rejects(extractRecords(records(...attempt), target), isSnarfError(/is a symlink/), attempt[0].path);
  }
  assert.deepEqual(await readdir(sibling), []);
});

test("a symlink where a file goes is replaced, not written through", async (t) => {
  const base = await tempDir(t);
  const target = join(base, "target");
  await writeTree(base, { "sibling/victim": "original", target: null });
  await symlink(join(base, "sibling/victim"), join(target, "f"));
  assert.deepEqual(await extractRecords(decode("3 f\nnew"), target), ["f"]);
  assert.equal(await readFile(join(base, "sibling/victim"), "utf8"), "original");
  assert.deepEqual(await readTree(target), { f: Buffer.from("new") });
});

test("protocol records are not extracted", async (t) => {
  const target = await tempDir(t);
  const archive = `2 ${MANIFEST_RECORD}\n{}0 @@zsync/\n1 a\nx`;
  assert.deepEqual(await extractRecords(decode(archive), target), ["a"]);
  assert.deepEqual(await readTree(target), { a: Buffer.from("x") });
});

test("existing files are overwritten; files and directories in each other's way are errors", async (t) => {
  const target = await tempDir(t);
  await writeTree(target, { f: "old", d: null });
  await extractRecords(decode("3 f\nnew"), target);
  assert.equal(await readFile(join(target, "f"), "utf8"), "new");
  await assert.rejects(extractRecords(decode("1 d\nx"), target), isSnarfError(/cannot write file "d": a directory is in the way/));
  await assert.rejects(extractRecords(decode("0 f/\n"), target), isSnarfError(/cannot create directory "f": a non-directory/));
  await assert.rejects(extractRecords(decode("1 f/x\nx"), target), isSnarfError(/cannot create directory "f"/));
  assert.deepEqual(await readTree(target), { d: null, f: Buffer.from("new") });
});

test("a failed write leaves neither a partial file nor a temp file", async (t) => {
  const target = await tempDir(t);
  async function* failing(): AsyncGenerator<Buffer> {
    yield Buffer.from("part");
    throw new Error("connection lost");
  }
  const broken: SnarfRecord = { kind: "file", path: "d/f", size: 10, body: failing() };
  await assert.rejects(extractRecords(records(broken), target), /connection lost/);
  const short: SnarfRecord = { kind: "file", path: "d/g", size: 10, body: fromChunks([Buffer.from("abc")]) as AsyncIterable<Buffer> };
  await assert.rejects(extractRecords(records(short), target), isSnarfError(/"d\/g" has 3 bytes, declared size is 10/));
  await assert.rejects(extractRecords(decode("10 d/h\nabc"), target), isSnarfError(/truncated archive/));
  // A body that fails before its first byte, 200 times: the temp file must exist before the
  // body is read, or its clean-up can run before a background open creates it (left ~7% of
  // the time before the fix).
  async function* failingAtOnce(): AsyncGenerator<Buffer> {
    throw new Error("connection lost");
  }
  for (let i = 0; i < 200; i++) {
    await assert.rejects(extractRecords(records({ kind: "file", path: `d/e${i}`, size: 10, body: failingAtOnce() }), target), /connection lost/);
  }
  assert.deepEqual(await readTree(target), { d: null });
});
