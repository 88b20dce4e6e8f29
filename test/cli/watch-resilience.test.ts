/**
 * `zsync watch` and its neighbours when things go wrong, end to end (real zsync-server, real
 * `zsync` processes): a connection that goes silent without closing (a laptop that slept) is
 * dropped after 4 announced heartbeats and the watcher catches up; a command run while another
 * process holds the checkout lock waits for it instead of failing, and a dead holder's lock is
 * still taken over at once; and (in-process, the one fault injected: an unprivileged test cannot
 * fill the inotify table) the OS watch limit is reported, then polled around or fatal.
 * Every wait is for something a process says, never for the clock.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createZsyncClient } from "../../src/transport/http/client.js";
import { WcError } from "../../src/wc/admin.js";
import { watch, type WatchEvent } from "../../src/wc/watch/watch.js";
import { cliEnv, zsync, type CliResult } from "../helpers/cli.js";
import { fakeWatcher } from "../helpers/fake-watcher.js";
import { freezingProxy, type FreezingProxy } from "../helpers/proxy.js";
import { CLIENT_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";
import { startWatch, type WatchLine, type WatchProcess } from "../helpers/watch.js";

async function ok(args: string[], cwd: string): Promise<CliResult> {
  const result = await zsync(args, { cwd });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** Resolves with the first text `stream` carries that matches `pattern`; rejects if `child` exits first. */
function waitForOutput(child: ChildProcess, stream: NodeJS.ReadableStream, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) {
        child.off("exit", onExit);
        stream.off("data", onData);
        resolve(text);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`exited (${code}) before ${what}; said:\n${text}`));
    stream.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Runs `zsync ARGS` in `cwd` as a process the test watches while it runs. */
function startZsync(args: string[], cwd: string): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const env = cliEnv();
  const child = spawn(process.execPath, [CLIENT_BIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  child.stdout!.resume();
  return { child, stderr: () => stderr, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
}

/**
 * A live process holding the checkout's lock the way a `zsync watch` action does, until it is
 * told (a line on its stdin) to release it.
 */
async function holdLock(root: string, command: string): Promise<{ pid: number; release(): Promise<void> }> {
  const script = `
    const { writeFileSync, rmSync } = require("node:fs");
    const file = ${JSON.stringify(join(root, ".zsync", "lock"))};
    writeFileSync(file, JSON.stringify({ pid: process.pid, command: ${JSON.stringify(command)}, started: new Date().toISOString() }), { flag: "wx" });
    process.stdout.write("held\\n");
    process.stdin.once("data", () => { rmSync(file); process.exit(0); });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  await waitForOutput(child, child.stdout!, /held\n/, "taking the lock");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    pid: child.pid!,
    async release() {
      child.stdin!.write("release\n");
      await exited;
    },
  };
}

describe("zsync watch resilience", () => {
  let work: string;
  let server: TestServer;
  let proxy: FreezingProxy;
  const watchers: WatchProcess[] = [];
  const checkout = async (name: string, url = server.url) => {
    await ok(["checkout", `${url.replace("://", "://zsync@")}/demo`, name, "-q"], work);
    return join(work, name);
  };

  before(async () => {
    work = await tempDir("zsync-watch-resilience-");
    // A 50 ms heartbeat: a silent connection is found dead after 0.2 s.
    server = await startServer({ args: ["--events-heartbeat", "0.05"] });
    proxy = await freezingProxy(server.url);
  });
  after(async () => {
    for (const w of watchers) await w.kill();
    await proxy?.close();
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("a connection gone silent (laptop asleep) is dropped after 4 heartbeats; the watcher reconnects and catches up", { timeout: 60_000 }, async () => {
    const watched = await checkout("sleeper", proxy.origin);
    const other = await checkout("awake");
    // --retry-max 0.5: the back-off stays short, but the silence must be noticed by the heartbeat (default idle: 60 s).
    const w = await startWatch(watched, ["--retry-max", "0.5"]);
    watchers.push(w);
    proxy.freeze();
    await writeFile(join(other, "README.txt"), "written while the laptop slept\n");
    await ok(["commit", "-m", "while asleep"], other);
    const lost = await w.waitFor((l) => l.event === "disconnected", "noticing the silent connection", 20_000);
    assert.match(lost.message, /silent for 0\.2 s \(4 heartbeats\)/);
    await w.waitFor((l: WatchLine) => l.event === "connected" && w.lines.indexOf(l) > w.lines.indexOf(lost), "reconnecting");
    await w.waitFor((l) => l.event === "update" && l.changes.some((c: { path: string }) => c.path === "README.txt"), "catching up");
    assert.equal(await readFile(join(watched, "README.txt"), "utf8"), "written while the laptop slept\n");
    assert.equal(await w.stop(), 0);
  });

  test("a command waits for a lock a live process holds, and goes on once it is released", { timeout: 60_000 }, async () => {
    const root = await checkout("waiter");
    await writeFile(join(root, "README.txt"), "committed after the wait\n");
    const holder = await holdLock(root, "watch");
    const commit = startZsync(["commit", "-m", "after the lock"], root);
    const said = await waitForOutput(commit.child, commit.child.stderr!, /waiting/, "saying it waits for the lock");
    assert.match(said, new RegExp(`waiting for \`zsync watch\` \\(process ${holder.pid}\\)`));
    await holder.release();
    assert.equal(await commit.exited, 0, commit.stderr());
    const status = await ok(["status"], root);
    assert.equal(status.stdout.trim(), "", "README.txt was committed");
  });

  test("a lock left by a dead process is taken over at once, without waiting", { timeout: 60_000 }, async () => {
    const root = await checkout("orphan");
    // A pid beyond Linux's pid_max (4194304): no process has it, as for a holder that died.
    await writeFile(join(root, ".zsync", "lock"), JSON.stringify({ pid: 99_999_999, command: "watch", started: new Date().toISOString() }));
    await writeFile(join(root, "README.txt"), "taken over\n");
    const result = await ok(["commit", "-m", "after a dead holder"], root);
    assert.doesNotMatch(result.stderr, /waiting/);
  });

  test("the OS watch limit: the watcher says so and polls; when polling fails too, it stops with the message", { timeout: 60_000 }, async () => {
    const root = await checkout("limited");
    const connect = async () => createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
    const events: WatchEvent[] = [];
    let connected: () => void = () => {};
    const online = new Promise<void>((resolve) => (connected = resolve));
    const polling = await watch(root, {
      connect,
      report: (event) => {
        events.push(event);
        if (event.type === "connected") connected();
      },
      createWatcher: (_dir, options) => fakeWatcher(options.usePolling ? undefined : "ENOSPC", []),
    });
    await online;
    await polling.stop();
    const limit = events.find((e) => e.type === "watch-limit");
    assert.ok(limit && /sysctl fs\.inotify\.max_user_watches=/.test(limit.message), JSON.stringify(events));
    assert.deepEqual(events.filter((e) => e.type === "watching").map((e) => e.type === "watching" && [e.polling, e.fastStatus]), [[true, false]], "polling, and status walks");

    await assert.rejects(
      watch(root, { connect, report: () => {}, createWatcher: () => fakeWatcher("EMFILE", []) }),
      (error: unknown) => error instanceof WcError && error.code === "watch-limit" && /ulimit -n/.test(error.message) && /even when polling/.test(error.message),
    );
  });
});
