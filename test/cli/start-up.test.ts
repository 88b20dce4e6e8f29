/**
 * How the client starts (bin/bundle-loader.js, scripts/bundle-cli.js, docs/ARCHITECTURE.md
 * "Start-up"), end to end with the built binary:
 * - the build's code cache is accepted by this Node.js for this bundle;
 * - a cache made for another build, damaged or cut short is not used (V8 itself does not check
 *   the bytes: damaged data aborts the process), and the command still works;
 * - the bundle has no import() (a script compiled from a code cache cannot import());
 * - an offline command loads neither the network stack, child processes nor node:crypto it does
 *   not need, and a network command not node:http2 (undici's HTTP/2 is never used).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { closeSync, cpSync, openSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { after, before, describe, test } from "node:test";
import { cacheHeader, readCodeCache, wrapBundle } from "../../bin/bundle-loader.js";
import { backdateWorkingFiles, cliEnv, zsync } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const BUNDLE = join(REPO, "dist/bundle/zsync.cjs");

/** A copy of the binary and its bundle in a temp folder (node_modules linked), to spoil its cache. */
async function copyOfClient(): Promise<string> {
  const dir = await tempDir("zsync-start-up-");
  cpSync(join(REPO, "bin"), join(dir, "bin"), { recursive: true });
  cpSync(join(REPO, "dist/bundle"), join(dir, "dist/bundle"), { recursive: true });
  cpSync(join(REPO, "package.json"), join(dir, "package.json"));
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"));
  return dir;
}

/**
 * Runs `node BIN ARGS` and returns its exit code, output, and the Node.js modules it loaded.
 * Output goes to files: Node itself loads node:net for stdout or stderr on a pipe.
 */
async function runRecordingModules(bin: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string; modules: Set<string> }> {
  const dir = await tempDir("zsync-modules-");
  const [list, out, err] = ["modules.json", "stdout", "stderr"].map((name) => join(dir, name));
  const hook = `import { writeFileSync } from "node:fs"; process.on("exit", () => writeFileSync(${JSON.stringify(list)}, JSON.stringify(process.moduleLoadList)));`;
  const [outFd, errFd] = [openSync(out, "w"), openSync(err, "w")];
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(hook)}`, bin, ...args], { cwd, env: cliEnv(), stdio: ["ignore", outFd, errFd] });
      child.on("error", reject);
      child.on("close", (exit) => resolve(exit ?? -1));
    });
    const loaded = (JSON.parse(readFileSync(list, "utf8")) as string[]).filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice("NativeModule ".length));
    return { code, stdout: readFileSync(out, "utf8"), stderr: readFileSync(err, "utf8"), modules: new Set(loaded) };
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
}

test("the build's code cache is accepted for its bundle by this Node.js", { timeout: 60_000 }, () => {
  const source = readFileSync(BUNDLE, "utf8");
  const cachedData = readCodeCache(BUNDLE, source);
  assert.ok(cachedData && cachedData.length > 0, "dist/bundle/zsync.cjs.cache is missing or names another build");
  assert.equal(new Script(wrapBundle(source), { filename: BUNDLE, cachedData }).cachedDataRejected, false);
});

test("the bundle has no import(): a script compiled from a code cache cannot import", { timeout: 60_000 }, () => {
  assert.doesNotMatch(readFileSync(BUNDLE, "utf8"), /\bimport\s*\(/);
});

test("a cache of another build, a damaged or a cut one is not used, and the command works", { timeout: 120_000 }, async () => {
  const dir = await copyOfClient();
  const bundle = join(dir, "dist/bundle/zsync.cjs");
  const source = readFileSync(bundle, "utf8");
  const cache = readFileSync(`${bundle}.cache`);
  const data = cache.subarray(cache.indexOf(10) + 1);
  const cwd = await tempDir();
  const intact = await runRecordingModules(join(dir, "bin/zsync.js"), ["help", "status"], cwd);
  assert.equal(intact.code, 0, intact.stderr);
  assert.match(intact.stdout, /zsync status/);

  // V8 does not check a cache's bytes (damaged data aborts the process), so the loader must.
  const damaged = Buffer.from(data);
  for (let i = 64; i < damaged.length; i += 97) damaged[i] ^= 0x5a;
  const otherBuild = cacheHeader(source.replace(/^\/\/ zsync client build \w+/, "// zsync client build 0000000000000000"), data);
  const spoilt: [string, Buffer][] = [
    ["another build's", Buffer.concat([Buffer.from(otherBuild), data])],
    ["damaged", Buffer.concat([Buffer.from(cacheHeader(source, data)), damaged])],
    ["cut short", cache.subarray(0, cache.length >> 1)],
    ["empty", Buffer.alloc(0)],
  ];
  for (const [what, bytes] of spoilt) {
    writeFileSync(`${bundle}.cache`, bytes);
    assert.equal(readCodeCache(bundle, source), undefined, what);
    const r = await runRecordingModules(join(dir, "bin/zsync.js"), ["help", "status"], cwd);
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    assert.equal(r.stdout, intact.stdout, what);
    assert.equal(r.stderr, "", what);
  }
});

describe("what a command loads", () => {
  let server: TestServer;
  let work: string;
  before(async () => {
    server = await startServer();
    work = await tempDir();
    const co = await zsync(["checkout", `${server.url.replace("://", "://zsync@")}/demo`, "wc"], { cwd: work });
    assert.equal(co.code, 0, co.stderr);
  });
  after(async () => {
    await server?.stop();
  });

  test("a clean status: no network stack, child processes, HTTP/2 or node:crypto", { timeout: 120_000 }, async () => {
    const cwd = join(work, "wc");
    // Files an hour old: the first status caches their stats for good, the next hashes nothing.
    backdateWorkingFiles(cwd);
    assert.equal((await zsync(["status"], { cwd })).code, 0);
    const r = await runRecordingModules(join(REPO, "bin/zsync.js"), ["status"], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    for (const name of ["net", "tls", "http", "http2", "child_process", "crypto"]) assert.equal(r.modules.has(name), false, `status loaded node:${name}`);
  });

  test("an update: HTTP, but not HTTP/2 or child processes", { timeout: 120_000 }, async () => {
    const cwd = join(work, "wc");
    const r = await runRecordingModules(join(REPO, "bin/zsync.js"), ["update"], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /At revision \d+/);
    assert.ok(r.modules.has("http") && r.modules.has("net"), "update made no HTTP request?");
    for (const name of ["http2", "child_process"]) assert.equal(r.modules.has(name), false, `update loaded node:${name}`);
  });
});
