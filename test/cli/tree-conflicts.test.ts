/**
 * Tree conflicts and mixed revisions (issue 10): each case a user met — a silent skip, a lost
 * add, a checkout no command could get out of — replayed through the built `zsync` binary against
 * a real zsync-server. Every test ends with the "no stuck checkout" check: resolve whatever is in
 * conflict, one `zsync update`, then `zsync commit` succeeds and `zsync status` shows no change of
 * a versioned path.
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { answerDroppingProxy } from "../helpers/proxy.js";
import { checkoutFresh, checkoutInProcess, fileAt, Remote, run, statusOf, updateOf, type Content } from "../helpers/scenario.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

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

/** A new server folder holding `tree` and two checkouts of it (A through the binary, B in-process). */
async function twoCheckouts(tree: Record<string, Content | null> = {}) {
  const folder = `tc${++counter}`;
  await remote.createFolder(folder, { "other.txt": "other\n", ...tree });
  const a = counter === 1 ? await checkoutFresh(remote.url(folder), "zsync-tc-") : await checkoutInProcess(remote, folder, "zsync-tc-");
  const b = await checkoutInProcess(remote, folder, "zsync-tc-");
  made.push(join(a, ".."), join(b, ".."));
  return { folder, a, b };
}

const text = (dir: string, path: string) => fileAt(dir, path)?.toString("utf8");

/** Status letters of versioned paths only (unversioned `?` items, e.g. `.orig` copies, are the user's). */
async function versionedChanges(dir: string): Promise<string[]> {
  return (await statusOf(dir)).items.filter((i) => i.status !== "?").map((i) => `${i.status}${i.meta === "modified" ? "M" : " "} ${i.path}`);
}

/** Resolve every conflict with `accept`, one update, then commit must succeed and leave no change. */
async function assertNotStuck(dir: string, accept = "working"): Promise<void> {
  const conflicted = (await statusOf(dir)).items.filter((i) => i.status === "C" || i.conflict);
  if (conflicted.length > 0) await run(["resolve", "--accept", accept], dir);
  const up = await zsync(["update"], { cwd: dir });
  assert.equal(up.code, 0, `update after resolving: ${up.stdout}${up.stderr}`);
  const ci = await zsync(["commit", "-m", "after the conflict"], { cwd: dir });
  assert.equal(ci.code, 0, `commit after resolving and updating must succeed:\n${ci.stdout}${ci.stderr}`);
  assert.deepEqual(await versionedChanges(dir), [], "status is clean after the commit");
}

describe("tree conflicts and mixed revisions through the binary", () => {
  test("case 1: mixed revisions — an edited file the server deleted after our own commit of it is a tree conflict, not a silent skip", async () => {
    const { a, b } = await twoCheckouts();
    writeFileSync(join(a, "v.txt"), "v1\n");
    await run(["add", "v.txt"], a);
    await run(["commit", "-m", "add v"], a); // A stays at the older revision; only v.txt's entry moves on
    await run(["update"], b);
    await run(["rm", "v.txt"], b);
    await run(["commit", "-m", "rm v"], b);
    appendFileSync(join(a, "v.txt"), "mine\n");
    const up = await updateOf(a);
    assert.equal(up.code, 1, JSON.stringify(up.report));
    assert.equal(up.byPath.get("v.txt")?.content, "C");
    assert.equal(up.byPath.get("v.txt")?.reason, "edited locally, deleted on the server");
    assert.equal(text(a, "v.txt"), "v1\nmine\n");
    const item = (await statusOf(a)).byPath.get("v.txt")!;
    assert.equal(item.status, "C");
    assert.equal(item.conflict?.kind, "tree");
    await assertNotStuck(a);
    // Keeping mine re-adds the file with the edit.
    assert.equal((await remote.entries(`tc${counter}`)).has("v.txt"), true);
  });

  test("case 1 variant: mixed revisions — an untouched file the server deleted after our commit is deleted locally (D)", async () => {
    const { a, b } = await twoCheckouts();
    writeFileSync(join(a, "v.txt"), "v1\n");
    await run(["add", "v.txt"], a);
    await run(["commit", "-m", "add v"], a);
    await run(["update"], b);
    await run(["rm", "v.txt"], b);
    await run(["commit", "-m", "rm v"], b);
    const up = await updateOf(a);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.byPath.get("v.txt")?.content, "D");
    assert.equal(existsSync(join(a, "v.txt")), false);
    assert.deepEqual(await versionedChanges(a), []);
    await assertNotStuck(a);
  });

  for (const accept of ["working", "theirs-full"] as const) {
    test(`case 2: a locally added folder vs a new server file of the same name is a tree conflict; the folder stays (resolve --accept ${accept})`, async () => {
      const { a, b } = await twoCheckouts();
      writeFileSync(join(b, "n"), "server file\n");
      await run(["add", "n"], b);
      await run(["commit", "-m", "file n"], b);
      mkdirSync(join(a, "n"));
      writeFileSync(join(a, "n", "inner.txt"), "inner\n");
      await run(["add", "n"], a);
      const up = await updateOf(a);
      assert.equal(up.code, 1, JSON.stringify(up.report));
      assert.equal(up.byPath.get("n")?.content, "C");
      assert.match(up.byPath.get("n")?.reason ?? "", /added locally as a folder, added on the server as a file/);
      assert.deepEqual(up.report.savedAside, []);
      assert.equal(text(a, "n/inner.txt"), "inner\n", "the local folder stays in place");
      assert.equal(existsSync(join(a, "n.zsync-saved")), false);
      const st = await statusOf(a);
      assert.equal(st.byPath.get("n")?.status, "C");
      assert.equal(st.byPath.get("n/inner.txt")?.status, "A");
      await run(["resolve", "--accept", accept, "n"], a);
      if (accept === "working") {
        await assertNotStuck(a);
        const server = await remote.entries(`tc${counter}`);
        assert.equal(server.get("n")?.kind, "folder", "keeping mine replaces the server's file by the folder");
        assert.equal(server.get("n/inner.txt")?.kind, "file");
      } else {
        // The server's side comes with the next update (the checkout stayed at its revision for it).
        assert.equal(text(a, "n.orig/inner.txt"), "inner\n");
        await run(["update"], a);
        assert.equal(text(a, "n"), "server file\n");
        assert.equal(text(a, "n.orig/inner.txt"), "inner\n", "the local folder is saved aside");
        await assertNotStuck(a);
      }
    });
  }

  test("case 2 variant: an unversioned folder in the way of a new server file is a tree conflict, the folder stays", async () => {
    const { a, b } = await twoCheckouts();
    writeFileSync(join(b, "n"), "server file\n");
    await run(["add", "n"], b);
    await run(["commit", "-m", "file n"], b);
    mkdirSync(join(a, "n"));
    writeFileSync(join(a, "n", "inner.txt"), "inner\n");
    const up = await updateOf(a);
    assert.equal(up.code, 1, JSON.stringify(up.report));
    assert.equal(up.byPath.get("n")?.content, "C");
    assert.deepEqual(up.report.savedAside, []);
    assert.equal(text(a, "n/inner.txt"), "inner\n");
    await run(["resolve", "--accept", "theirs-full", "n"], a);
    await run(["update"], a);
    assert.equal(text(a, "n"), "server file\n");
    assert.equal(text(a, "n.orig/inner.txt"), "inner\n");
    await assertNotStuck(a);
  });

  test("case 3: an obstructed add resolved with `working` keeps the server's metadata", async () => {
    const { folder, a, b } = await twoCheckouts();
    const meta = { contentType: "text/plain", extra: { title: "G" } };
    writeFileSync(join(b, "g.txt"), "theirs\n");
    await run(["add", "g.txt"], b);
    mkdirSync(join(b, "@@meta"), { recursive: true });
    writeFileSync(join(b, "@@meta", "g.txt.json"), JSON.stringify(meta));
    await run(["commit", "-m", "g with meta"], b);
    writeFileSync(join(a, "g.txt"), "mine\n");
    const up = await updateOf(a);
    assert.equal(up.code, 1);
    assert.equal(up.byPath.get("g.txt")?.content, "C");
    assert.ok(existsSync(join(a, "@@meta", "g.txt.json")), "the server's metadata file is written");
    await run(["resolve", "--accept", "working", "g.txt"], a);
    await assertNotStuck(a);
    assert.deepEqual((await remote.entries(folder)).get("g.txt")?.meta, meta, "the server keeps g.txt's metadata");
    assert.equal(text(a, "g.txt"), "mine\n");
    await run(["update"], b);
    assert.deepEqual(JSON.parse(readFileSync(join(b, "@@meta", "g.txt.json"), "utf8")), meta, "B keeps its metadata file");
  });

  for (const accept of ["working", "theirs-full"] as const) {
    test(`case 4: a locally added file vs a new server folder is a recorded tree conflict (resolve --accept ${accept})`, async () => {
      const { folder, a, b } = await twoCheckouts();
      mkdirSync(join(b, "n"));
      writeFileSync(join(b, "n", "inside.txt"), "server inside\n");
      await run(["add", "n"], b);
      await run(["commit", "-m", "folder n"], b);
      writeFileSync(join(a, "n"), "my file\n");
      await run(["add", "n"], a);
      const up = await updateOf(a);
      assert.equal(up.code, 1, JSON.stringify(up.report));
      assert.equal(up.byPath.get("n")?.content, "C");
      assert.match(up.byPath.get("n")?.reason ?? "", /added locally as a file, added on the server as a folder/);
      assert.equal(text(a, "n"), "my file\n");
      assert.equal((await statusOf(a)).byPath.get("n")?.status, "C");
      const again = await run(["resolve", "--accept", accept, "n"], a);
      assert.doesNotMatch(again.stdout + again.stderr, /not in conflict/);
      await assertNotStuck(a);
      const server = await remote.entries(folder);
      if (accept === "working") {
        assert.equal(server.get("n")?.kind, "file");
        assert.equal(text(a, "n"), "my file\n");
      } else {
        assert.equal(server.get("n")?.kind, "folder");
        assert.equal(text(a, "n/inside.txt"), "server inside\n");
        assert.equal(text(a, "n.orig"), "my file\n");
      }
    });
  }

  test("case 5: an untouched file replaced by a folder on the server is replaced in one update, no conflict", async () => {
    const { folder, a } = await twoCheckouts({ g: "plain file\n" });
    await remote.change(folder, { remove: ["g"] });
    await remote.change(folder, { add: { g: null, "g/inner.txt": "inner\n" } });
    const up = await updateOf(a);
    assert.equal(up.code, 0, JSON.stringify(up.report) + up.stderr);
    assert.equal(up.report.conflicts, 0);
    assert.equal(text(a, "g/inner.txt"), "inner\n");
    assert.deepEqual(await versionedChanges(a), []);
    assert.equal(up.report.revision, up.report.target);
  });

  test("case 5 variant: an untouched folder replaced by a file on the server is replaced in one update", async () => {
    const { folder, a } = await twoCheckouts({ g: null, "g/inner.txt": "inner\n" });
    await remote.change(folder, { remove: ["g"] });
    await remote.change(folder, { add: { g: "now a file\n" } });
    const up = await updateOf(a);
    assert.equal(up.code, 0, JSON.stringify(up.report) + up.stderr);
    assert.equal(text(a, "g"), "now a file\n");
    assert.deepEqual(await versionedChanges(a), []);
  });

  test("case 6: update restores a missing file the server did not change (svn: Restored)", async () => {
    const { folder, a } = await twoCheckouts({ "f.txt": "f\n", d: null, "d/x.txt": "x\n" });
    rmSync(join(a, "f.txt"));
    rmSync(join(a, "d"), { recursive: true });
    await remote.change(folder, { modify: { "other.txt": "changed\n" } });
    const up = await updateOf(a);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(text(a, "f.txt"), "f\n");
    assert.equal(text(a, "d/x.txt"), "x\n");
    assert.match(up.byPath.get("f.txt")?.reason ?? "", /restored/);
    assert.deepEqual(await versionedChanges(a), []);
    // Also when the server has nothing new.
    rmSync(join(a, "f.txt"));
    const plain = await zsync(["update"], { cwd: a });
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /Restored\s+f\.txt|f\.txt.*restored/);
    assert.equal(text(a, "f.txt"), "f\n");
  });

  test("case 7a: update says the checkout stayed at an older revision when paths were skipped", async () => {
    const { folder, a } = await twoCheckouts({ "f.txt": "base\n" });
    writeFileSync(join(a, "f.txt"), "mine\n");
    await remote.change(folder, { modify: { "f.txt": "theirs\n" } });
    await run(["update"], a, 1); // conflict
    const head = await remote.change(folder, { modify: { "f.txt": "theirs again\n" } });
    const up = await zsync(["update"], { cwd: a });
    assert.equal(up.code, 1, "a conflict still blocks the path");
    assert.doesNotMatch(up.stdout, new RegExp(`^Updated to revision ${head}\\.$`, "m"));
    assert.match(up.stdout, /stays at revision \d+/);
    await run(["resolve", "--accept", "theirs-full"], a);
    const done = await zsync(["update"], { cwd: a });
    assert.match(done.stdout, new RegExp(`Updated to revision ${head}\\.`));
  });

  test("case 7b: after merge, `resolve --accept mine-full` saves SOURCE's version under its own name", async () => {
    const { a, b } = await twoCheckouts({ "f.txt": "one\ntwo\n" });
    writeFileSync(join(a, "f.txt"), "one mine\ntwo\n");
    writeFileSync(join(b, "f.txt"), "one source\ntwo\n");
    const m = await zsync(["merge", b, a], { cwd: a });
    assert.equal(m.code, 1, m.stdout + m.stderr);
    const r = await run(["resolve", "--accept", "mine-full", "f.txt"], a);
    assert.equal(text(a, "f.txt"), "one mine\ntwo\n");
    const saved = /SOURCE's version saved as ([^\s;)]+)/.exec(r.stdout + r.stderr);
    assert.ok(saved, `resolve names SOURCE's saved version: ${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /your version saved as/);
    assert.equal(text(a, saved[1].replace(/['"]/g, "")), "one source\ntwo\n");
  });

  test("case 7c: merge of an edit to a path the server deleted says so when TARGET is up to date", async () => {
    const { folder, a, b } = await twoCheckouts({ "f.txt": "f\n" });
    writeFileSync(join(b, "f.txt"), "f edited\n");
    await remote.change(folder, { remove: ["f.txt"] });
    await run(["update"], a);
    const m = await zsync(["merge", b, a], { cwd: a });
    assert.doesNotMatch(m.stdout + m.stderr, /at another revision/);
    assert.match(m.stdout + m.stderr, /deleted on the server/);
  });

  test("a folder added by merge, deleted by hand, then added on the server comes from the server; commit is not stuck (model seed 1161571799)", async () => {
    const { folder, a, b } = await twoCheckouts();
    await run(["mkdir", "y"], b);
    writeFileSync(join(b, "y", "f.txt"), "from b\n");
    await run(["add", "y/f.txt"], b);
    const m = await zsync(["merge", b, a], { cwd: a });
    assert.equal(m.code, 0, m.stdout + m.stderr);
    assert.deepEqual(await versionedChanges(a), ["A  y", "A  y/f.txt"]);
    rmSync(join(a, "y"), { recursive: true, force: true }); // the merged addition, deleted by hand
    await run(["commit", "-m", "add y"], b);
    const up = await updateOf(a);
    assert.equal(up.code, 0, JSON.stringify(up.report));
    assert.equal(up.byPath.get("y")?.content, "N", "the server's folder comes in (nothing of the local addition is left)");
    assert.equal(up.byPath.get("y/f.txt")?.content, "U");
    assert.equal(text(a, "y/f.txt"), "from b\n");
    assert.deepEqual(await versionedChanges(a), [], "nothing missing: y is the server's folder at BASE");
    const ci = await zsync(["commit", "-m", "nothing to do"], { cwd: a });
    assert.equal(ci.code, 0, `commit is not stuck on a missing y:\n${ci.stdout}${ci.stderr}`);
    await assertNotStuck(a);
    assert.equal((await remote.entries(folder)).get("y/f.txt")?.size, 7);
  });

  test("revert of a path inside a folder that was removed and replaced by a file is refused, naming the folder (model seed 1121916620)", async () => {
    const { a } = await twoCheckouts({ d: null, "d/z": "z\n" });
    await run(["rm", "--force", "d"], a);
    writeFileSync(join(a, "d"), "my new file\n");
    const add = await zsync(["add", "d"], { cwd: a });
    assert.match(add.stdout + add.stderr, /'d' is scheduled for removal/, "adding over a scheduled removal is refused");
    const child = await zsync(["revert", "d/z"], { cwd: a });
    assert.notEqual(child.code, 0, child.stdout + child.stderr);
    assert.match(child.stderr, /can't revert 'd\/z' without reverting its folder 'd', which is scheduled for removal: run `zsync revert d`/);
    assert.doesNotMatch(child.stderr, /EEXIST/);
    assert.equal(existsSync(join(a, ".zsync", "journal.json")), false, "nothing was started");
    assert.equal(text(a, "d"), "my new file\n", "the user's file is untouched");
    assert.deepEqual(await versionedChanges(a), ["R  d", "R  d/z"]);
    // Reverting the folder brings it back, and keeps the user's file under another name.
    const parent = await zsync(["revert", "d"], { cwd: a });
    assert.equal(parent.code, 0, parent.stdout + parent.stderr);
    assert.equal(text(a, "d/z"), "z\n");
    assert.equal(text(a, "d.zsync-saved"), "my new file\n");
    assert.deepEqual(await versionedChanges(a), []);
    await assertNotStuck(a);
  });

  test("revert of a missing path inside a folder replaced on disk by a file is refused, naming the folder", async () => {
    const { a } = await twoCheckouts({ d: null, "d/z": "z\n" });
    rmSync(join(a, "d"), { recursive: true });
    writeFileSync(join(a, "d"), "in the way\n");
    const child = await zsync(["revert", "d/z"], { cwd: a });
    assert.notEqual(child.code, 0);
    assert.match(child.stderr, /can't revert 'd\/z': a file is where its folder 'd' belongs/);
    assert.equal(existsSync(join(a, ".zsync", "journal.json")), false);
    assert.equal(text(a, "d"), "in the way\n");
    await run(["revert", "-R", "d"], a);
    assert.equal(text(a, "d/z"), "z\n");
    assert.equal(text(a, "d.zsync-saved"), "in the way\n");
  });

  test("merge of an edit inside a folder TARGET removed and replaced by a file is a tree conflict, not ENOTDIR (soak seed 1109490318)", async () => {
    const { a, b } = await twoCheckouts({ d: null, "d/z": "z\n" });
    // TARGET (a): folder d removed, a file d in its place.
    await run(["rm", "--force", "d"], a);
    writeFileSync(join(a, "d"), "my file d\n");
    // SOURCE (b): d/z's content and metadata edited.
    writeFileSync(join(b, "d/z"), "z\nsource line\n");
    mkdirSync(join(b, "d/@@meta"), { recursive: true });
    writeFileSync(join(b, "d/@@meta/z.json"), JSON.stringify({ extra: { note: "from source" } }) + "\n");
    const m = await zsync(["merge", b, a], { cwd: a });
    assert.equal(m.code, 1, m.stdout + m.stderr);
    assert.doesNotMatch(m.stdout + m.stderr, /ENOTDIR/);
    assert.match(m.stdout, /C\s+d\/z/);
    assert.match(m.stdout + m.stderr, /changed in SOURCE inside a folder that is gone in TARGET/);
    assert.equal(existsSync(join(a, ".zsync", "journal.json")), false, "no pending journal in TARGET");
    assert.equal(text(a, "d"), "my file d\n", "TARGET's file is untouched");
    assert.equal(text(b, "d/z"), "z\nsource line\n", "SOURCE is untouched");
    const item = (await statusOf(a)).byPath.get("d/z")!;
    assert.equal(item.conflict?.kind, "tree");
    await assertNotStuck(a);
    assert.equal(text(a, "d"), "my file d\n");
  });

  test("a kept local replacement that is reverted before its commit lets the next update bring the server's object (soak seed 1109490318)", async () => {
    const { a, b } = await twoCheckouts();
    writeFileSync(join(a, "y"), "my file y\n");
    await run(["add", "y"], a);
    await run(["mkdir", "y"], b);
    await run(["commit", "-m", "folder y"], b);
    const clash = await updateOf(a);
    assert.equal(clash.byPath.get("y")?.reason, "added locally as a file, added on the server as a folder");
    await run(["resolve", "--accept", "working", "y"], a);
    // Kept: the next update leaves y alone (the next commit would replace the server's folder).
    await run(["update"], a);
    assert.equal(text(a, "y"), "my file y\n");
    // The user changes their mind: the local file goes, the addition is reverted.
    rmSync(join(a, "y"));
    const reverted = await run(["revert", "y"], a);
    assert.match(reverted.stdout, /Reverted 'y' \(run `zsync update` to get the server's object it replaced\)/);
    const up = await updateOf(a);
    assert.equal(up.code, 0, JSON.stringify(up.report));
    assert.equal(up.byPath.get("y")?.content, "N", "the server's folder comes");
    assert.equal(existsSync(join(a, "y")) && !existsSync(join(a, "y.orig")), true);
    assert.deepEqual(await versionedChanges(a), []);
    const fresh = await checkoutInProcess(remote, `tc${counter}`, "zsync-tc-");
    made.push(join(fresh, ".."));
    assert.deepEqual((await statusOf(a, true)).items.map((i) => i.path).sort(), (await statusOf(fresh, true)).items.map((i) => i.path).sort());
  });

  test("a folder deleted by hand that the server deleted and made again comes back with the server's new contents (soak seed 1109490318)", async () => {
    const { folder, a, b } = await twoCheckouts({ d: null, "d/z": "z\n", "d/y": "y\n" });
    await run(["rm", "d"], b);
    await run(["commit", "-m", "rm d"], b);
    await run(["mkdir", "d"], b);
    writeFileSync(join(b, "d/w"), "w\n");
    await run(["add", "d/w"], b);
    await run(["commit", "-m", "d again"], b);
    rmSync(join(a, "d"), { recursive: true });
    const up = await updateOf(a);
    assert.equal(up.code, 0, JSON.stringify(up.report));
    assert.equal(up.byPath.get("d")?.content, "U");
    assert.equal(up.byPath.get("d")?.reason, "restored: it was missing");
    assert.equal(up.byPath.get("d/w")?.content, "U");
    assert.equal(text(a, "d/w"), "w\n");
    assert.equal(existsSync(join(a, "d/z")), false);
    assert.deepEqual(await versionedChanges(a), []);
    assert.deepEqual([...(await remote.entries(folder)).keys()].filter((p) => p.startsWith("d")).sort(), ["d", "d/w"]);
    await assertNotStuck(a);
  });

  test("case 8: a commit the server saved whose answer was lost is recognised by the next commit", async () => {
    await remote.createFolder("tc-lost", { "f.txt": "one\n", "g.txt": "g\n" });
    const proxy = await answerDroppingProxy(server.url);
    try {
      const parent = await tempDir("zsync-tc-");
      made.push(parent);
      const dir = join(parent, "wc");
      await run(["checkout", `${proxy.origin.replace("://", "://zsync@")}/tc-lost`, dir], parent);
      writeFileSync(join(dir, "f.txt"), "one\ntwo\n");
      proxy.state.cutCommits = true;
      const lost = await zsync(["commit", "-m", "answer lost"], { cwd: dir });
      proxy.state.cutCommits = false;
      assert.notEqual(lost.code, 0);
      assert.equal(proxy.state.cut, 1);
      assert.equal((await remote.entries("tc-lost")).get("f.txt")?.size, 8, "the server saved the commit");
      // The next commit (of another change) succeeds and records f.txt as committed.
      writeFileSync(join(dir, "g.txt"), "g\nmore\n");
      const next = await zsync(["commit", "-m", "next"], { cwd: dir });
      assert.equal(next.code, 0, next.stdout + next.stderr);
      assert.deepEqual(await versionedChanges(dir), []);
      assert.equal(text(dir, "f.txt"), "one\ntwo\n");
      const server = await remote.entries("tc-lost");
      assert.equal(server.get("f.txt")?.size, 8);
      assert.equal(server.get("g.txt")?.size, 7);
    } finally {
      proxy.server.close();
    }
  });
});
