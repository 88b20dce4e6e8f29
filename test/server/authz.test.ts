/**
 * The permission rules (src/server/authz): roles, nearest-grant-wins, `none` hiding, and the
 * permission-checked content view over a real SQLite store.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Access, ForbiddenError, HiddenPathError, resolveAccess } from "../../src/server/authz/access.js";
import { contentViewFor } from "../../src/server/authz/content-view.js";
import { openSqliteStore } from "../../src/server/store/sqlite.js";
import fc from "fast-check";
import { fuzzTest } from "../fuzz/runs.js";
import type { Store } from "../../src/server/store/types.js";

describe("Access rules", () => {
  test("account roles: reader reads, editor and manager write", () => {
    for (const [role, write] of [["reader", false], ["editor", true], ["manager", true]] as const) {
      const access = new Access("u", role);
      assert.equal(access.canRead("a/b"), true, role);
      assert.equal(access.canWrite("a/b"), write, role);
      assert.equal(access.canWrite(""), write, role);
    }
  });

  test("the nearest grant wins, at the path and below it only", () => {
    const access = new Access("u", "editor", [
      { path: "a", role: "none" },
      { path: "a/pub", role: "reader" },
      { path: "a/pub/drop", role: "editor" },
    ]);
    assert.equal(access.roleAt(""), "editor");
    assert.equal(access.roleAt("ab"), "editor", "a sibling with the same prefix is not inside a");
    assert.equal(access.roleAt("a"), "none");
    assert.equal(access.roleAt("a/x/y"), "none");
    assert.equal(access.roleAt("a/pub"), "reader");
    assert.equal(access.roleAt("a/pub/drop/f"), "editor");
    assert.equal(access.canRead("a/x"), false);
    assert.equal(access.canRead("a/pub/x"), true);
    assert.equal(access.canWrite("a/pub/x"), false);
    assert.equal(access.canWrite("a/pub/drop/x"), true);
  });

  test("listings are connected trees: a path below a hidden folder is not listed from above it", () => {
    const access = new Access("u", "reader", [
      { path: "a", role: "none" },
      { path: "a/pub", role: "reader" },
    ]);
    assert.equal(access.canSeeFrom("", "a/pub/x"), false);
    assert.equal(access.canSeeFrom("a/pub", "a/pub/x"), true);
    assert.equal(access.canSeeFrom("b", "a/pub/x"), false, "not inside the base");
    assert.equal(access.canSeeFrom("", "b/c"), true);
  });

  // canSeeFrom walks the path once; its definition is "the path and every folder from the base
  // down to it are readable", each by roleAt. Both are compared on random grants and paths.
  const segment = fc.constantFrom("a", "b", "ab");
  const repoPath = fc.array(segment, { maxLength: 4 }).map((parts) => parts.join("/"));
  const role = fc.constantFrom("manager", "editor", "reader", "none", "superuser");
  fuzzTest(
    "canSeeFrom is: the path is at or inside the base, and it and each folder between are readable",
    fc.property(role, fc.array(fc.tuple(repoPath, role), { maxLength: 5 }), repoPath, repoPath, (accountRole, grants, path, base) => {
      const access = new Access("u", accountRole, grants.map(([p, r]) => ({ path: p, role: r })));
      const parts = path === "" ? [] : path.split("/");
      const chain = ["", ...parts.map((_, i) => parts.slice(0, i + 1).join("/"))];
      const from = chain.indexOf(base);
      const expected = from >= 0 && chain.slice(from).every((p) => access.canRead(p));
      assert.equal(access.canSeeFrom(base, path), expected, `base ${JSON.stringify(base)}, path ${JSON.stringify(path)}`);
    }),
    { weight: 20 },
  );

  test("an unknown role string grants nothing", () => {
    const access = new Access("u", "superuser");
    assert.equal(access.canRead(""), false);
    assert.equal(access.canWrite(""), false);
  });

  test("checkChange: hidden → HiddenPathError, read-only → ForbiddenError, folder deletes need every grant inside to write", () => {
    const access = new Access("u", "editor", [
      { path: "d/secret", role: "none" },
      { path: "ro", role: "reader" },
      { path: "e/ro", role: "reader" },
    ]);
    assert.throws(() => access.checkChange("modify", "d/secret/x"), (e: HiddenPathError) => e instanceof HiddenPathError && e.message === "no object at /d/secret/x");
    assert.throws(() => access.checkChange("add", "ro/x"), (e: Error) => e instanceof ForbiddenError && /you \(reader\) may not add \/ro\/x/.test(e.message));
    assert.throws(() => access.checkChange("delete", "d"), ForbiddenError);
    assert.throws(() => access.checkChange("delete", "e"), ForbiddenError);
    access.checkChange("delete", "d/other");
    access.checkChange("modify", "e/x");
    access.checkChange("add", "new");
  });

  test("checkMayCommitTo: refused only when nothing at or below is writable", () => {
    const reader = new Access("r", "reader", [{ path: "a/b", role: "editor" }]);
    assert.throws(() => reader.checkMayCommitTo("c"), (e: Error) => e instanceof ForbiddenError && e.message === "you (reader) may not commit to /c");
    reader.checkMayCommitTo("a");
    reader.checkMayCommitTo("a/b/c");
    assert.throws(() => reader.checkMayCommitTo("a/bc"), ForbiddenError);
  });
});

describe("resolveAccess and the content view", () => {
  const dir = mkdtempSync(join(tmpdir(), "zsync-authz-"));
  let store: Store;
  let blob: string;
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  before(async () => {
    store = await openSqliteStore(join(dir, "r.db"));
    const file = join(dir, "blob");
    writeFileSync(file, "hello");
    blob = createHash("sha256").update("hello").digest("hex");
    await store.putBlobFromFile(blob, 5, file);
  });

  test("without accounts the principal keeps its role; with accounts the store's role and grants count, a removed account nothing", async () => {
    const anonymous = await resolveAccess(store, { name: "anonymous", role: "manager" });
    assert.equal(anonymous?.canWrite("x"), true);
    await store.addAccount("nina", "h", "editor");
    await store.setGrant({ account: "nina", path: "top/secret", role: "none" });
    assert.equal(await resolveAccess(store, { name: "anonymous", role: "manager" }), undefined);
    const nina = await resolveAccess(store, { name: "nina", role: "manager" });
    assert.equal(nina?.accountRole, "editor", "the role comes from the store, not from the transport's principal");
    assert.equal(nina?.canRead("top/secret/x"), false);
    await store.addAccount("gone", "h", "manager");
    assert.ok(await resolveAccess(store, { name: "gone", role: "manager" }));
    await store.removeAccount("gone");
    assert.equal(await resolveAccess(store, { name: "gone", role: "manager" }), undefined, "a removed account has no access, whatever its transport says");
  });

  test("hidden paths are absent from objects, listings, deltas and history; commits naming them are refused", async () => {
    const file = (path: string) => ({ op: "add" as const, path, kind: "file" as const, hash: blob });
    await store.commit({
      author: "m",
      note: "r1",
      changes: [{ op: "add", path: "top", kind: "folder" }, { op: "add", path: "top/secret", kind: "folder" }, file("top/a.txt"), file("top/secret/s.txt")],
    });
    const r2 = await store.commit({ author: "m", note: "r2 secret only", changes: [{ op: "delete", path: "top/secret/s.txt", baseRevision: 1 }] });
    await store.commit({ author: "m", note: "r3 both", changes: [file("top/b.txt"), file("top/secret/t.txt")] });

    const view = contentViewFor(store, (await resolveAccess(store, { name: "nina", role: "editor" }))!);
    assert.equal(await view.getObject("top/secret"), undefined);
    assert.equal(await view.getObject("top/secret/t.txt"), undefined);
    assert.ok(await view.getObject("top/a.txt"));
    assert.deepEqual((await view.listTree("top")).map((o) => o.path), ["top", "top/a.txt", "top/b.txt"]);
    assert.deepEqual(await view.listTree("top/secret"), []);
    assert.deepEqual((await view.listTree("top", { revision: 1 })).map((o) => o.path), ["top", "top/a.txt"]);
    const delta = await view.changesSince("top", 1);
    assert.deepEqual(delta.changed.map((o) => o.path), ["top/b.txt"]);
    assert.deepEqual(delta.deleted, [], "the deletion of a hidden file is not shown");

    const log = await view.log("top");
    assert.deepEqual(log.map((r) => r.revision), [3, 1], `revision ${r2.revision} changed only hidden paths`);
    assert.deepEqual(log[0].changes.map((c) => c.path), ["top/b.txt"]);
    assert.deepEqual((await view.log("top", { limit: 1, from: 2 })).map((r) => r.revision), [1], "limit is filled from older history");
    assert.deepEqual(await view.log("top/secret"), []);

    const head = (await store.info()).head;
    await assert.rejects(view.commit({ author: "nina", note: "x", changes: [file("top/secret/new.txt")] }), HiddenPathError);
    await assert.rejects(view.commit({ author: "nina", note: "x", changes: [{ op: "delete", path: "top", baseRevision: head }] }), ForbiddenError);
    assert.equal((await store.info()).head, head, "nothing was committed");
    const done = await view.commit({ author: "nina", note: "ok", changes: [file("top/c.txt")] });
    assert.equal(done.revision, head + 1);
  });
});
