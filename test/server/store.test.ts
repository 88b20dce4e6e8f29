/**
 * The store contract, run against every backend (SQLite, PostgreSQL; see helpers/store-backends.ts): commits and their rules, history queries, blobs, accounts, and a
 * model-based test comparing random commit sequences against a small in-memory repository.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import fc from "fast-check";
import type { ObjectKind, ObjectMeta } from "../../src/protocol/types.js";
import { openStore } from "../../src/server/store/open.js";
import { postgresCluster } from "../helpers/postgres.js";
import { STORE_BACKENDS, type StoreBackend } from "../helpers/store-backends.js";
import {
  InvalidChangeError,
  OutOfDateError,
  StoreUnavailableError,
  type Store,
  type StoreChange,
  type StoredObject,
} from "../../src/server/store/types.js";

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), "zsync-store-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
function newFile(prefix = "f"): string {
  return join(dir, `${prefix}${++counter}`);
}

function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}


/** Stores `content` as a blob (through a file, as the server does) and returns its hash and size. */
async function putBlob(store: Store, content: string | Buffer): Promise<{ hash: string; size: number }> {
  const data = Buffer.from(content);
  const file = newFile("blob");
  writeFileSync(file, data);
  const hash = sha256(data);
  await store.putBlobFromFile(hash, data.length, file);
  return { hash, size: data.length };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function rejectsOutOfDate(promise: Promise<unknown>, paths: string[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof OutOfDateError, `expected OutOfDateError, got ${String(err)}`);
    assert.deepEqual([...err.paths].sort(), [...paths].sort());
    return true;
  });
}

async function rejectsInvalid(promise: Promise<unknown>, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InvalidChangeError, `expected InvalidChangeError, got ${String(err)}`);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

const paths = (objects: StoredObject[]) => objects.map((o) => o.path);

function commit(store: Store, ...changes: StoreChange[]) {
  return store.commit({ author: "tester", note: "test", changes });
}

/** Everything observable about a store's history, to check that a failed commit changed nothing. */
async function fingerprint(store: Store): Promise<unknown> {
  const { head } = await store.info();
  const trees = [];
  for (let r = 0; r <= head; r++) trees.push(await store.listTree("", { revision: r }));
  return { head, trees, current: await store.listTree(""), log: await store.log("") };
}

/** Every contract test, against one backend. */
function storeContract(backend: StoreBackend): void {
  async function withStore<T>(fn: (store: Store, spec: string) => Promise<T>): Promise<T> {
    const spec = await backend.newSpec();
    const store = await openStore(spec);
    try {
      return await fn(store, spec);
    } finally {
      await store.close();
    }
  }

  describe("opening", () => {
    test("creates revision 0 with the root folder, keeps uuid and head on reopen", async () => {
      const file = await backend.newSpec();
      let store = await openStore(file);
      const first = await store.info();
      assert.match(first.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(first.head, 0);
      assert.deepEqual(await store.getObject(""), { path: "", kind: "folder", revision: 0 });
      assert.deepEqual(await store.listTree(""), [{ path: "", kind: "folder", revision: 0 }]);
      const [rev0] = await store.log("");
      assert.equal(rev0!.revision, 0);
      assert.equal(rev0!.author, "system");
      assert.equal(rev0!.note, "repository created");
      assert.ok(!Number.isNaN(Date.parse(rev0!.date)));
      assert.deepEqual(rev0!.changes, [{ path: "", action: "A" }]);
      await store.close();

      store = await openStore(file);
      assert.deepEqual(await store.info(), first);
      const { hash } = await putBlob(store, "hello");
      await commit(store, { op: "add", path: "a", kind: "folder" }, { op: "add", path: "a/b.txt", kind: "file", hash });
      await store.close();

      store = await openStore(file);
      assert.deepEqual(await store.info(), { uuid: first.uuid, head: 1 });
      assert.deepEqual(paths(await store.listTree("")), ["", "a", "a/b.txt"]);
      assert.equal((await readAll(store.readBlob(hash))).toString(), "hello");
      await store.close();
    });

    test("two stores on one file see each other's commits", async () => {
      const file = await backend.newSpec();
      const a = await openStore(file);
      const b = await openStore(file);
      try {
        assert.equal((await a.info()).uuid, (await b.info()).uuid);
        await commit(a, { op: "add", path: "x", kind: "folder" });
        assert.equal((await b.info()).head, 1);
        assert.equal((await b.getObject("x"))?.revision, 1);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe("commits", () => {
    test("add, modify content, modify metadata, clear metadata, delete file and folder", async () => {
      await withStore(async (store) => {
        const v1 = await putBlob(store, "<h1>v1</h1>");
        const v2 = await putBlob(store, "<h1>version 2</h1>");
        const readme = await putBlob(store, "read me");
        const html: ObjectMeta = { contentType: "text/html", extra: { title: "Index" } };

        const r1 = await commit(
          store,
          { op: "add", path: "docs", kind: "folder", meta: { extra: { title: "Docs" } } },
          { op: "add", path: "docs/index.html", kind: "file", hash: v1.hash, meta: html },
          { op: "add", path: "readme.txt", kind: "file", hash: readme.hash },
        );
        assert.equal(r1.revision, 1);
        assert.deepEqual(r1.deleted, []);
        assert.deepEqual(r1.objects, [
          { path: "docs", kind: "folder", revision: 1, meta: { extra: { title: "Docs" } } },
          { path: "docs/index.html", kind: "file", revision: 1, hash: v1.hash, size: v1.size, meta: html },
          { path: "readme.txt", kind: "file", revision: 1, hash: readme.hash, size: readme.size },
        ]);
        assert.deepEqual(await store.getObject("docs/index.html"), r1.objects[1]);

        // New content; metadata kept.
        const r2 = await commit(store, { op: "modify", path: "docs/index.html", baseRevision: 1, hash: v2.hash });
        assert.deepEqual(r2.objects, [
          { path: "docs/index.html", kind: "file", revision: 2, hash: v2.hash, size: v2.size, meta: html },
        ]);

        // Metadata only, based on the content hash; content kept.
        const r3 = await commit(store, {
          op: "modify",
          path: "docs/index.html",
          baseHash: v2.hash,
          meta: { contentType: "text/plain" },
        });
        assert.deepEqual(r3.objects, [
          { path: "docs/index.html", kind: "file", revision: 3, hash: v2.hash, size: v2.size, meta: { contentType: "text/plain" } },
        ]);

        // Clear metadata.
        const r4 = await commit(store, { op: "modify", path: "docs/index.html", baseRevision: 3, meta: null });
        assert.deepEqual(r4.objects, [{ path: "docs/index.html", kind: "file", revision: 4, hash: v2.hash, size: v2.size }]);
        assert.deepEqual(await store.getObject("docs/index.html"), r4.objects[0]);

        // The root's metadata can change.
        const r5 = await commit(store, { op: "modify", path: "", baseRevision: 0, meta: { extra: { title: "Root" } } });
        assert.deepEqual(r5.objects, [{ path: "", kind: "folder", revision: 5, meta: { extra: { title: "Root" } } }]);

        // Delete a file by hash.
        const r6 = await commit(store, { op: "delete", path: "readme.txt", baseHash: readme.hash });
        assert.deepEqual(r6, { revision: 6, objects: [], deleted: ["readme.txt"] });
        assert.equal(await store.getObject("readme.txt"), undefined);

        const r7 = await commit(
          store,
          { op: "add", path: "docs/sub", kind: "folder" },
          { op: "add", path: "docs/sub/a.txt", kind: "file", hash: readme.hash },
        );
        // Delete a folder with contents, based on the working revision (7): everything goes.
        const r8 = await commit(store, { op: "delete", path: "docs", baseRevision: r7.revision });
        assert.deepEqual(r8, {
          revision: 8,
          objects: [],
          deleted: ["docs", "docs/index.html", "docs/sub", "docs/sub/a.txt"],
        });
        assert.deepEqual(await store.listTree(""), [{ path: "", kind: "folder", revision: 5, meta: { extra: { title: "Root" } } }]);
        assert.equal((await store.info()).head, 8);

        const [log8] = await store.log("", { limit: 1 });
        assert.deepEqual(log8!.changes, [{ path: "docs", action: "D" }]);
        assert.equal(log8!.author, "tester");
        assert.equal(log8!.note, "test");
      });
    });

    test("state at old revisions through getObject and listTree", async () => {
      await withStore(async (store) => {
        const a = await putBlob(store, "a");
        const b = await putBlob(store, "bb");
        await commit(store, { op: "add", path: "f", kind: "folder" }, { op: "add", path: "f/x", kind: "file", hash: a.hash }); // 1
        await commit(store, { op: "modify", path: "f/x", baseRevision: 1, hash: b.hash }); // 2
        await commit(store, { op: "add", path: "f/y", kind: "file", hash: a.hash }); // 3
        await commit(store, { op: "delete", path: "f", baseRevision: 3 }); // 4
        await commit(store, { op: "add", path: "f", kind: "file", hash: b.hash, meta: { contentType: "text/plain" } }); // 5

        assert.equal(await store.getObject("f", { revision: 0 }), undefined);
        assert.deepEqual(await store.getObject("f/x", { revision: 1 }), { path: "f/x", kind: "file", revision: 1, hash: a.hash, size: 1 });
        assert.deepEqual(await store.getObject("f/x", { revision: 3 }), { path: "f/x", kind: "file", revision: 2, hash: b.hash, size: 2 });
        assert.equal(await store.getObject("f/x", { revision: 4 }), undefined);
        assert.equal(await store.getObject("f/x"), undefined);
        assert.deepEqual(await store.getObject("f", { revision: 5 }), {
          path: "f",
          kind: "file",
          revision: 5,
          hash: b.hash,
          size: 2,
          meta: { contentType: "text/plain" },
        });

        assert.deepEqual(paths(await store.listTree("", { revision: 0 })), [""]);
        assert.deepEqual(paths(await store.listTree("", { revision: 3 })), ["", "f", "f/x", "f/y"]);
        assert.deepEqual(
          (await store.listTree("f", { revision: 3 })).map((o) => [o.path, o.revision]),
          [["f", 1], ["f/x", 2], ["f/y", 3]],
        );
        assert.deepEqual(paths(await store.listTree("f", { revision: 4 })), []);
        assert.deepEqual(paths(await store.listTree("f", { revision: 5 })), ["f"]);
        assert.deepEqual(await store.listTree("f", { revision: 5 }), await store.listTree("f"));
        assert.deepEqual(paths(await store.listTree("f/x", { revision: 2 })), ["f/x"]);

        await assert.rejects(store.getObject("f", { revision: 6 }), RangeError);
        await assert.rejects(store.listTree("", { revision: -1 }), RangeError);
        await assert.rejects(store.listTree("", { revision: 1.5 }), RangeError);
      });
    });

    test("listTree is in tree order: a folder right before its contents", async () => {
      await withStore(async (store) => {
        const changes: StoreChange[] = ["a", "a-b", "a.b", "a/b", "a/b/c", "a/a", "b", "a0"].map((path) => ({
          op: "add",
          path,
          kind: "folder",
        }));
        // Parents first; otherwise the order is the test's.
        changes.sort((x, y) => x.path.split("/").length - y.path.split("/").length);
        await commit(store, ...changes);
        const expected = ["", "a", "a/a", "a/b", "a/b/c", "a-b", "a.b", "a0", "b"];
        assert.deepEqual(paths(await store.listTree("")), expected);
        assert.deepEqual(paths(await store.listTree("", { revision: 1 })), expected);
        assert.deepEqual(paths(await store.listTree("a")), ["a", "a/a", "a/b", "a/b/c"]);
        assert.deepEqual(paths(await store.listTree("nothing")), []);
      });
    });

    test("changesSince between revisions", async () => {
      await withStore(async (store) => {
        const a = await putBlob(store, "a");
        const b = await putBlob(store, "b");
        await commit(
          store,
          { op: "add", path: "d", kind: "folder" },
          { op: "add", path: "d/e", kind: "folder" },
          { op: "add", path: "d/e/f.txt", kind: "file", hash: a.hash },
          { op: "add", path: "keep.txt", kind: "file", hash: a.hash },
          { op: "add", path: "mod.txt", kind: "file", hash: a.hash },
        ); // 1
        await commit(store, { op: "add", path: "temp.txt", kind: "file", hash: a.hash }); // 2
        await commit(store, { op: "modify", path: "mod.txt", baseRevision: 1, hash: b.hash }); // 3
        await commit(store, { op: "delete", path: "temp.txt", baseRevision: 2 }); // 4
        await commit(store, { op: "delete", path: "d", baseRevision: 4 }); // 5
        await commit(store, { op: "add", path: "new", kind: "folder" }); // 6

        // Added then deleted in between: neither changed nor deleted.
        const s1 = await store.changesSince("", 1);
        assert.deepEqual(paths(s1.changed), ["mod.txt", "new"]);
        assert.deepEqual(s1.changed[0], { path: "mod.txt", kind: "file", revision: 3, hash: b.hash, size: 1 });
        assert.deepEqual(s1.deleted, ["d", "d/e", "d/e/f.txt"]);

        const s2 = await store.changesSince("", 2, { until: 4 });
        assert.deepEqual(paths(s2.changed), ["mod.txt"]);
        assert.deepEqual(s2.deleted, ["temp.txt"]);

        const s0 = await store.changesSince("", 0, { until: 1 });
        assert.deepEqual(paths(s0.changed), ["d", "d/e", "d/e/f.txt", "keep.txt", "mod.txt"]);
        assert.deepEqual(s0.deleted, []);

        // Scoped to a path (inclusive).
        const sd = await store.changesSince("d", 0, { until: 6 });
        assert.deepEqual(sd, { changed: [], deleted: [] });
        const sd1 = await store.changesSince("d/e", 1);
        assert.deepEqual(sd1, { changed: [], deleted: ["d/e", "d/e/f.txt"] });
        const sm = await store.changesSince("mod.txt", 2);
        assert.deepEqual(paths(sm.changed), ["mod.txt"]);
        assert.deepEqual(await store.changesSince("mod.txt", 3), { changed: [], deleted: [] });

        assert.deepEqual(await store.changesSince("", 6), { changed: [], deleted: [] });
        await assert.rejects(store.changesSince("", 5, { until: 4 }), RangeError);
        await assert.rejects(store.changesSince("", 0, { until: 7 }), RangeError);
      });
    });

    test("changesSince: a path deleted and re-added in between is changed, not deleted", async () => {
      await withStore(async (store) => {
        const a = await putBlob(store, "a");
        await commit(store, { op: "add", path: "p", kind: "folder" }, { op: "add", path: "p/q", kind: "folder" }); // 1
        await commit(store, { op: "delete", path: "p", baseRevision: 1 }); // 2
        await commit(store, { op: "add", path: "p", kind: "file", hash: a.hash }); // 3
        const s = await store.changesSince("", 1);
        assert.deepEqual(s.changed, [{ path: "p", kind: "file", revision: 3, hash: a.hash, size: 1 }]);
        assert.deepEqual(s.deleted, ["p/q"]);
      });
    });
  });

  describe("out of date", () => {
    /** A repository with folder "f" (rev 1) holding "f/x" (rev 1, modified in 2) and "f/y" (rev 1). */
    async function setup(store: Store) {
      const one = await putBlob(store, "one");
      const two = await putBlob(store, "two");
      await commit(
        store,
        { op: "add", path: "f", kind: "folder" },
        { op: "add", path: "f/x", kind: "file", hash: one.hash },
        { op: "add", path: "f/y", kind: "file", hash: one.hash },
        { op: "add", path: "g", kind: "file", hash: one.hash },
      );
      await commit(store, { op: "modify", path: "f/x", baseRevision: 1, hash: two.hash });
      return { one, two };
    }

    test("modify with a stale base revision or hash, or of a missing object", async () => {
      await withStore(async (store) => {
        const { one, two } = await setup(store);
        await rejectsOutOfDate(commit(store, { op: "modify", path: "f/x", baseRevision: 1, meta: null }), ["f/x"]);
        await rejectsOutOfDate(commit(store, { op: "modify", path: "f/x", baseHash: one.hash, meta: null }), ["f/x"]);
        // Both bases given: both must hold.
        await rejectsOutOfDate(commit(store, { op: "modify", path: "f/x", baseRevision: 2, baseHash: one.hash, meta: null }), ["f/x"]);
        await rejectsOutOfDate(commit(store, { op: "modify", path: "nope", baseRevision: 2, meta: null }), ["nope"]);
        // Current bases (the object's revision, the working revision, the hash) are fine.
        await commit(store, { op: "modify", path: "f/x", baseRevision: 2, meta: { contentType: "a/b" } }); // 3
        await commit(store, { op: "modify", path: "f/x", baseRevision: 3, baseHash: two.hash, meta: null }); // 4
        await commit(store, { op: "modify", path: "f/y", baseRevision: 4, meta: null }); // 5: f/y unchanged since 1
        assert.equal((await store.info()).head, 5);
      });
    });

    test("delete with a stale base or of a missing object", async () => {
      await withStore(async (store) => {
        const { one } = await setup(store);
        await rejectsOutOfDate(commit(store, { op: "delete", path: "f/x", baseRevision: 1 }), ["f/x"]);
        await rejectsOutOfDate(commit(store, { op: "delete", path: "f/x", baseHash: one.hash }), ["f/x"]);
        await rejectsOutOfDate(commit(store, { op: "delete", path: "f/zz", baseRevision: 2 }), ["f/zz"]);
        const done = await commit(store, { op: "delete", path: "f/x", baseRevision: 2 });
        assert.deepEqual(done.deleted, ["f/x"]);
      });
    });

    test("add of an existing path, add into a folder that is gone", async () => {
      await withStore(async (store) => {
        await setup(store);
        await rejectsOutOfDate(commit(store, { op: "add", path: "f", kind: "folder" }), ["f"]);
        await rejectsOutOfDate(commit(store, { op: "add", path: "h/i", kind: "folder" }), ["h/i"]);
        await commit(store, { op: "delete", path: "f", baseRevision: 2 });
        await rejectsOutOfDate(commit(store, { op: "add", path: "f/new", kind: "folder" }), ["f/new"]);
      });
    });

    test("folder delete when something inside changed after the base", async () => {
      await withStore(async (store) => {
        const { one } = await setup(store);
        // f itself is at revision 1, but f/x changed in 2: a client based on 1 has not seen that.
        await rejectsOutOfDate(commit(store, { op: "delete", path: "f", baseRevision: 1 }), ["f/x"]);
        await commit(store, { op: "add", path: "f/new", kind: "file", hash: one.hash }); // 3
        await commit(store, { op: "delete", path: "f/y", baseRevision: 1 }); // 4
        await rejectsOutOfDate(commit(store, { op: "delete", path: "f", baseRevision: 2 }), ["f/new", "f/y"]);
        await rejectsOutOfDate(commit(store, { op: "delete", path: "f", baseRevision: 3 }), ["f/y"]);
        // Changes elsewhere do not matter.
        await commit(store, { op: "modify", path: "g", baseRevision: 1, meta: null }); // 5
        const done = await commit(store, { op: "delete", path: "f", baseRevision: 4 });
        assert.deepEqual(done.deleted, ["f", "f/new", "f/x"]);
      });
    });

    test("a stale change among valid ones changes nothing, and all stale paths are reported", async () => {
      await withStore(async (store) => {
        const { one } = await setup(store);
        const before = await fingerprint(store);
        await rejectsOutOfDate(
          commit(
            store,
            { op: "add", path: "new", kind: "folder" },
            { op: "add", path: "new/file", kind: "file", hash: one.hash },
            { op: "modify", path: "g", baseRevision: 1, meta: { contentType: "x/y" } },
            { op: "modify", path: "f/x", baseRevision: 1, meta: null },
            { op: "delete", path: "f/y", baseRevision: 1 },
            { op: "add", path: "g2", kind: "file", hash: one.hash },
            { op: "delete", path: "gone", baseRevision: 1 },
          ),
          ["f/x", "gone"],
        );
        assert.deepEqual(await fingerprint(store), before);
        assert.equal(await store.getObject("new"), undefined);
        assert.deepEqual(await store.changesSince("", 2), { changed: [], deleted: [] });
      });
    });

    test("two stores committing on the same base: exactly one succeeds", async () => {
      const file = await backend.newSpec();
      const a = await openStore(file);
      const b = await openStore(file);
      try {
        const blob = await putBlob(a, "base");
        await commit(a, { op: "add", path: "doc.txt", kind: "file", hash: blob.hash });
        const edit = (store: Store, title: string) =>
          commit(store, { op: "modify", path: "doc.txt", baseRevision: 1, meta: { extra: { title } } });
        const results = await Promise.allSettled([edit(a, "A"), edit(b, "B")]);
        const won = results.filter((r) => r.status === "fulfilled");
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        assert.equal(won.length, 1);
        assert.equal(lost.length, 1);
        assert.ok(lost[0]!.reason instanceof OutOfDateError);
        assert.deepEqual(lost[0]!.reason.paths, ["doc.txt"]);
        assert.equal((await a.info()).head, 2);
        assert.equal((await b.info()).head, 2);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe("invalid changes", () => {
    test("malformed or impossible commits are rejected and change nothing", async () => {
      await withStore(async (store) => {
        const blob = await putBlob(store, "x");
        await commit(
          store,
          { op: "add", path: "dir", kind: "folder" },
          { op: "add", path: "dir/sub", kind: "folder" },
          { op: "add", path: "file", kind: "file", hash: blob.hash },
        );
        const before = await fingerprint(store);
        const missing = "0".repeat(64);
        const cases: [string, StoreChange[]][] = [
          ["no changes", []],
          ["same path twice", [{ op: "add", path: "n", kind: "folder" }, { op: "modify", path: "n", baseRevision: 1, meta: null }]],
          ["add root", [{ op: "add", path: "", kind: "folder" }]],
          ["delete root", [{ op: "delete", path: "", baseRevision: 1 }]],
          ["bad path", [{ op: "add", path: "/abs", kind: "folder" }]],
          ["dot path", [{ op: "add", path: "dir/../x", kind: "folder" }]],
          ["trailing slash", [{ op: "add", path: "dir/x/", kind: "folder" }]],
          ["parent is a file", [{ op: "add", path: "file/x", kind: "folder" }]],
          ["parent added later", [{ op: "add", path: "p/q", kind: "folder" }, { op: "add", path: "p", kind: "folder" }]],
          ["missing blob", [{ op: "add", path: "f2", kind: "file", hash: missing }]],
          ["file without hash", [{ op: "add", path: "f2", kind: "file" }]],
          ["folder with hash", [{ op: "add", path: "d2", kind: "folder", hash: blob.hash }]],
          ["modify without base", [{ op: "modify", path: "file", meta: null }]],
          ["modify changes nothing", [{ op: "modify", path: "file", baseRevision: 1 }]],
          ["modify to a missing blob", [{ op: "modify", path: "file", baseRevision: 1, hash: missing }]],
          ["folder content", [{ op: "modify", path: "dir", baseRevision: 1, hash: blob.hash }]],
          ["folder baseHash", [{ op: "delete", path: "dir", baseHash: blob.hash }]],
          ["base beyond head", [{ op: "modify", path: "file", baseRevision: 9, meta: null }]],
          ["delete without base", [{ op: "delete", path: "file" }]],
          ["change inside a deleted folder", [{ op: "delete", path: "dir", baseRevision: 1 }, { op: "add", path: "dir/sub/x", kind: "folder" }]],
          ["delete after a change inside", [{ op: "modify", path: "dir/sub", baseRevision: 1, meta: null }, { op: "delete", path: "dir", baseRevision: 1 }]],
          ["bad metadata", [{ op: "modify", path: "file", baseRevision: 1, meta: [] as unknown as ObjectMeta }]],
        ];
        for (const [name, changes] of cases) {
          await rejectsInvalid(commit(store, ...changes)).catch((err: Error) => {
            throw new Error(`${name}: ${err.message}`);
          });
        }
        // Invalid wins over out of date: the whole commit is malformed.
        await rejectsInvalid(
          commit(store, { op: "modify", path: "file", baseRevision: 0, meta: null }, { op: "add", path: "", kind: "folder" }),
        );
        assert.deepEqual(await fingerprint(store), before);
      });
    });
  });

  describe("log", () => {
    test("for a path, for the root, with limit and from", async () => {
      await withStore(async (store) => {
        const blob = await putBlob(store, "x");
        await commit(store, { op: "add", path: "a", kind: "folder" }, { op: "add", path: "b", kind: "folder" }); // 1
        await commit(store, { op: "add", path: "a/f", kind: "file", hash: blob.hash }); // 2
        await commit(store, { op: "modify", path: "b", baseRevision: 1, meta: { contentType: "x" } }); // 3
        await commit(store, { op: "modify", path: "a/f", baseRevision: 2, meta: { contentType: "y" } }); // 4
        await commit(store, { op: "add", path: "ab", kind: "folder" }); // 5: not under "a"

        const logA = await store.log("a");
        assert.deepEqual(logA.map((r) => r.revision), [4, 2, 1]);
        assert.deepEqual(logA[2]!.changes, [{ path: "a", action: "A" }, { path: "b", action: "A" }]);
        assert.deepEqual(logA[0]!.changes, [{ path: "a/f", action: "M" }]);
        assert.deepEqual((await store.log("a/f")).map((r) => r.revision), [4, 2]);
        assert.deepEqual((await store.log("a", { limit: 2 })).map((r) => r.revision), [4, 2]);
        assert.deepEqual((await store.log("a", { from: 3 })).map((r) => r.revision), [2, 1]);
        assert.deepEqual((await store.log("a", { from: 3, limit: 1 })).map((r) => r.revision), [2]);
        assert.deepEqual((await store.log("")).map((r) => r.revision), [5, 4, 3, 2, 1, 0]);
        assert.deepEqual((await store.log("", { from: 2, limit: 2 })).map((r) => r.revision), [2, 1]);
        assert.deepEqual(await store.log("nothing"), []);
        await commit(store, { op: "delete", path: "a", baseRevision: 5 }); // 6
        assert.deepEqual((await store.log("a")).map((r) => r.revision), [6, 4, 2, 1]);
        await assert.rejects(store.log("", { from: 7 }), RangeError);
        await assert.rejects(store.log("", { limit: 0 }), RangeError);
      });
    });
  });

  describe("blobs", () => {
    /** A file of `size` random bytes; returns its path and hash. */
    function randomFile(size: number): { file: string; hash: string; data: Buffer } {
      const data = randomBytes(size);
      const file = newFile("data");
      writeFileSync(file, data);
      return { file, hash: sha256(data), data };
    }

    test("put from a file and read back byte for byte, one chunk at a time", async () => {
      await withStore(async (store) => {
        const { file, hash, data } = randomFile(3 * MiB + 12345);
        assert.equal(await store.hasBlob(hash), false);
        await store.putBlobFromFile(hash, data.length, file);
        assert.equal(await store.hasBlob(hash), true);
        await store.putBlobFromFile(hash, data.length, file); // idempotent

        const parts: Buffer[] = [];
        for await (const chunk of store.readBlob(hash)) parts.push(chunk as Buffer);
        assert.deepEqual(parts.map((p) => p.length), [MiB, MiB, MiB, 12345]);
        const back = Buffer.concat(parts);
        assert.ok(back.equals(data));
        assert.equal(sha256(back), hash);

        // The empty blob.
        const empty = randomFile(0);
        await store.putBlobFromFile(empty.hash, 0, empty.file);
        assert.equal((await readAll(store.readBlob(empty.hash))).length, 0);
      });
    });

    test("a blob larger than one write transaction (64 MiB)", async () => {
      await withStore(async (store, dbFile) => {
        const size = 65 * MiB + 3;
        const file = newFile("big");
        const fd = openSync(file, "w");
        const hasher = createHash("sha256");
        const piece = randomBytes(MiB);
        for (let written = 0, i = 0; written < size; i++) {
          piece.writeUInt32BE(i, 0); // every MiB differs, so misordered chunks would show
          const part = piece.subarray(0, Math.min(MiB, size - written));
          writeSync(fd, part);
          hasher.update(part);
          written += part.length;
        }
        closeSync(fd);
        const hash = hasher.digest("hex");
        await store.putBlobFromFile(hash, size, file);

        const reader = createHash("sha256");
        let total = 0;
        let largest = 0;
        for await (const chunk of store.readBlob(hash)) {
          reader.update(chunk as Buffer);
          total += (chunk as Buffer).length;
          largest = Math.max(largest, (chunk as Buffer).length);
        }
        assert.equal(total, size);
        assert.equal(largest, MiB);
        assert.equal(reader.digest("hex"), hash);
        // PostgreSQL keeps it as 66 chunk rows; SQLite as a file beside the database, no rows.
        const chunks = backend.name === "sqlite" ? 0 : 66;
        assert.deepEqual(await backend.query(dbFile, "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM blob_chunks WHERE hash = ?", [hash]), [{ n: chunks }]);
        if (backend.name === "sqlite") assert.equal(statSync(`${dbFile.slice("sqlite:".length)}-blobs/${hash.slice(0, 2)}/${hash}`).size, size);
        rmSync(file);
      });
    });

    test("a wrong size is refused and stores nothing", async () => {
      await withStore(async (store) => {
        const { file, hash, data } = randomFile(1000);
        await assert.rejects(store.putBlobFromFile(hash, data.length + 1, file), /expected 1001/);
        await assert.rejects(store.putBlobFromFile(hash, data.length - 1, file));
        assert.equal(await store.hasBlob(hash), false);
        await assert.rejects(store.putBlobFromFile("not-a-hash", data.length, file));
        await assert.rejects(store.putBlobFromFile(hash, data.length, join(dir, "no-such-file")), { code: "ENOENT" });
      });
    });

    test("gc deletes unreferenced blobs past the grace period; referenced, recent and re-used ones stay", async () => {
      await withStore(async (store, spec) => {
        const used = await putBlob(store, "in a revision");
        const orphan = await putBlob(store, "uploaded for a commit that failed");
        const reused = await putBlob(store, "uploaded long ago, uploaded again now");
        await commit(store, { op: "add", path: "kept.txt", kind: "file", hash: used.hash });
        // Nothing is old enough yet.
        assert.deepEqual(await store.deleteUnreferencedBlobs("2000-01-01T00:00:00.000Z"), { blobs: 0, bytes: 0 });
        // Age every blob by a day, then store one of them again: that renews it.
        await backend.query(spec, "UPDATE blobs SET stored_at = ?", ["2020-01-01T00:00:00.000Z"]);
        await putBlob(store, "uploaded long ago, uploaded again now");
        const cutoff = new Date(Date.now() - 3_600_000).toISOString();
        assert.deepEqual(await store.deleteUnreferencedBlobs(cutoff), { blobs: 1, bytes: orphan.size });
        assert.equal(await store.hasBlob(orphan.hash), false);
        assert.equal(await store.hasBlob(used.hash), true);
        assert.equal(await store.hasBlob(reused.hash), true);
        assert.deepEqual(await backend.query(spec, "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM blob_chunks WHERE hash = ?", [orphan.hash]), [{ n: 0 }]);
        assert.equal((await readAll(store.readBlob(used.hash))).toString(), "in a revision");
        // The deleted content can be stored again and committed.
        await putBlob(store, "uploaded for a commit that failed");
        await commit(store, { op: "add", path: "later.txt", kind: "file", hash: orphan.hash });
        assert.equal((await store.deleteUnreferencedBlobs(new Date(Date.now() + 3_600_000).toISOString())).blobs, 1); // only `reused` is left unreferenced
      });
    });

    test("small blobs are read together; larger ones, unknown hashes and a damaged chunk are left to readBlob", async () => {
      await withStore(async (store, spec) => {
        const one = randomFile(3000);
        const full = randomFile(MiB); // exactly one chunk
        const two = randomFile(MiB + 1); // two chunks
        const empty = randomFile(0);
        const damaged = randomFile(100);
        for (const b of [one, full, two, empty, damaged]) await store.putBlobFromFile(b.hash, b.data.length, b.file);
        await backend.query(spec, "UPDATE blob_chunks SET data = ? WHERE hash = ?", [damaged.data.subarray(0, 99), damaged.hash]);
        const unknown = "f".repeat(64);

        const got = await store.readSmallBlobs([one.hash, full.hash, two.hash, empty.hash, damaged.hash, unknown, one.hash]);
        assert.deepEqual([...got.keys()].sort(), [one.hash, full.hash, empty.hash].sort());
        assert.ok(got.get(one.hash)!.equals(one.data));
        assert.ok(got.get(full.hash)!.equals(full.data));
        assert.equal(got.get(empty.hash)!.length, 0);
        assert.equal((await store.readSmallBlobs([])).size, 0);
        // What was left out reads (or fails) through readBlob.
        assert.ok((await readAll(store.readBlob(two.hash))).equals(two.data));
        await assert.rejects(readAll(store.readBlob(damaged.hash)), /corrupt/);
      });
    });

    test("an unknown blob makes the stream fail", async () => {
      await withStore(async (store) => {
        await assert.rejects(readAll(store.readBlob("f".repeat(64))), /unknown blob/);
      });
    });

    test("reading a blob does not block commits between chunks", async () => {
      await withStore(async (store) => {
        const { file, hash, data } = randomFile(2 * MiB + 1);
        await store.putBlobFromFile(hash, data.length, file);
        const iterator = store.readBlob(hash)[Symbol.asyncIterator]();
        const first = await iterator.next();
        assert.equal((first.value as Buffer).length, MiB);
        await commit(store, { op: "add", path: "big.bin", kind: "file", hash });
        const parts = [first.value as Buffer];
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) parts.push(next.value as Buffer);
        assert.ok(Buffer.concat(parts).equals(data));
      });
    });

    // SQLite writes a blob in several transactions, so a crash can leave chunks behind;
    // PostgreSQL writes it in one (see the next test), so it has no leftovers to clean up.
    if (backend.name === "sqlite") test("chunks without a blobs row are deleted on open; a later put rewrites stray chunks", async () => {
      const spec = await backend.newSpec();
      const dbFile = spec.slice("sqlite:".length);
      let store = await openStore(spec);
      const kept = await putBlob(store, "kept content");
      const orphan = randomFile(2 * MiB + 5);
      // An interrupted upload: chunks written, blobs row never inserted (second connection).
      let db = new Database(dbFile);
      const insert = db.prepare("INSERT INTO blob_chunks (hash, seq, data) VALUES (?, ?, ?)");
      insert.run(orphan.hash, 0, orphan.data.subarray(0, MiB));
      insert.run(orphan.hash, 1, orphan.data.subarray(MiB, 2 * MiB));
      db.close();
      await store.close();

      store = await openStore(spec);
      db = new Database(dbFile, { readonly: true });
      const count = (hash: string) => (db.prepare("SELECT COUNT(*) AS n FROM blob_chunks WHERE hash = ?").get(hash) as { n: number }).n;
      assert.equal(count(orphan.hash), 0);
      assert.equal(count(kept.hash), 1);
      assert.equal((await readAll(store.readBlob(kept.hash))).toString(), "kept content");
      assert.equal(await store.hasBlob(orphan.hash), false);

      // Leftovers appearing while this store is open (wrong bytes, a chunk past the end) are
      // dropped when the blob is stored (as a file: it is over 1 MiB).
      const writer = new Database(dbFile);
      const bogus = writer.prepare("INSERT INTO blob_chunks (hash, seq, data) VALUES (?, ?, ?)");
      bogus.run(orphan.hash, 0, Buffer.from("garbage"));
      bogus.run(orphan.hash, 7, Buffer.from("past the end"));
      writer.close();
      await store.putBlobFromFile(orphan.hash, orphan.data.length, orphan.file);
      assert.ok((await readAll(store.readBlob(orphan.hash))).equals(orphan.data));
      assert.equal(count(orphan.hash), 0);
      db.close();
      await store.close();
    });

    if (backend.name === "postgres") test("an upload cut off by a lost connection leaves no chunk; the next put stores the blob", async () => {
      await withStore(async (store, spec) => {
        const { file, hash, data } = randomFile(48 * MiB);
        const upload = store.putBlobFromFile(hash, data.length, file);
        // It may fail before assert.rejects below is reached: not an unhandled rejection.
        upload.catch(() => {});
        // Wait until the upload's connection is writing chunks, then kill it as a crash would.
        const cluster = await postgresCluster();
        for (;;) {
          const found = await cluster.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE query LIKE 'INSERT INTO blob_chunks%' AND state = 'active' AND pid <> pg_backend_pid()",
          );
          if (found.length > 0) {
            await cluster.query("SELECT pg_terminate_backend($1)", [found[0]!.pid]);
            break;
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        await assert.rejects(upload, (err: unknown) => err instanceof StoreUnavailableError);
        const count = async () => (await backend.query<{ n: number }>(spec, "SELECT CAST(COUNT(*) AS INTEGER) AS n FROM blob_chunks WHERE hash = ?", [hash]))[0]!.n;
        assert.equal(await count(), 0);
        assert.equal(await store.hasBlob(hash), false);
        await store.putBlobFromFile(hash, data.length, file);
        assert.equal(await count(), 48);
        assert.ok((await readAll(store.readBlob(hash))).equals(data));
      });
    });
  });

  describe("accounts", () => {
    test("add, get, count; names are unique", async () => {
      await withStore(async (store) => {
        assert.equal(await store.countAccounts(), 0);
        assert.equal(await store.getAccount("ann"), undefined);
        await store.addAccount("ann", "hash-1", "manager");
        await store.addAccount("bob", "hash-2", "editor");
        assert.deepEqual(await store.getAccount("ann"), { name: "ann", role: "manager", passwordHash: "hash-1" });
        assert.equal(await store.countAccounts(), 2);
        await rejectsInvalid(store.addAccount("ann", "other", "editor"));
        assert.deepEqual(await store.getAccount("ann"), { name: "ann", role: "manager", passwordHash: "hash-1" });
      });
    });
  });

  describe("several processes", () => {
    test("child processes create one repository, their writes serialize, one conflicting edit wins", async () => {
      const root = fileURLToPath(new URL("../../", import.meta.url));
      const dbFile = await backend.newSpec(); // created by whichever child comes first

      const moduleUrl = pathToFileURL(join(root, "src/server/store/open.ts")).href;
      const script = `
        const { openStore } = await import(${JSON.stringify(moduleUrl)});
        const store = await openStore(process.env.STORE_FILE);
        const me = process.env.WORKER;
        for (let i = 0; i < 10; i++) {
          await store.commit({ author: me, note: "", changes: [{ op: "add", path: "w" + me + "-" + i, kind: "folder" }] });
        }
        let won = false;
        try {
          await store.commit({ author: me, note: "", changes: [{ op: "modify", path: "", baseRevision: 0, meta: { extra: { by: me } } }] });
          won = true;
        } catch (err) {
          if (err.name !== "OutOfDateError") throw err;
        }
        console.log(JSON.stringify({ uuid: (await store.info()).uuid, won }));
        await store.close();
      `;
      const run = (worker: number) =>
        new Promise<{ uuid: string; won: boolean }>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
            cwd: root,
            env: { ...process.env, STORE_FILE: dbFile, WORKER: String(worker) },
            stdio: ["ignore", "pipe", "pipe"],
          });
          let out = "";
          let err = "";
          child.stdout.on("data", (d) => (out += d));
          child.stderr.on("data", (d) => (err += d));
          child.on("error", reject);
          child.on("close", (code) => {
            if (code !== 0) reject(new Error(`worker ${worker} exited ${code}: ${err}`));
            else resolve(JSON.parse(out.trim().split("\n").pop()!) as { uuid: string; won: boolean });
          });
        });
      const results = await Promise.all([1, 2, 3].map(run));
      assert.equal(results.filter((r) => r.won).length, 1);

      const store = await openStore(dbFile);
      try {
        const { uuid, head } = await store.info();
        assert.deepEqual(results.map((r) => r.uuid), [uuid, uuid, uuid]);
        assert.equal(head, 30 + 1);
        assert.equal((await store.listTree("")).length, 1 + 30);
        const log = await store.log("");
        assert.deepEqual(log.map((r) => r.revision), Array.from({ length: 32 }, (_, i) => 31 - i));
        const winner = results.findIndex((r) => r.won) + 1;
        assert.deepEqual((await store.getObject(""))?.meta, { extra: { by: String(winner) } });
      } finally {
        await store.close();
      }
    });
  });

  // ---------------------------------------------------------------------------------------------
  // Model-based test: the store against a tiny in-memory repository.

  interface MObj {
    kind: ObjectKind;
    revision: number;
    hash?: string;
    size?: number;
    meta?: ObjectMeta;
  }
  type Snapshot = Map<string, MObj>;

  const NAMES = ["a", "b"];
  const UNIVERSE: string[] = [];
  for (const x of NAMES) {
    UNIVERSE.push(x);
    for (const y of NAMES) {
      UNIVERSE.push(`${x}/${y}`);
      for (const z of NAMES) UNIVERSE.push(`${x}/${y}/${z}`);
    }
  }

  /** Tree order written independently of the store: compare name arrays. */
  function treeOrder(a: string, b: string): number {
    const xs = a === "" ? [] : a.split("/");
    const ys = b === "" ? [] : b.split("/");
    for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
      if (xs[i] !== ys[i]) return xs[i]! < ys[i]! ? -1 : 1;
    }
    return xs.length - ys.length;
  }

  const inside = (folder: string, path: string) => (folder === "" ? path !== "" : path.startsWith(folder + "/"));
  const parentOf = (path: string) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "");

  function stored(path: string, o: MObj): StoredObject {
    const out: StoredObject = { path, kind: o.kind, revision: o.revision };
    if (o.hash !== undefined) out.hash = o.hash;
    if (o.size !== undefined) out.size = o.size;
    if (o.meta !== undefined) out.meta = o.meta;
    return out;
  }

  function modelTree(snap: Snapshot, under = ""): StoredObject[] {
    return [...snap.entries()]
      .filter(([p]) => p === under || inside(under, p))
      .sort(([x], [y]) => treeOrder(x, y))
      .map(([p, o]) => stored(p, o));
  }

  type Verdict =
    | { kind: "ok"; next: Snapshot; objects: StoredObject[]; deleted: string[] }
    | { kind: "invalid" }
    | { kind: "out-of-date"; paths: string[] };

  /** The commit rules, written plainly over snapshots. */
  function modelCommit(snaps: Snapshot[], blobs: Map<string, number>, changes: StoreChange[]): Verdict {
    const head = snaps.length - 1;
    const cur = snaps[head]!;
    let invalid = changes.length === 0;
    const stale = new Set<string>();
    const all = changes.map((c) => c.path);
    if (new Set(all).size !== all.length) invalid = true;
    for (const d of changes) {
      if (d.op === "delete" && changes.some((c) => inside(d.path, c.path))) invalid = true;
    }
    const addedKind = new Map<string, ObjectKind>();
    const baseOk = (o: MObj, c: { baseRevision?: number; baseHash?: string }) =>
      (c.baseRevision === undefined || o.revision <= c.baseRevision) && (c.baseHash === undefined || o.hash === c.baseHash);
    const badBase = (c: { baseRevision?: number; baseHash?: string }) =>
      (c.baseRevision === undefined && c.baseHash === undefined) || (c.baseRevision !== undefined && c.baseRevision > head);
    for (const c of changes) {
      const o = cur.get(c.path);
      if (c.op === "add") {
        if (c.path === "" || (c.kind === "folder" && c.hash !== undefined) || (c.kind === "file" && !blobs.has(c.hash!))) {
          invalid = true;
          continue;
        }
        if (o) stale.add(c.path);
        const parentKind = addedKind.get(parentOf(c.path)) ?? cur.get(parentOf(c.path))?.kind;
        if (parentKind === undefined) {
          if (changes.some((x) => x.op === "add" && x.path === parentOf(c.path))) invalid = true;
          else stale.add(c.path);
        } else if (parentKind === "file") invalid = true;
        addedKind.set(c.path, c.kind);
      } else if (c.op === "modify") {
        if (badBase(c) || (c.hash === undefined && c.meta === undefined) || (c.hash !== undefined && !blobs.has(c.hash))) {
          invalid = true;
          continue;
        }
        if (!o) stale.add(c.path);
        else if (o.kind === "folder" && (c.hash !== undefined || c.baseHash !== undefined)) invalid = true;
        else if (!baseOk(o, c)) stale.add(c.path);
      } else {
        if (c.path === "" || badBase(c)) {
          invalid = true;
          continue;
        }
        if (!o) stale.add(c.path);
        else if (o.kind === "folder" && c.baseHash !== undefined) invalid = true;
        else {
          if (!baseOk(o, c)) stale.add(c.path);
          if (o.kind === "folder") {
            // Anything inside that differs between consecutive revisions after the base.
            for (let r = c.baseRevision! + 1; r <= head; r++) {
              for (const p of new Set([...snaps[r - 1]!.keys(), ...snaps[r]!.keys()])) {
                if (inside(c.path, p) && snaps[r - 1]!.get(p)?.revision !== snaps[r]!.get(p)?.revision) stale.add(p);
              }
            }
          }
        }
      }
    }
    if (invalid) return { kind: "invalid" };
    if (stale.size > 0) return { kind: "out-of-date", paths: [...stale].sort() };

    const rev = head + 1;
    const next: Snapshot = new Map(cur);
    const objects: StoredObject[] = [];
    const deleted: string[] = [];
    for (const c of changes) {
      if (c.op === "add") {
        const o: MObj = { kind: c.kind, revision: rev };
        if (c.hash !== undefined) Object.assign(o, { hash: c.hash, size: blobs.get(c.hash)! });
        if (c.meta) o.meta = c.meta;
        next.set(c.path, o);
        objects.push(stored(c.path, o));
      } else if (c.op === "modify") {
        const o: MObj = { ...next.get(c.path)!, revision: rev };
        if (c.hash !== undefined) Object.assign(o, { hash: c.hash, size: blobs.get(c.hash)! });
        if (c.meta === null) delete o.meta;
        else if (c.meta !== undefined) o.meta = c.meta;
        next.set(c.path, o);
        objects.push(stored(c.path, o));
      } else {
        const gone = [...next.keys()].filter((p) => p === c.path || inside(c.path, p)).sort(treeOrder);
        for (const p of gone) next.delete(p);
        deleted.push(...gone);
      }
    }
    return { kind: "ok", next, objects, deleted };
  }

  /**
   * Changes are generated abstractly and resolved against the model's head when applied: most pick
   * an existing folder to add into or an existing object to change, so that plenty of commits
   * succeed; some name arbitrary paths, bases or blobs, so that plenty fail.
   */
  type BaseChoice = { rev: "object" | "head" | "none" | number; hash: "object" | "other" | "none" };
  type Target = { existing: number } | { path: string };
  type AbstractChange =
    | { op: "add"; where: { parent: number; name: string } | { path: string }; kind: ObjectKind; blob: number; meta: number }
    | { op: "modify"; target: Target; base: BaseChoice; blob: number; meta: number }
    | { op: "delete"; target: Target; base: BaseChoice };

  const METAS: (ObjectMeta | null | undefined)[] = [
    undefined,
    { contentType: "text/plain" },
    { extra: { title: "T" }, annotations: { "x.y": { v: 1 } } },
    null,
  ];

  const pathArb = fc.constantFrom("", ...UNIVERSE);
  const targetArb: fc.Arbitrary<Target> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ existing: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ path: pathArb }) },
  );
  /** 0..2 stored blobs, 3 a missing one, 4 none. */
  const blobArb = fc.oneof({ weight: 12, arbitrary: fc.nat(2) }, { weight: 1, arbitrary: fc.constantFrom(3, 4) });
  const baseArb: fc.Arbitrary<BaseChoice> = fc.record({
    rev: fc.oneof(
      { weight: 6, arbitrary: fc.constant("object" as const) },
      { weight: 2, arbitrary: fc.constant("head" as const) },
      { weight: 1, arbitrary: fc.constant("none" as const) },
      { weight: 3, arbitrary: fc.nat(14) },
    ),
    hash: fc.oneof(
      { weight: 6, arbitrary: fc.constant("none" as const) },
      { weight: 2, arbitrary: fc.constant("object" as const) },
      { weight: 1, arbitrary: fc.constant("other" as const) },
    ),
  });
  const changeArb: fc.Arbitrary<AbstractChange> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant("add" as const),
        where: fc.oneof(
          { weight: 5, arbitrary: fc.record({ parent: fc.nat(), name: fc.constantFrom(...NAMES) }) },
          { weight: 1, arbitrary: fc.record({ path: pathArb }) },
        ),
        kind: fc.constantFrom<ObjectKind>("folder", "file"),
        blob: blobArb,
        meta: fc.nat(2),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant("modify" as const),
        target: targetArb,
        base: baseArb,
        blob: blobArb,
        meta: fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), target: targetArb, base: baseArb }) },
  );
  const commitArb = fc.record({
    changes: fc.oneof(
      { weight: 3, arbitrary: fc.array(changeArb, { minLength: 1, maxLength: 1 }) },
      { weight: 2, arbitrary: fc.array(changeArb, { minLength: 2, maxLength: 4 }) },
    ),
    /** Otherwise changes whose path an earlier change of the commit took are dropped. */
    keepDuplicates: fc.oneof({ weight: 1, arbitrary: fc.constant(true) }, { weight: 9, arbitrary: fc.constant(false) }),
  });

  function resolve(c: AbstractChange, head: Snapshot, headRev: number, blobHashes: string[]): StoreChange {
    const hashOf = (n: number) => (n < 3 ? blobHashes[n] : n === 3 ? "e".repeat(64) : undefined);
    const existing = [...head.keys()].sort(treeOrder);
    if (c.op === "add") {
      let path: string;
      if ("path" in c.where) path = c.where.path;
      else {
        const folders = existing.filter((p) => head.get(p)!.kind === "folder");
        const parent = folders[c.where.parent % folders.length]!;
        path = parent === "" ? c.where.name : `${parent}/${c.where.name}`;
      }
      // Folders get no hash, except now and then to exercise that rule.
      const hash = c.kind === "file" ? hashOf(c.blob) : c.blob === 3 ? blobHashes[0] : undefined;
      const meta = METAS[c.meta] ?? undefined;
      return { op: "add", path, kind: c.kind, ...(hash === undefined ? {} : { hash }), ...(meta ? { meta } : {}) };
    }
    // Picks among existing objects spare the root, which can only be modified.
    const pickable = c.op === "delete" && existing.length > 1 ? existing.slice(1) : existing;
    const path = "path" in c.target ? c.target.path : pickable[c.target.existing % pickable.length]!;
    const o = head.get(path);
    const bases: { baseRevision?: number; baseHash?: string } = {};
    if (c.base.rev === "object") bases.baseRevision = o?.revision ?? headRev;
    else if (c.base.rev === "head") bases.baseRevision = headRev;
    else if (typeof c.base.rev === "number") bases.baseRevision = c.base.rev % (headRev + 2); // head + 1 is invalid
    if (c.base.hash === "object" && o?.kind !== "folder") bases.baseHash = o?.hash ?? blobHashes[0]!;
    else if (c.base.hash === "other") bases.baseHash = blobHashes[1]!;
    if (c.op === "delete") return { op: "delete", path, ...bases };
    const hash = o?.kind === "folder" && c.blob !== 3 ? undefined : hashOf(c.blob);
    const change: StoreChange = { op: "modify", path, ...bases };
    if (hash !== undefined) change.hash = hash;
    if (c.meta !== 0) change.meta = METAS[c.meta];
    return change;
  }

  describe("model", () => {
    test("random commit sequences agree with an in-memory model", async (t) => {
      const blobContents = ["alpha", "beta beta", ""];
      const blobHashes = blobContents.map((c) => sha256(c));
      const blobs = new Map(blobContents.map((c, i) => [blobHashes[i]!, Buffer.byteLength(c)]));
      const verdicts = { ok: 0, invalid: 0, "out-of-date": 0 };

      await fc.assert(
        fc.asyncProperty(fc.array(commitArb, { minLength: 1, maxLength: 14 }), async (commits) => {
          await withStore(async (store) => {
            for (const content of blobContents) await putBlob(store, content);
            const snaps: Snapshot[] = [new Map([["", { kind: "folder", revision: 0 }]])];
            const logs: string[][] = [[""]];
            for (const abstract of commits) {
              const headRev = snaps.length - 1;
              let changes = abstract.changes.map((c) => resolve(c, snaps[headRev]!, headRev, blobHashes));
              if (!abstract.keepDuplicates) changes = changes.filter((c, i) => changes.findIndex((x) => x.path === c.path) === i);
              const expected = modelCommit(snaps, blobs, changes);
              verdicts[expected.kind]++;
              let actual: Verdict | { kind: "ok"; objects: StoredObject[]; deleted: string[]; revision: number };
              try {
                const r = await store.commit({ author: "m", note: "", changes });
                actual = { kind: "ok", objects: r.objects, deleted: r.deleted, revision: r.revision };
              } catch (err) {
                if (err instanceof InvalidChangeError) actual = { kind: "invalid" };
                else if (err instanceof OutOfDateError) actual = { kind: "out-of-date", paths: [...err.paths].sort() };
                else throw err;
              }
              const context = JSON.stringify(changes);
              assert.equal(actual.kind, expected.kind, context);
              if (expected.kind === "out-of-date") assert.deepEqual(actual, expected, context);
              if (expected.kind === "ok" && actual.kind === "ok") {
                assert.deepEqual(actual.objects, expected.objects, context);
                assert.deepEqual(actual.deleted, expected.deleted, context);
                snaps.push(expected.next);
                logs.push(changes.map((c) => c.path));
              }
              assert.equal((await store.info()).head, snaps.length - 1);
            }

            const head = snaps.length - 1;
            for (let r = 0; r <= head; r++) {
              assert.deepEqual(await store.listTree("", { revision: r }), modelTree(snaps[r]!), `listTree at ${r}`);
              assert.deepEqual(await store.listTree("a", { revision: r }), modelTree(snaps[r]!, "a"));
              for (const p of ["a/b", "b/a/a"]) {
                const o = snaps[r]!.get(p);
                assert.deepEqual(await store.getObject(p, { revision: r }), o && stored(p, o));
              }
            }
            assert.deepEqual(await store.listTree(""), modelTree(snaps[head]!));
            for (let since = 0; since <= head; since++) {
              for (let until = since; until <= head; until++) {
                for (const under of ["", "a"]) {
                  const before = snaps[since]!;
                  const now = snaps[until]!;
                  const changed = modelTree(now, under).filter((o) => o.revision > since);
                  const deleted = [...before.keys()]
                    .filter((p) => (p === under || inside(under, p)) && !now.has(p))
                    .sort(treeOrder);
                  assert.deepEqual(await store.changesSince(under, since, { until }), { changed, deleted }, `${under} ${since}..${until}`);
                }
              }
            }
            const logA = (await store.log("a")).map((r) => r.revision);
            const expectedLogA = logs.map((ps, r) => (ps.some((p) => p === "a" || inside("a", p)) ? r : -1)).filter((r) => r >= 0).reverse();
            assert.deepEqual(logA, expectedLogA);
          });
        }),
        { numRuns: 150 },
      );
      t.diagnostic(`verdicts: ${JSON.stringify(verdicts)}`);
      // The generators must actually reach all three verdicts.
      assert.ok(verdicts.ok > 200 && verdicts.invalid > 100 && verdicts["out-of-date"] > 100, JSON.stringify(verdicts));
    });
  });
}

for (const backend of STORE_BACKENDS) describe(backend.name, () => storeContract(backend));
