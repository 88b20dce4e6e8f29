/**
 * The svn-like workflow end to end: the built `zsync` binary against a real zsync-server,
 * two checkouts of one folder, edits on both sides, status letters at every step.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

interface StatusJson {
  revision: number;
  items: { path: string; status: string; meta: string; kind: string; outOfDate?: boolean; conflict?: { kind: string; artifacts: string[] } }[];
}

/** `zsync status --json` as a map path → "XYZ" (content letter, metadata letter, `*` when out of date). */
async function letters(cwd: string, extra: string[] = []): Promise<Record<string, string>> {
  const { code, json } = await zsyncJson<StatusJson>(["status", ...extra], { cwd });
  assert.equal(code, 0);
  return Object.fromEntries(json.items.map((i) => [i.path, i.status + (i.meta === "modified" ? "M" : " ") + (i.outOfDate ? "*" : " ")]));
}

async function ok(args: string[], cwd: string) {
  const result = await zsync(args, { cwd });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe("two checkouts of one folder", () => {
  let server: TestServer;
  let work: string;
  let alice: string;
  let bob: string;
  before(async () => {
    server = await startServer();
    work = await tempDir();
    const url = `${server.url.replace("://", "://zsync@")}/demo`;
    const co = await zsyncJson<{ revision: number; root: string; changes: { path: string }[] }>(["checkout", url, "alice"], { cwd: work });
    assert.equal(co.code, 0);
    assert.ok(co.json.changes.some((c) => c.path === "docs/guide.md"));
    await ok(["checkout", url, "bob", "-q"], work);
    alice = join(work, "alice");
    bob = join(work, "bob");
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("a fresh checkout is clean and carries files and metadata files", async () => {
    assert.deepEqual(await letters(alice), {});
    const verbose = await letters(alice, ["-v"]);
    assert.equal(verbose["index.html"], "=  ");
    assert.equal(verbose["docs"], "=  ");
    assert.equal(await readFile(join(alice, "README.txt"), "utf8"), await readFile(join(bob, "README.txt"), "utf8"));
    const meta = JSON.parse(await readFile(join(alice, "@@meta/index.html.json"), "utf8"));
    assert.deepEqual(meta, { contentType: "text/html", extra: { title: "Welcome to the zsync demo" } });
    assert.ok(await stat(join(alice, "images/@@meta/logo.png.json")));
    assert.ok(await stat(join(alice, "@@meta/@@root.json")), "the root folder's own metadata");
    // No credentials in the checkout.
    const config = await readFile(join(alice, ".zsync/config.json"), "utf8");
    assert.doesNotMatch(config, /zsync:zsync|password/);
  });

  test("edit, commit, update: letters before and after each step", async () => {
    await writeFile(join(alice, "README.txt"), "alice was here\n");
    const meta = JSON.parse(await readFile(join(alice, "@@meta/index.html.json"), "utf8"));
    meta.extra.title = "Alice's title";
    await writeFile(join(alice, "@@meta/index.html.json"), JSON.stringify(meta, null, 2) + "\n");
    assert.deepEqual(await letters(alice), { "README.txt": "M  ", "index.html": "=M " });

    const ci = await zsyncJson<{ revision: number; committed: { path: string; action: string; content: boolean; meta: boolean }[] }>(["commit", "-m", "alice edits"], { cwd: alice });
    assert.equal(ci.code, 0);
    assert.deepEqual(
      ci.json.committed.map((c) => `${c.action} ${c.path} ${c.content} ${c.meta}`).sort(),
      ["modified README.txt true false", "modified index.html false true"],
    );
    assert.deepEqual(await letters(alice), {});

    // Bob edits another file meanwhile, and sees what is out of date.
    await writeFile(join(bob, "docs/guide.md"), (await readFile(join(bob, "docs/guide.md"), "utf8")) + "bob's line\n");
    assert.deepEqual(await letters(bob, ["-u"]), { "README.txt": "= *", "docs/guide.md": "M  ", "index.html": "= *" });

    const up = await zsyncJson<{ revision: number; changes: { path: string; content: string | null; meta: string | null }[] }>(["update"], { cwd: bob });
    assert.equal(up.code, 0);
    assert.equal(up.json.revision, ci.json.revision);
    assert.deepEqual(up.json.changes.map((c) => `${c.content ?? " "}${c.meta ?? " "} ${c.path}`).sort(), [" U index.html", "U  README.txt"].sort());
    assert.equal(await readFile(join(bob, "README.txt"), "utf8"), "alice was here\n");
    assert.equal(JSON.parse(await readFile(join(bob, "@@meta/index.html.json"), "utf8")).extra.title, "Alice's title");
    assert.deepEqual(await letters(bob), { "docs/guide.md": "M  " }, "bob's edit survives the update");
  });

  test("an out-of-date commit fails with the paths and changes nothing; after update it succeeds", async () => {
    await writeFile(join(alice, "docs/notes.txt"), "alice's notes\n");
    await ok(["commit", "-m", "notes by alice"], alice);
    const head = (await zsyncJson<{ revision: number }>(["update"], { cwd: alice })).json.revision;

    await writeFile(join(bob, "docs/notes.txt"), "bob's notes\n");
    const before = await readFile(join(bob, ".zsync/index"), "utf8");
    const failed = await zsyncJson<{ error: { code: string; message: string; paths: string[] } }>(["commit", "-m", "stale"], { cwd: bob });
    assert.equal(failed.code, 1);
    assert.equal(failed.json.error.code, "out-of-date");
    assert.deepEqual(failed.json.error.paths, ["docs/notes.txt"]);
    assert.match(failed.stderr, /out of date.*docs\/notes\.txt/s);
    assert.match(failed.stderr, /zsync update/);
    // Nothing changed on either side.
    assert.equal(await readFile(join(bob, ".zsync/index"), "utf8"), before);
    assert.equal(await readFile(join(bob, "docs/notes.txt"), "utf8"), "bob's notes\n");
    const serverLog = await zsyncJson<{ revision: number }>(["status", "-u"], { cwd: alice });
    assert.equal((await zsyncJson<{ revision: number }>(["update"], { cwd: alice })).json.revision, head, "no new revision on the server");
    void serverLog;

    // Update merges (both edited the whole one-line file: a conflict), resolve by hand, commit.
    const up = await zsync(["update"], { cwd: bob });
    assert.equal(up.code, 1, "unresolved conflicts exit 1");
    assert.match(up.stdout, /^C  docs\/notes\.txt/m);
    const conflicted = await readFile(join(bob, "docs/notes.txt"), "utf8");
    assert.match(conflicted, /^<<<<<<< \.mine\nbob's notes\n\|\|\|\|\|\|\| \.r\d+\n.*\n=======\nalice's notes\n>>>>>>> \.r\d+\n$/s);
    const st = await zsyncJson<StatusJson>(["status"], { cwd: bob });
    const item = st.json.items.find((i) => i.path === "docs/notes.txt")!;
    assert.equal(item.status, "C");
    assert.equal(item.conflict?.kind, "text");
    assert.equal(item.conflict?.artifacts.length, 3);
    for (const artifact of item.conflict!.artifacts) assert.ok(await stat(join(bob, artifact)), artifact);
    assert.equal(await readFile(join(bob, "docs/notes.txt.mine"), "utf8"), "bob's notes\n");

    const refused = await zsync(["commit", "-m", "with conflict"], { cwd: bob });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /conflict/);
  });

  test("a commit with no changes says so", async () => {
    const result = await ok(["commit", "-m", "nothing"], alice);
    assert.match(result.stdout, /Nothing to commit/);
  });
});

describe("checkout errors", () => {
  let server: TestServer;
  let work: string;
  before(async () => {
    server = await startServer();
    work = await tempDir();
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("a folder that does not exist: exit 1, no directory left", async () => {
    const result = await zsync(["checkout", `${server.url.replace("://", "://zsync@")}/nope`, "x"], { cwd: work });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no folder \/nope/);
    await assert.rejects(stat(join(work, "x")));
  });

  test("into a non-empty directory: refused, nothing touched", async () => {
    await mkdir(join(work, "full"));
    await writeFile(join(work, "full/mine.txt"), "mine");
    const result = await zsync(["checkout", `${server.url.replace("://", "://zsync@")}/demo`, "full"], { cwd: work });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /not empty/);
    assert.equal(await readFile(join(work, "full/mine.txt"), "utf8"), "mine");
    await assert.rejects(stat(join(work, "full/.zsync")));
  });

  test("usage errors exit 2", async () => {
    assert.equal((await zsync(["checkout"], { cwd: work })).code, 2);
    assert.equal((await zsync(["frobnicate"], { cwd: work })).code, 2);
    assert.equal((await zsync(["checkout", "ftp://x/y"], { cwd: work })).code, 2);
  });

  test("--depth files and immediates", async () => {
    const url = `${server.url.replace("://", "://zsync@")}/demo`;
    await ok(["checkout", url, "files", "--depth", "files"], work);
    await assert.rejects(stat(join(work, "files/docs")));
    assert.ok(await stat(join(work, "files/README.txt")));
    await ok(["checkout", url, "imm", "--depth", "immediates"], work);
    assert.ok((await stat(join(work, "imm/docs"))).isDirectory());
    await assert.rejects(stat(join(work, "imm/docs/guide.md")));
    assert.deepEqual(await letters(join(work, "imm")), {});
  });
});
