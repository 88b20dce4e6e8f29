/**
 * `zsync watch` end to end: real zsync-server, real `zsync watch --json` processes, real files.
 * Every wait is for a line the watcher prints (or a file system event), never for the clock.
 */
import assert from "node:assert/strict";
import { watch as fsWatch } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson, type CliResult } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { hostPublicKey, serverCli, sshKeygen, sshPort, writeKnownHosts } from "../helpers/ssh.js";
import { startWatch, type WatchLine, type WatchProcess } from "../helpers/watch.js";

const committed = (path: string) => (l: WatchLine) => l.event === "commit" && l.committed.some((c: { path: string }) => c.path === path);
const updated = (path: string) => (l: WatchLine) => l.event === "update" && l.changes.some((c: { path: string }) => c.path === path);

async function ok(args: string[], cwd: string): Promise<CliResult> {
  const result = await zsync(args, { cwd });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** The file's content on the server at head. */
async function serverText(server: TestServer, path: string): Promise<string> {
  const response = await fetch(`${server.url}/demo/${path}/@@cat`, { headers: { authorization: "Basic " + Buffer.from("zsync:zsync").toString("base64") } });
  assert.equal(response.status, 200);
  return response.text();
}

/** Revisions after `after` whose note says a watcher made them and that changed `path`. */
async function watcherCommitsOf(cwd: string, path: string, after: number): Promise<number> {
  const log = await zsyncJson<{ revisions: { revision: number; note: string }[] }>(["log", path], { cwd });
  assert.equal(log.code, 0, log.stderr);
  return log.json.revisions.filter((r) => r.revision > after && r.note.startsWith("zsync watch:")).length;
}

/** The revision a watcher connected at. */
const connectedAt = (w: WatchProcess) => w.lines.find((l) => l.event === "connected")!.revision as number;

describe("zsync watch", () => {
  let work: string;
  let server: TestServer;
  const watchers: WatchProcess[] = [];
  const checkout = async (name: string) => {
    await ok(["checkout", `${server.url.replace("://", "://zsync@")}/demo`, name, "-q"], work);
    return join(work, name);
  };
  const watching = async (dir: string, args: string[]) => {
    const w = await startWatch(dir, args);
    watchers.push(w);
    return w;
  };

  before(async () => {
    work = await tempDir("zsync-watch-");
    server = await startServer();
  });
  after(async () => {
    for (const w of watchers) await w.kill();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("two watchers with --commit: edits to different files converge on both sides", { timeout: 90_000 }, async () => {
    const a = await checkout("conv-a");
    const b = await checkout("conv-b");
    const wa = await watching(a, ["--commit=0.2"]);
    const wb = await watching(b, ["--commit=0.2"]);
    await writeFile(join(a, "README.txt"), "Alice was here\n");
    await writeFile(join(b, "docs/notes.txt"), "Bob was here\n");
    await wa.waitFor(committed("README.txt"), "a's commit");
    await wb.waitFor(committed("docs/notes.txt"), "b's commit");
    await wa.waitFor(updated("docs/notes.txt"), "b's edit arriving in a");
    await wb.waitFor(updated("README.txt"), "a's edit arriving in b");
    for (const path of ["README.txt", "docs/notes.txt"]) {
      assert.equal(await readFile(join(a, path), "utf8"), await readFile(join(b, path), "utf8"), path);
      assert.equal(await readFile(join(a, path), "utf8"), await serverText(server, path), path);
    }
    await wa.stop();
    await wb.stop();
    const summary = wa.lines.at(-1)!;
    assert.equal(summary.event, "summary");
    assert.deepEqual(summary.conflicts, []);
  });

  test("edits to the same lines: one side gets a recorded conflict, nothing is lost, auto-commit waits for the resolution", { timeout: 90_000 }, async () => {
    const a = await checkout("same-a");
    const b = await checkout("same-b");
    const guide = "docs/guide.md";
    const original = await readFile(join(a, guide), "utf8");
    const firstLine = original.split("\n")[0];
    const alice = original.replace(firstLine, "# Alice's title");
    const bob = original.replace(firstLine, "# Bob's title");
    const wa = await watching(a, ["--commit=0.2"]);
    const wb = await watching(b, ["--commit=0.2"]);
    await Promise.all([writeFile(join(a, guide), alice), writeFile(join(b, guide), bob)]);
    const conflict = await Promise.race([wa, wb].map((w) => w.waitFor((l) => l.event === "conflict" && l.path === guide, "a conflict").then(() => w)));
    const [loser, loserDir, loserText, winner, winnerDir, winnerText] = conflict === wa ? [wa, a, alice, wb, b, bob] : [wb, b, bob, wa, a, alice];
    await winner.waitFor(committed(guide), "the winner's commit");
    assert.equal(await serverText(server, guide), winnerText, "the server has the winner's version, no markers");
    assert.ok(!loser.lines.some(committed(guide)), "the conflicted side did not commit the file");
    // No byte lost: the loser's own version is in its working file (between markers) and in FILE.mine.
    const working = await readFile(join(loserDir, guide), "utf8");
    assert.match(working, /<<<<<<< \.mine/);
    assert.ok(working.includes(loserText.split("\n")[0]) && working.includes(winnerText.split("\n")[0]));
    const artifacts = (await readdir(join(loserDir, "docs"))).filter((n) => n.startsWith("guide.md."));
    assert.ok(artifacts.includes("guide.md.mine"), artifacts.join(","));
    assert.equal(await readFile(join(loserDir, "docs/guide.md.mine"), "utf8"), loserText);
    assert.ok(!winner.lines.some((l) => l.event === "conflict"), "only one side conflicts");

    // Settled by hand and resolved: the watcher says so and commits the result; the other side gets it.
    const merged = original.replace(firstLine, "# Alice's and Bob's title");
    await writeFile(join(loserDir, guide), merged);
    for (let attempt = 0; ; attempt++) {
      const resolved = await zsync(["resolve", "--accept", "working", guide], { cwd: loserDir });
      if (resolved.code === 0) break;
      // The watcher may hold the lock for a moment (its own scan); try again, as a user would.
      assert.match(resolved.stderr, /locked/, resolved.stderr);
      assert.ok(attempt < 50, "the checkout stayed locked");
    }
    await loser.waitFor((l) => l.event === "resolved" && l.path === guide, "the resolution");
    const mergedCommit = await loser.waitFor(committed(guide), "the merged commit");
    const artifactNotices = loser.lines.filter((l) => l.event === "held" && /\.(mine|r\d+)$/.test(l.path));
    assert.deepEqual(artifactNotices, [], "the conflict's own artifacts are no news");
    await winner.waitFor((l) => updated(guide)(l) && l.target >= mergedCommit.revision, "the merged version arriving");
    assert.equal(await readFile(join(winnerDir, guide), "utf8"), merged);
    assert.equal(await serverText(server, guide), merged);
  });

  test("--policy reaches the watcher's updates: theirs takes the server's version, error keeps both", { timeout: 90_000 }, async () => {
    const theirs = await checkout("policy-theirs");
    const error = await checkout("policy-error");
    const other = await checkout("policy-other");
    const file = "docs/notes.txt";
    const original = await readFile(join(other, file), "utf8");
    await writeFile(join(theirs, file), "local edit, to be replaced\n");
    await writeFile(join(error, file), "local edit, to be kept\n");
    const wt = await watching(theirs, ["--policy", "theirs"]);
    const we = await watching(error, ["--policy=error"]);
    const serverVersion = original + "a line from the other checkout\n";
    await writeFile(join(other, file), serverVersion);
    const head = (await zsyncJson<{ revision: number }>(["commit", "-m", "other", file], { cwd: other })).json.revision;
    await wt.waitFor((l) => updated(file)(l) && l.target >= head, "the update under theirs");
    await we.waitFor((l) => l.event === "conflict" && l.path === file, "the conflict under error");
    assert.equal(await readFile(join(theirs, file), "utf8"), serverVersion, "theirs: the server's version replaced the working file");
    assert.ok(!wt.lines.some((l) => l.event === "conflict"), "theirs: no conflict");
    assert.equal(await readFile(join(error, file), "utf8"), "local edit, to be kept\n", "error: the working file is untouched (no markers)");
    const beside = (await readdir(join(error, "docs"))).filter((n) => n.startsWith("notes.txt.r"));
    assert.equal(beside.length, 2, `error: BASE and the server's version beside it: ${beside.join(",")}`);
    assert.ok((await Promise.all(beside.map((n) => readFile(join(error, "docs", n), "utf8")))).includes(serverVersion), "error: no byte of the server's version lost");
    await wt.stop();
    await we.stop();
  });

  test("rename-based saves and rapid repeated saves commit the final content exactly once", { timeout: 90_000 }, async () => {
    const a = await checkout("saves-a");
    const wa = await watching(a, ["--commit=0.3"]);
    // vim: write a swap/backup name, rename it over the file; JetBrains: ___jb_tmp___ / ___jb_old___.
    for (let i = 0; i < 5; i++) {
      await writeFile(join(a, ".README.txt.swp"), `vim save ${i}\n`);
      await rename(join(a, ".README.txt.swp"), join(a, "README.txt"));
    }
    await writeFile(join(a, "index.html___jb_tmp___"), "<p>jetbrains</p>\n");
    await rename(join(a, "index.html"), join(a, "index.html___jb_old___"));
    await rename(join(a, "index.html___jb_tmp___"), join(a, "index.html"));
    await rm(join(a, "index.html___jb_old___"));
    for (let i = 0; i < 30; i++) await writeFile(join(a, "docs/notes.txt"), `rapid save ${i}\n`);
    await wa.waitFor(committed("README.txt"), "the README commit");
    await wa.waitFor(committed("index.html"), "the index commit");
    await wa.waitFor(committed("docs/notes.txt"), "the notes commit");
    // A later, unrelated save: once it is committed, any second commit of the files above would have shown.
    await writeFile(join(a, "docs/guide.md"), "marker\n");
    await wa.waitFor(committed("docs/guide.md"), "the marker commit");
    for (const path of ["README.txt", "index.html", "docs/notes.txt"]) {
      assert.equal(wa.lines.filter(committed(path)).length, 1, `${path} committed once: ${JSON.stringify(wa.lines)}`);
      assert.equal(await watcherCommitsOf(a, path, connectedAt(wa)), 1, `${path}: one watcher revision on the server`);
    }
    assert.equal(await serverText(server, "README.txt"), "vim save 4\n");
    assert.equal(await serverText(server, "index.html"), "<p>jetbrains</p>\n");
    assert.equal(await serverText(server, "docs/notes.txt"), "rapid save 29\n");
    assert.ok(!wa.lines.some((l) => l.event === "held"), `no temp file was reported: ${JSON.stringify(wa.lines.filter((l) => l.event === "held"))}`);
    await wa.stop();
  });

  test("zsync status asks a running watcher and answers exactly what a walk answers", { timeout: 90_000 }, async () => {
    const a = await checkout("fast-status");
    const w = await watching(a, []);
    assert.equal(w.lines[0].fastStatus, true);
    type Status = { watcher?: boolean; items: { path: string; status: string; meta: string }[] };
    const both = async () => {
      const fast = await zsyncJson<Status>(["status"], { cwd: a });
      const walked = await zsyncJson<Status>(["status"], { cwd: a, env: { ZSYNC_NO_WATCHER: "1" } });
      assert.equal(fast.json.watcher, true, "answered with the watcher");
      assert.equal(walked.json.watcher, undefined);
      assert.deepEqual(fast.json.items, walked.json.items);
      return fast.json.items.map((i) => `${i.status}${i.meta[0]} ${i.path}`);
    };
    assert.deepEqual(await both(), []);
    await writeFile(join(a, "README.txt"), "changed\n");
    await mkdir(join(a, "newdir/sub"), { recursive: true });
    await writeFile(join(a, "newdir/sub/f.txt"), "new\n");
    await rm(join(a, "docs/notes.txt"));
    await writeFile(join(a, "docs/@@meta/guide.md.json"), JSON.stringify({ contentType: "text/markdown", extra: { title: "T" } }));
    assert.deepEqual(await both(), ["Mu README.txt", "=m docs/guide.md", "!u docs/notes.txt", "?u newdir"]);
    // A write right before the question is seen (the watcher syncs with a cookie file first).
    await writeFile(join(a, "index.html"), "just now\n");
    assert.ok((await both()).includes("Mu index.html"));
    await ok(["revert", "README.txt", "index.html"], a);
    // revert changes the entries (and keeps FILE.orig): the next answer walks, and agrees.
    assert.deepEqual(await both(), ["?u README.txt.orig", "=m docs/guide.md", "!u docs/notes.txt", "?u index.html.orig", "?u newdir"]);
    assert.equal(await w.stop(), 0);
    const after = await zsyncJson<Status>(["status"], { cwd: a });
    assert.equal(after.json.watcher, undefined, "without a watcher, status walks");
  });

  test("kill -9 of a watcher while it applies an update: the next command completes the checkout", { timeout: 90_000 }, async () => {
    const a = await checkout("kill-apply-a");
    const b = await checkout("kill-apply-b");
    await mkdir(join(b, "many"));
    for (let i = 0; i < 120; i++) await writeFile(join(b, "many", `f${i}.txt`), `file ${i}\n`.repeat(50));
    await ok(["add", "many"], b);
    const wa = await watching(a, []);
    const killed = new Promise<void>((resolve) => {
      const seen = fsWatch(join(a, ".zsync"), (_type, name) => {
        if (name === "journal.json") {
          seen.close();
          void wa.kill().then(resolve);
        }
      });
    });
    await ok(["commit", "-m", "many files"], b);
    await killed;
    const up = await ok(["update"], a);
    assert.doesNotMatch(up.stderr, /locked/);
    const status = await zsyncJson<{ items: unknown[] }>(["status"], { cwd: a });
    assert.deepEqual(status.json.items, [], "nothing half-applied is left");
    for (const i of [0, 60, 119]) assert.equal(await readFile(join(a, "many", `f${i}.txt`), "utf8"), `file ${i}\n`.repeat(50));
  });

  test("kill -9 of a watcher while it commits: the next commands complete, nothing is lost or doubled", { timeout: 90_000 }, async () => {
    const a = await checkout("kill-commit-a");
    await mkdir(join(a, "more"));
    for (let i = 0; i < 60; i++) await writeFile(join(a, "more", `g${i}.txt`), `g ${i}\n`);
    await ok(["add", "more"], a);
    await ok(["commit", "-m", "seed", "-q"], a);
    // At head, so the watcher's catch-up update has nothing to write: its first journal is the commit's.
    await ok(["update", "-q"], a);
    const seeded = (await zsyncJson<{ revisions: { revision: number }[] }>(["log", "more", "-l", "1"], { cwd: a })).json.revisions[0].revision;
    for (let i = 0; i < 60; i++) await writeFile(join(a, "more", `g${i}.txt`), `g ${i} edited\n`);
    // The commit's journal is written once the server has answered, before the checkout records
    // the new BASE: the most awkward moment to die.
    let watcher: WatchProcess | undefined;
    const killed = new Promise<void>((resolve) => {
      const seen = fsWatch(join(a, ".zsync"), (_type, name) => {
        if (name === "journal.json") {
          seen.close();
          const kill = () => (watcher ? void watcher.kill().then(resolve) : setImmediate(kill));
          kill();
        }
      });
    });
    watcher = await watching(a, ["--commit=0.1"]);
    await killed;
    await ok(["update", "-q"], a);
    const rest = await ok(["commit", "-m", "the rest, if any"], a);
    assert.match(rest.stdout, /Nothing to commit/, "the watcher's commit had reached the server; the next command finished recording it");
    const status = await zsyncJson<{ items: unknown[] }>(["status"], { cwd: a });
    assert.deepEqual(status.json.items, []);
    for (const i of [0, 59]) assert.equal(await serverText(server, `more/g${i}.txt`), `g ${i} edited\n`);
    const log = await zsyncJson<{ revisions: { revision: number }[] }>(["log", "more/g30.txt"], { cwd: a });
    assert.equal(log.json.revisions.filter((r) => r.revision > seeded).length, 1, `the edit is committed exactly once (${rest.stdout})`);
    const b = await checkout("kill-commit-b");
    assert.equal(await readFile(join(b, "more/g30.txt"), "utf8"), "g 30 edited\n");
  });
});

describe("zsync watch when the server goes away", () => {
  let work: string;
  let server: TestServer;
  let watcher: WatchProcess | undefined;
  before(async () => {
    work = await tempDir("zsync-watch-restart-");
    server = await startServer();
  });
  after(async () => {
    await watcher?.kill();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("killed and restarted: the watcher reconnects, catches up and commits once", { timeout: 90_000 }, async () => {
    const url = `${server.url.replace("://", "://zsync@")}/demo`;
    await ok(["checkout", url, "a", "-q"], work);
    await ok(["checkout", url, "b", "-q"], work);
    const a = join(work, "a");
    const b = join(work, "b");
    watcher = await startWatch(a, ["--commit=0.2", "--retry-max", "0.5"]);
    await server.kill();
    await watcher.waitFor((l) => l.event === "disconnected", "the lost connection");
    await writeFile(join(a, "README.txt"), "saved while the server was down\n");
    server = await startServer({ dataDir: server.dataDir, port: server.port });
    await writeFile(join(b, "docs/notes.txt"), "committed elsewhere meanwhile\n");
    await ok(["commit", "-m", "from b", "-q"], b);
    await watcher.waitFor(committed("README.txt"), "the commit after reconnecting");
    await watcher.waitFor(updated("docs/notes.txt"), "the catch-up");
    assert.equal(await readFile(join(a, "docs/notes.txt"), "utf8"), "committed elsewhere meanwhile\n");
    assert.equal(await serverText(server, "README.txt"), "saved while the server was down\n");
    assert.equal(watcher.lines.filter(committed("README.txt")).length, 1);
    assert.equal(await watcherCommitsOf(a, "README.txt", connectedAt(watcher)), 1, "one revision on the server, no duplicate");
    assert.equal(await watcher.stop(), 0);
    assert.equal(watcher.lines.at(-1)!.event, "summary");
  });
});

describe("zsync watch over zsync+ssh://", () => {
  let work: string;
  let server: TestServer;
  let watcher: WatchProcess | undefined;
  before(async () => {
    work = await tempDir("zsync-watch-ssh-");
    server = await startServer({ args: ["--ssh-port", "0"] });
  });
  after(async () => {
    await watcher?.kill();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("a watcher on the ssh endpoint (polling the file system) updates and commits", { timeout: 90_000 }, async () => {
    const home = join(work, "home");
    await mkdir(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    const key = await sshKeygen(join(home, ".ssh"), "id_ed25519");
    const added = await serverCli(server.dataDir, ["user", "key", "add", "zsync", `${key}.pub`]);
    assert.equal(added.code, 0, added.stderr);
    const port = sshPort(server);
    const knownHosts = await writeKnownHosts(join(work, "known_hosts"), port, await hostPublicKey(server.dataDir));
    const env = { HOME: home, ZSYNC_KNOWN_HOSTS: knownHosts, SSH_AUTH_SOCK: undefined, ZSYNC_PASSWORD: undefined };
    const viaSsh = await zsync(["checkout", `zsync+ssh://zsync@127.0.0.1:${port}/demo`, "s", "-q"], { cwd: work, env });
    assert.equal(viaSsh.code, 0, viaSsh.stderr);
    await ok(["checkout", `${server.url.replace("://", "://zsync@")}/demo`, "h", "-q"], work);
    const s = join(work, "s");
    const h = join(work, "h");
    watcher = await startWatch(s, ["--commit=0.2", "--poll"], env);
    assert.equal(watcher.lines[0].polling, true);
    await writeFile(join(h, "index.html"), "<p>from http</p>\n");
    await ok(["commit", "-m", "over http", "-q"], h);
    await watcher.waitFor(updated("index.html"), "the update over ssh");
    assert.equal(await readFile(join(s, "index.html"), "utf8"), "<p>from http</p>\n");
    await writeFile(join(s, "README.txt"), "saved on the ssh side\n");
    await watcher.waitFor(committed("README.txt"), "the commit over ssh");
    assert.equal(await serverText(server, "README.txt"), "saved on the ssh side\n");
    assert.equal(await watcher.stop(), 0);
  });
});
