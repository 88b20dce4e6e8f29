/**
 * Long and interrupted work on a terminal: the progress bar counts bytes as well as files, Ctrl-C
 * during a checkout says so and how to finish it, `status` in the half-made checkout says it is
 * incomplete, running the same checkout again points at `zsync update`, which finishes it, and
 * the partial download left in `.zsync/tmp` is gone after the next command.
 *
 * Deterministic: a proxy in front of the real server forwards the snapshot up to a byte count and
 * then holds the rest back; Ctrl-C is typed once the bar shows bytes and the proxy has stalled.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pty from "node-pty";
import { cliEnv, zsync, zsyncJson } from "../helpers/cli.js";
import { stripAnsi } from "../helpers/pty.js";
import { CLIENT_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";
import { Remote } from "../helpers/scenario.js";
import { storedCopies } from "../helpers/pristines.js";
import { packPaths } from "../../src/wc/pristine-pack.js";

let server: TestServer;
let proxy: Server;
let proxyOrigin = "";
/** Bytes of a snapshot answer forwarded before the proxy holds back; Infinity: pass everything. */
const state = { stallAfter: Infinity, stalled: undefined as undefined | (() => void) };

before(async () => {
  server = await startServer({ demo: true });
  const target = new URL(server.url);
  proxy = createServer((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      const limit = req.url!.includes("@@toFS.snarf") ? state.stallAfter : Infinity;
      let sent = 0;
      answer.on("data", (chunk: Buffer) => {
        if (sent >= limit) return;
        const part = sent + chunk.length > limit ? chunk.subarray(0, limit - sent) : chunk;
        sent += part.length;
        res.write(part);
        if (sent >= limit) {
          answer.pause(); // hold the rest back: the client waits, as on a slow link
          state.stalled?.();
        }
      });
      answer.on("end", () => res.end());
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyOrigin = `http://zsync@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
after(async () => {
  proxy.closeAllConnections();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await server.stop();
});

test("Ctrl-C during a checkout: says so; status says incomplete; checkout again points at update, which finishes it", async () => {
  const big = randomBytes(12 * 1024 * 1024);
  await new Remote(server).createFolder("large", { "big.bin": big, "a.txt": "a\n" });
  const parent = await tempDir("zsync-interrupt-");
  const url = `${proxyOrigin}/large`;

  state.stallAfter = 4 * 1024 * 1024;
  const stalled = new Promise<void>((resolve) => (state.stalled = resolve));
  const env = cliEnv({ TERM: "xterm" });
  const term = pty.spawn(process.execPath, [CLIENT_BIN, "checkout", url, "co"], { cwd: parent, env, cols: 200, rows: 30, name: "xterm" });
  let shown = "";
  const exited = new Promise<number>((resolve) => term.onExit((e) => resolve(e.exitCode)));
  const barShowsBytes = new Promise<void>((resolve) =>
    term.onData((d) => {
      shown += d;
      if (/Checking out \[.*\] \d+\/\d+ files, [\d.]+ MiB of 12\.0 MiB/.test(stripAnsi(shown))) resolve();
    }),
  );
  await Promise.all([stalled, barShowsBytes]);
  term.write("\x03"); // Ctrl-C
  const code = await exited;
  state.stallAfter = Infinity;
  await new Promise((r) => setImmediate(r));
  const output = stripAnsi(shown);
  assert.equal(code, 130, output);
  assert.match(output, /the checkout into co was interrupted; run `zsync update` in co to finish it/);

  const dir = join(parent, "co");
  const partial = readdirSync(join(dir, ".zsync", "tmp")).filter((n) => n.startsWith("in-"));
  assert.ok(partial.length > 0, "the test interrupted a download");
  const st = await zsyncJson<{ incomplete?: boolean; items: unknown[] }>(["status"], { cwd: dir });
  assert.equal(st.json.incomplete, true);
  assert.match(st.stderr, /this checkout is incomplete: its checkout was interrupted; run `zsync update`/);

  const again = await zsync(["checkout", url, "co"], { cwd: parent });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /co holds an interrupted checkout; run `zsync update` in co to finish it/);

  const up = await zsync(["update"], { cwd: dir });
  assert.equal(up.code, 0, up.stderr);
  for (const name of partial) assert.equal(existsSync(join(dir, ".zsync", "tmp", name)), false, "the partial download is gone");
  assert.deepEqual(readFileSync(join(dir, "big.bin")), big);
  assert.equal(readFileSync(join(dir, "a.txt"), "utf8"), "a\n");
  const clean = await zsyncJson<{ incomplete?: boolean; items: unknown[] }>(["status"], { cwd: dir });
  assert.equal(clean.json.incomplete, undefined);
  assert.deepEqual(clean.json.items, []);
});

/**
 * A new server folder `folder` of `count` small files, and `zsync checkout` of it into `co` on a
 * terminal, through the proxy, which holds the snapshot back after `stallAfter` bytes (`stalled`).
 */
async function stalledCheckout(folder: string, count: number, stallAfter: number) {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) files[`f${String(i).padStart(3, "0")}.txt`] = `${i}\n`.repeat(700);
  await new Remote(server).createFolder(folder, files);
  const parent = await tempDir(`zsync-kill-${folder}-`);
  state.stallAfter = stallAfter;
  const stalled = new Promise<void>((resolve) => (state.stalled = resolve));
  const term = pty.spawn(process.execPath, [CLIENT_BIN, "checkout", `${proxyOrigin}/${folder}`, "co"], { cwd: parent, env: cliEnv({ TERM: "xterm" }), cols: 200, rows: 30, name: "xterm" });
  const exited = new Promise<void>((resolve) => term.onExit(() => resolve()));
  return { files, dir: join(parent, "co"), term, stalled, exited };
}

test("kill -9 while a checkout receives small bodies (gathered into its pack): the update that finishes it never uses a torn pack", async () => {
  const { files, dir, term, stalled, exited } = await stalledCheckout("many", 200, 200 * 1024);
  let shown = "";
  // Some bodies received: the bar counts files once they are checked and stored.
  const someStored = new Promise<void>((resolve) =>
    term.onData((d) => {
      shown += d;
      if (/Checking out \[.*\] [1-9]\d*\/200 files/.test(stripAnsi(shown))) resolve();
    }),
  );
  await Promise.all([stalled, someStored]);
  term.kill("SIGKILL");
  await exited;
  state.stallAfter = Infinity;

  assert.equal(existsSync(join(dir, ".zsync", "journal.json")), false, "killed while receiving: no journal yet");
  // What a kill while receiving leaves: the pack being written, in .zsync/tmp, and no pack in
  // the store. Tear it too, as a kill in the middle of one of its writes would.
  const tmp = join(dir, ".zsync", "tmp");
  const partial = readdirSync(tmp).filter((name) => name.startsWith("in-pack-"));
  assert.equal(partial.length, 1, "the pack being written is in .zsync/tmp");
  truncateSync(join(tmp, partial[0]), Math.floor(readFileSync(join(tmp, partial[0])).length / 2));
  assert.equal(existsSync(packPaths(dir).pack), false, "no pack is in the store before it is whole");
  assert.equal(existsSync(packPaths(dir).index), false);

  const up = await zsync(["update"], { cwd: dir });
  assert.equal(up.code, 0, up.stderr);
  for (const [name, text] of Object.entries(files)) assert.equal(readFileSync(join(dir, name), "utf8"), text, name);
  assert.equal(existsSync(join(tmp, partial[0])), false, "the torn pack is gone");
  const copies = storedCopies(dir);
  assert.equal(copies.length, 200, "every body is stored again");
  for (const copy of copies) assert.equal(createHash("sha256").update(copy.bytes).digest("hex"), copy.hash, "every BASE copy is whole");
  const clean = await zsyncJson<{ incomplete?: boolean; items: unknown[] }>(["status"], { cwd: dir });
  assert.equal(clean.json.incomplete, undefined);
  assert.deepEqual(clean.json.items, []);
  const diff = await zsync(["diff"], { cwd: dir });
  assert.equal(diff.stdout, "");
});

test("kill -9 after a checkout made some working files early (src/wc/early-writes.ts): the update that finishes it keeps them and completes a cut-short one; one edited meanwhile is an obstruction, and resolving it keeps the edit", async () => {
  // More than one batch (1 MiB) of bodies gets through, then the proxy holds the rest back.
  const { files, dir, term, stalled, exited } = await stalledCheckout("early", 600, 1300 * 1024);
  await stalled;
  while (!existsSync(join(dir, "f002.txt"))) await new Promise((resolve) => setTimeout(resolve, 10)); // the worker wrote a batch
  term.kill("SIGKILL");
  await exited;
  state.stallAfter = Infinity;

  assert.equal(existsSync(join(dir, ".zsync", "journal.json")), false, "killed while receiving: no journal yet");
  const early = Object.keys(files).filter((name) => existsSync(join(dir, name)));
  assert.ok(early.length >= 3 && early.length < 600, `some working files were made early (${early.length})`);
  // As a kill in the middle of writing them would leave them: one cut short, one created empty.
  truncateSync(join(dir, "f000.txt"), 1000);
  truncateSync(join(dir, "f002.txt"), 0);
  writeFileSync(join(dir, "f001.txt"), "edited before the checkout was finished\n");

  const up = await zsync(["update"], { cwd: dir });
  assert.equal(up.code, 1, up.stdout + up.stderr);
  assert.match(up.stdout, /C {2}f001\.txt {2}\(obstructed: an unversioned file is in the way\)/);
  assert.match(up.stdout, /^U {2}f000\.txt$/m, "a cut-short file is completed like any other");
  assert.match(up.stdout, /^U {2}f002\.txt$/m);
  for (const [name, text] of Object.entries(files)) if (name !== "f001.txt") assert.equal(readFileSync(join(dir, name), "utf8"), text, name);
  assert.equal(readFileSync(join(dir, "f001.txt"), "utf8"), "edited before the checkout was finished\n", "the edit stays in place");

  const resolved = await zsync(["resolve", "--accept", "theirs-full", "f001.txt"], { cwd: dir });
  assert.equal(resolved.code, 0, resolved.stdout + resolved.stderr);
  assert.equal(readFileSync(join(dir, "f001.txt"), "utf8"), files["f001.txt"]);
  const saved = readdirSync(dir).filter((name) => name.startsWith("f001.txt."));
  assert.equal(saved.length, 1, saved.join(", "));
  assert.equal(readFileSync(join(dir, saved[0]), "utf8"), "edited before the checkout was finished\n", "the edit is kept aside");
  const st = await zsyncJson<{ incomplete?: boolean; items: { path: string }[] }>(["status"], { cwd: dir });
  assert.equal(st.json.incomplete, undefined);
  assert.deepEqual(st.json.items.map((i) => i.path), [saved[0]]);
});
