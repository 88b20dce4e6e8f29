/**
 * Bad input and hostile conditions: every case gets a clear message, a non-zero exit (1 runtime,
 * 2 usage) and changes nothing in the checkout (its files and `.zsync/` are compared before and
 * after; the only tolerated difference is new content-addressed blobs in `.zsync/pristine/`, a
 * cache of server content that an interrupted download may have filled — existing blobs must
 * stay byte-identical).
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeIndex } from "../../src/wc/index-file.js";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { checkoutInProcess, readTree, Remote, sha256, statusOf } from "../helpers/scenario.js";
import { dropPristine } from "../helpers/pristines.js";

let server: TestServer;
let remote: Remote;
let counter = 0;

before(async () => {
  server = await startServer({ demo: true });
  remote = new Remote(server);
});
const made: string[] = [];
after(async () => {
  await server.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp directory, removed after the run. */
async function scratch(): Promise<string> {
  const dir = await tempDir("zsync-bad-");
  made.push(dir);
  return dir;
}

/** Everything in a checkout, `.zsync/` included, as path → sha256. */
function fingerprint(dir: string): Map<string, string> {
  return new Map([...readTree(dir, { admin: true })].map(([p, b]) => [p, sha256(b)]));
}

/** Asserts that nothing but new pristine blobs appeared since `before`. */
function assertUnchanged(dir: string, before: Map<string, string>, label: string) {
  const now = fingerprint(dir);
  const isPristine = (p: string) => p.startsWith(".zsync/pristine/");
  for (const [path, hash] of before) assert.equal(now.get(path), hash, `${label}: ${path} changed or vanished`);
  const added = [...now.keys()].filter((p) => !before.has(p) && !isPristine(p));
  assert.deepEqual(added, [], `${label}: new files appeared`);
}

/** A new server folder and an in-process checkout of it, with one local edit. */
async function checkedOut(tree: Record<string, string | Buffer> = { "f.txt": "a\n", "g.txt": "g\n" }) {
  const folder = `bad${++counter}`;
  await remote.createFolder(folder, tree);
  const dir = await checkoutInProcess(remote, folder, "zsync-bad-");
  made.push(join(dir, ".."));
  writeFileSync(join(dir, "g.txt"), "g\nlocal edit\n");
  return { folder, dir };
}

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; origin: string }> {
  const http = createServer(handler);
  return new Promise((resolve) => http.listen(0, "127.0.0.1", () => resolve({ server: http, origin: `http://127.0.0.1:${(http.address() as AddressInfo).port}` })));
}

/**
 * A proxy in front of the real server that can cut snapshot answers: after `cutAfter` bytes of
 * a `@@toFS.snarf` body it destroys the connection — a server dying mid-response.
 */
async function flakyProxy() {
  const target = new URL(server.url);
  const state = { cutAfter: Infinity, cuts: 0 };
  const { server: http, origin } = await listen((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      const limit = req.url!.includes("@@toFS.snarf") ? state.cutAfter : Infinity;
      let sent = 0;
      answer.on("data", (chunk: Buffer) => {
        if (sent + chunk.length >= limit) {
          res.write(chunk.subarray(0, limit - sent));
          state.cuts++;
          answer.destroy();
          res.socket?.destroy();
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      answer.on("end", () => res.end());
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  return { state, origin, url: (folder: string) => `${origin.replace("://", "://zsync@")}/${folder}`, close: () => new Promise((r) => http.close(r)) };
}

describe("bad input gets a clear error, a non-zero exit, and changes nothing", { concurrency: 3 }, () => {
  test("a damaged .zsync/index: status, update and commit refuse with exit 1 and name `zsync cleanup`", async () => {
    const { dir } = await checkedOut();
    const file = join(dir, ".zsync/index");
    const text = readFileSync(file, "latin1");
    const at = text.indexOf('"f.txt"');
    writeFileSync(file, Buffer.from(text.slice(0, at + 2) + "#" + text.slice(at + 3), "latin1"));
    const before = fingerprint(dir);
    for (const args of [["status"], ["update"], ["commit", "-m", "x"]]) {
      const r = await zsync(args, { cwd: dir });
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /\.zsync\/index is corrupt \((.|\n)+\)\. Your files are untouched; run `zsync cleanup`/, args[0]);
      assertUnchanged(dir, before, args[0]);
    }
  });

  test("a corrupt .zsync/entries.json (a checkout in the previous format): status, update and commit refuse with exit 1", async () => {
    const { dir } = await checkedOut();
    rmSync(join(dir, ".zsync/index"));
    for (const garbage of ["{ not json", JSON.stringify({ format: 1, revision: 1, entries: { "": { kind: "folder", revision: 1 }, "f.txt": { kind: "file", revision: 1, hash: "nothex" } } })]) {
      writeFileSync(join(dir, ".zsync/entries.json"), garbage);
      const before = fingerprint(dir);
      for (const args of [["status"], ["update"], ["commit", "-m", "x"]]) {
        // Without ZSYNC_LOCK_WAIT a command waits up to a minute for the holder (test/cli/watch-resilience.test.ts).
        const r = await zsync(args, { cwd: dir, env: { ZSYNC_LOCK_WAIT: "0" } });
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, /entries\.json is corrupt \((.|\n)+\)\. Your files are untouched; check out again/, args[0]);
        assertUnchanged(dir, before, args[0]);
      }
    }
  });

  test("a missing pristine copy that update needs for a merge: exit 1, clear message, nothing changed", async () => {
    const { folder, dir } = await checkedOut();
    writeFileSync(join(dir, "f.txt"), "mine\na\n");
    await remote.change(folder, { modify: { "f.txt": "a\ntheirs\n", "g.txt": "g\ntheirs\n" } });
    const hash: string = decodeIndex(readFileSync(join(dir, ".zsync/index"))).entries.get("f.txt")!.hash!;
    dropPristine(dir, hash);
    const before = fingerprint(dir);
    const r = await zsync(["update"], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot merge f\.txt: its BASE copy .+ is missing, so nothing was changed/);
    assertUnchanged(dir, before, "update");
    // diff needs the BASE copy too.
    const d = await zsync(["diff", "f.txt"], { cwd: dir });
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stderr, /BASE copy .+ is missing/);
    assertUnchanged(dir, before, "diff");
    // So does revert: refused before its journal is written, so no later command finishes it.
    const rv = await zsync(["revert", "f.txt"], { cwd: dir });
    assert.equal(rv.code, 1, rv.stderr);
    assert.match(rv.stderr, /BASE copy .+ is missing/);
    assertUnchanged(dir, before, "revert");
    assert.equal(existsSync(join(dir, ".zsync/journal.json")), false);
    // The way out the message gives works: move the file aside, update, carry the edits over.
    const mine = readFileSync(join(dir, "f.txt"));
    rmSync(join(dir, "f.txt"));
    const up = await zsync(["update"], { cwd: dir });
    assert.ok(up.code === 0 || up.code === 1, up.stderr);
    assert.equal(readFileSync(join(dir, "f.txt"), "utf8"), "a\ntheirs\n");
    assert.deepEqual(mine, Buffer.from("mine\na\n"));
  });

  test("a checkout URL that answers 200 with a web page: not a zsync server, exit 1, no directory", async () => {
    const { server: http, origin } = await listen((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body>Welcome!</body></html>");
    });
    try {
      const parent = await scratch();
      const r = await zsync(["checkout", `${origin.replace("://", "://zsync@")}/demo`, "wc"], { cwd: parent });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not a zsync server/);
      assert.ok(!existsSync(join(parent, "wc")), "no directory is left behind");
    } finally {
      http.close();
    }
  });

  test("a checkout URL that answers 404: not a zsync server, exit 1, no directory", async () => {
    const { server: http, origin } = await listen((_req, res) => {
      res.writeHead(404, { "content-type": "text/html" });
      res.end("<html><body>Not found</body></html>");
    });
    try {
      const parent = await scratch();
      const r = await zsync(["checkout", `${origin.replace("://", "://zsync@")}/demo`, "wc"], { cwd: parent });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /is not a zsync server \(GET \/\.well-known\/zsync answered 404\)/);
      assert.ok(!existsSync(join(parent, "wc")), "no directory is left behind");
    } finally {
      http.close();
    }
  });

  test("the server dies mid-snapshot during checkout: exit 1, no half checkout claiming to be complete", async () => {
    const folder = `bad${++counter}`;
    const tree: Record<string, Buffer> = {};
    for (let i = 0; i < 20; i++) tree[`f${i}.bin`] = randomBytes(50 * 1024);
    await remote.createFolder(folder, tree);
    const proxy = await flakyProxy();
    try {
      proxy.state.cutAfter = 500 * 1024;
      const parent = await scratch();
      const r = await zsync(["checkout", proxy.url(folder), "wc"], { cwd: parent });
      assert.equal(r.code, 1);
      assert.equal(proxy.state.cuts, 1, "the answer was cut");
      assert.match(r.stderr, /connection to the server broke off/);
      proxy.state.cutAfter = Infinity;
      const dir = join(parent, "wc");
      if (existsSync(dir)) {
        // Acceptable only as a checkout that knows it is unfinished and that update completes.
        const up = await zsync(["update"], { cwd: dir });
        assert.equal(up.code, 0, up.stderr);
      } else {
        const again = await zsync(["checkout", proxy.url(folder), "wc"], { cwd: parent });
        assert.equal(again.code, 0, again.stderr);
      }
      for (const [name, bytes] of Object.entries(tree)) assert.deepEqual(readFileSync(join(dir, name)), bytes, name);
      assert.deepEqual((await statusOf(dir)).items, []);
    } finally {
      await proxy.close();
    }
  });

  test("the server dies mid-snapshot during update: exit 1, nothing changed, the next update completes", async () => {
    const folder = `bad${++counter}`;
    const tree: Record<string, Buffer> = { "f.txt": Buffer.from("a\n") };
    for (let i = 0; i < 20; i++) tree[`f${i}.bin`] = randomBytes(50 * 1024);
    await remote.createFolder(folder, tree);
    const proxy = await flakyProxy();
    try {
      const parent = await scratch();
      const co = await zsync(["checkout", proxy.url(folder), "wc"], { cwd: parent });
      assert.equal(co.code, 0, co.stderr);
      const dir = join(parent, "wc");
      writeFileSync(join(dir, "f.txt"), "mine\na\n");
      const changed: Record<string, Buffer> = { "f.txt": Buffer.from("a\ntheirs\n") };
      for (let i = 0; i < 20; i++) changed[`f${i}.bin`] = randomBytes(50 * 1024);
      await remote.change(folder, { modify: changed });
      const before = fingerprint(dir);
      proxy.state.cutAfter = 500 * 1024;
      const r = await zsync(["update"], { cwd: dir });
      assert.equal(r.code, 1);
      assert.equal(proxy.state.cuts, 1, "the answer was cut");
      assert.match(r.stderr, /connection to the server broke off mid-transfer/);
      assertUnchanged(dir, before, "cut update");
      proxy.state.cutAfter = Infinity;
      const up = await zsync(["update"], { cwd: dir });
      assert.equal(up.code, 0, up.stderr);
      assert.equal(readFileSync(join(dir, "f.txt"), "utf8"), "mine\na\ntheirs\n");
      for (let i = 0; i < 20; i++) assert.deepEqual(readFileSync(join(dir, `f${i}.bin`)), changed[`f${i}.bin`]);
    } finally {
      await proxy.close();
    }
  });

  test("a path outside the checkout is a usage error (exit 2): status ../x, commit /etc/passwd", async () => {
    const { folder, dir } = await checkedOut();
    const before = fingerprint(dir);
    const onServer = JSON.stringify([...(await remote.entries(folder))]);
    const st = await zsync(["status", "../x"], { cwd: dir });
    assert.equal(st.code, 2, st.stderr);
    assert.match(st.stderr, /\.\.\/x is not inside the checkout at /);
    const ci = await zsync(["commit", "-m", "x", "/etc/passwd"], { cwd: dir });
    assert.equal(ci.code, 2, ci.stderr);
    assert.match(ci.stderr, /\/etc\/passwd is not inside the checkout at /);
    const inside = await zsync(["status", ".zsync/entries.json"], { cwd: dir });
    assert.equal(inside.code, 2, "the admin area is not a path a command works on");
    assertUnchanged(dir, before, "outside paths");
    assert.equal(JSON.stringify([...(await remote.entries(folder))]), onServer, "nothing was committed");
  });

  test("a checkout locked by a live process, ZSYNC_LOCK_WAIT=0: update and commit fail at once with a clear 'locked' error", async () => {
    const { dir } = await checkedOut();
    const holder: ChildProcess = spawn("sleep", ["60"], { stdio: "ignore" });
    try {
      writeFileSync(join(dir, ".zsync/lock"), JSON.stringify({ pid: holder.pid, command: "update", started: new Date().toISOString() }));
      const before = fingerprint(dir);
      for (const args of [["update"], ["commit", "-m", "x"]]) {
        // Without ZSYNC_LOCK_WAIT a command waits up to a minute for the holder (test/cli/watch-resilience.test.ts).
        const r = await zsync(args, { cwd: dir, env: { ZSYNC_LOCK_WAIT: "0" } });
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`the checkout is locked by \`zsync update\` \\(process ${holder.pid}\\); wait for it to finish`), args[0]);
        assertUnchanged(dir, before, args[0]);
      }
    } finally {
      holder.kill("SIGKILL");
      await new Promise((r) => (holder.exitCode !== null || holder.signalCode !== null ? r(null) : holder.once("exit", r)));
    }
    // A lock whose holder is gone is taken over.
    const r = await zsync(["update"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(join(dir, ".zsync/lock")));
  });

  test("a wrong password: exit 1 with a message about the credentials, nothing changed", async () => {
    const { folder, dir } = await checkedOut();
    await remote.change(folder, { modify: { "f.txt": "b\n" } });
    const before = fingerprint(dir);
    for (const args of [["update"], ["commit", "-m", "x"], ["status", "-u"]]) {
      const r = await zsync(args, { cwd: dir, env: { ZSYNC_PASSWORD: "wrong" } });
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /refused the credentials.*check the user name and password/, args[0]);
      assertUnchanged(dir, before, args[0]);
    }
    const parent = await scratch();
    const co = await zsync(["checkout", remote.url(folder), "wc"], { cwd: parent, env: { ZSYNC_PASSWORD: "wrong" } });
    assert.equal(co.code, 1);
    assert.match(co.stderr, /refused the credentials/);
    assert.ok(!existsSync(join(parent, "wc")));
  });

  test("a bad metadata file is named once in status and commit", async () => {
    const { dir } = await checkedOut();
    mkdirSync(join(dir, "@@meta"), { recursive: true });
    writeFileSync(join(dir, "@@meta", "f.txt.json"), '{"contentType": 5}\n');
    const st = await zsync(["status"], { cwd: dir });
    assert.equal(st.stderr.split("@@meta/f.txt.json").length - 1, 1, st.stderr);
    assert.match(st.stderr, /contentType must be a string/);
    const ci = await zsync(["commit", "-m", "x"], { cwd: dir });
    assert.equal(ci.code, 1);
    assert.equal(ci.stderr.split("@@meta/f.txt.json").length - 1, 1, ci.stderr);
  });

  test("status of a path that is not there warns (svn), exit 1; --json lists it in notFound", async () => {
    const { dir } = await checkedOut();
    const r = await zsync(["status", "nonexist.txt", "g.txt"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /warning: nonexist\.txt is not there: neither a file on disk nor a versioned path/);
    assert.match(r.stdout, /^M +g\.txt$/m, "the paths that are there are still reported");
    const json = await zsync(["status", "nonexist.txt", "--json"], { cwd: dir });
    assert.deepEqual(JSON.parse(json.stdout).notFound, ["nonexist.txt"]);
    rmSync(join(dir, "f.txt"));
    const missing = await zsync(["status", "f.txt"], { cwd: dir });
    assert.equal(missing.code, 0, "a versioned file gone from disk is '!', not a typo");
    assert.match(missing.stdout, /^! +f\.txt$/m);
  });

  test("files kept beside metadata files under @@meta/ (.orig) show in status as unversioned", async () => {
    const { dir } = await checkedOut();
    mkdirSync(join(dir, "@@meta"), { recursive: true });
    writeFileSync(join(dir, "@@meta", "f.txt.json.orig"), "{}\n");
    const { json } = await zsyncJson<{ items: { path: string; status: string }[] }>(["status"], { cwd: dir });
    assert.deepEqual(json.items.find((i) => i.path === "@@meta/f.txt.json.orig")?.status, "?");
    const only = await zsync(["status", "g.txt"], { cwd: dir });
    assert.doesNotMatch(only.stdout, /orig/, "a status of other paths leaves it out");
  });

  test("revert of a file replaced by a folder says the folder was in the way, and keeps it", async () => {
    const { dir } = await checkedOut();
    rmSync(join(dir, "f.txt"));
    mkdirSync(join(dir, "f.txt"));
    writeFileSync(join(dir, "f.txt", "inner.txt"), "keep me\n");
    const r = await zsync(["revert", "f.txt"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /a folder 'f\.txt' was in the way of the file; it was moved, with what is in it, to 'f\.txt\.zsync-saved'/);
    assert.doesNotMatch(r.stderr, /changed while zsync worked on it/);
    assert.equal(readFileSync(join(dir, "f.txt"), "utf8"), "a\n");
    assert.equal(readFileSync(join(dir, "f.txt.zsync-saved", "inner.txt"), "utf8"), "keep me\n");
  });

  test("the server's disk full (a real 16 MiB tmpfs): 507, 'the server is out of disk space; nothing was committed'", async (t) => {
    const mountPoint = join(await scratch(), "server-disk");
    mkdirSync(mountPoint);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mountPoint], { stdio: "ignore" });
    } catch {
      t.skip("cannot mount a tmpfs here (needs root); a full disk cannot be produced for real");
      return;
    }
    let full: TestServer | undefined;
    try {
      full = await startServer({ dataDir: join(mountPoint, "data") });
      const fullRemote = new Remote(full);
      await fullRemote.createFolder("site", { "a.txt": "a\n" });
      const parent = await scratch();
      const co = await zsync(["checkout", fullRemote.url("site"), "wc", "-q"], { cwd: parent });
      assert.equal(co.code, 0, co.stderr);
      const dir = join(parent, "wc");
      const big = randomBytes(3 * 1024 * 1024);
      writeFileSync(join(dir, "big.bin"), big);
      assert.equal((await zsync(["add", "big.bin"], { cwd: dir })).code, 0);
      // Leave well under 3 MiB free on the server's disk.
      const used = Number(execFileSync("df", ["--output=used", "-B1", mountPoint]).toString().split("\n")[1]);
      writeFileSync(join(mountPoint, "filler"), Buffer.alloc(16 * 1024 * 1024 - used - 1024 * 1024));
      const r = await zsync(["commit", "-m", "too big"], { cwd: dir });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /the server is out of disk space; nothing was committed/);
      const json = await zsync(["commit", "-m", "too big", "--json"], { cwd: dir });
      assert.equal(JSON.parse(json.stdout).error.code, "insufficient-storage");
      assert.equal((await statusOf(dir)).items.find((i) => i.path === "big.bin")?.status, "A", "still scheduled");
      rmSync(join(mountPoint, "filler"));
      const again = await zsync(["commit", "-m", "fits now"], { cwd: dir });
      assert.equal(again.code, 0, again.stderr);
      const fresh = await zsync(["checkout", fullRemote.url("site"), "fresh", "-q"], { cwd: parent });
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.deepEqual(readFileSync(join(parent, "fresh", "big.bin")), big);
    } finally {
      await full?.stop();
      execFileSync("umount", [mountPoint]);
    }
  });

  test("a full disk (a real 8 MiB tmpfs): clear 'disk full' message, and a retry after freeing space works", async (t) => {
    const mountPoint = join(await scratch(), "disk");
    mkdirSync(mountPoint);
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint], { stdio: "ignore" });
    } catch {
      t.skip("cannot mount a tmpfs here (needs root); a full disk cannot be produced for real");
      return;
    }
    try {
      const folder = `bad${++counter}`;
      const tree: Record<string, Buffer> = {};
      for (let i = 0; i < 30; i++) tree[`f${i}.bin`] = randomBytes(100 * 1024);
      await remote.createFolder(folder, tree);
      // 5 MiB taken: the 3 MiB folder (x2: pristine copy and working file) cannot fit in the rest.
      writeFileSync(join(mountPoint, "filler"), Buffer.alloc(5 * 1024 * 1024));
      const r = await zsync(["checkout", remote.url(folder), "wc"], { cwd: mountPoint });
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, new RegExp(`disk full while writing ${mountPoint}/wc/`), "the message names the file");
      rmSync(join(mountPoint, "filler"));
      const dir = join(mountPoint, "wc");
      t.diagnostic(existsSync(dir) ? "interrupted while writing the files: finished by cleanup" : "interrupted while receiving: no directory left, checked out again");
      if (existsSync(dir)) {
        // Interrupted while writing the files: the message says to run cleanup.
        assert.match(r.stderr, /run `zsync cleanup` in/);
        const c = await zsync(["cleanup"], { cwd: dir });
        assert.equal(c.code, 0, c.stderr);
      } else {
        assert.match(r.stderr, /free some space and run the command again/);
        const again = await zsync(["checkout", remote.url(folder), "wc"], { cwd: mountPoint });
        assert.equal(again.code, 0, again.stderr);
      }
      for (const [name, bytes] of Object.entries(tree)) assert.deepEqual(readFileSync(join(dir, name)), bytes, name);
      assert.deepEqual((await statusOf(dir)).items, []);
      const up = await zsync(["update"], { cwd: dir });
      assert.equal(up.code, 0, up.stderr);
    } finally {
      execFileSync("umount", [mountPoint]);
    }
  });
});
