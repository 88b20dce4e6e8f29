/**
 * Helpers for the benchmark (bench/run.ts): timing whole commands, generating trees, starting
 * and stopping the servers (zsync-server, svnserve, git daemon) and cleaning up after them.
 * Nothing here is used by the tests.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncOptions } from "node:child_process";
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";

/** Result of one timed command. */
export interface Run {
  seconds: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** A command that failed: carries everything needed to report it. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly cwd: string,
    readonly run: Run,
  ) {
    super(`\`${command}\` (in ${cwd}) exited with ${run.code} after ${run.seconds.toFixed(2)} s\n` + tail("stdout", run.stdout) + tail("stderr", run.stderr));
    this.name = "CommandError";
  }
}

function tail(label: string, text: string): string {
  const trimmed = text.trimEnd();
  if (trimmed === "") return "";
  const lines = trimmed.split("\n");
  const shown = lines.length > 30 ? ["…", ...lines.slice(-30)] : lines;
  return `--- ${label} ---\n${shown.join("\n")}\n`;
}

/**
 * Runs a command to completion and times it as a whole, process start included
 * (`process.hrtime` around `spawnSync`). Throws {@link CommandError} on a non-zero exit
 * unless `okCodes` allows it.
 */
export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; okCodes?: number[]; input?: string }): Run {
  const spawnOpts: SpawnSyncOptions = {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    input: opts.input,
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  };
  if (!existsSync(opts.cwd)) {
    throw new CommandError([cmd, ...args].join(" "), opts.cwd, { seconds: 0, code: -1, stdout: "", stderr: `not run: ${opts.cwd} does not exist (an earlier step failed)` });
  }
  const start = process.hrtime.bigint();
  const result = spawnSync(cmd, args, spawnOpts);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const r: Run = {
    seconds,
    code: result.status ?? -1,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? "") + (result.error ? `\n${result.error.message}` : "") + (result.signal ? `\nkilled by ${result.signal}` : ""),
  };
  if (!(opts.okCodes ?? [0]).includes(r.code)) throw new CommandError([cmd, ...args].join(" "), opts.cwd, r);
  return r;
}

/** True when `cmd` can be run (e.g. `svn --version`). */
export function available(cmd: string, args: string[] = ["--version"]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return !r.error && r.status === 0;
}

/** First line of `cmd --version`-like output, for the record. */
export function versionOf(cmd: string, args: string[] = ["--version"]): string | null {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return String(r.stdout).split("\n")[0].trim();
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** An unused loopback TCP port (there is a small race before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A server process started by the bench; its output goes to a log file, never to a pipe. */
export interface ServerProcess {
  name: string;
  child: ChildProcess;
  log: string;
  /** Bytes the process wrote (sockets and files) so far, from /proc/PID/io; null if unreadable. */
  bytesWritten(): number | null;
  stop(): Promise<void>;
}

/** Every server still running, so {@link stopAllSync} can end them on any exit path. */
const running = new Set<ServerProcess>();

/**
 * Starts a long-running server. Output goes to `log` (a file), so a server that logs while
 * the bench sits in `spawnSync` can never block on a full pipe. Resolves once `ready()` says so.
 */
export async function startServer(
  name: string,
  cmd: string,
  args: string[],
  opts: { log: string; cwd: string; env?: NodeJS.ProcessEnv; ready: (logText: string) => boolean | Promise<boolean>; timeoutMs?: number },
): Promise<ServerProcess> {
  const fd = openSync(opts.log, "a");
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal ? 128 : -1);
      resolve();
    });
    child.once("error", () => {
      exitCode = -1;
      resolve();
    });
  });
  const server: ServerProcess = {
    name,
    child,
    log: opts.log,
    bytesWritten() {
      try {
        const io = readFileSync(`/proc/${child.pid}/io`, "utf8");
        const match = /^wchar:\s+(\d+)/m.exec(io);
        return match ? Number(match[1]) : null;
      } catch {
        return null;
      }
    },
    async stop() {
      running.delete(server);
      if (exitCode === null && child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  running.add(server);
  const deadline = Date.now() + (opts.timeoutMs ?? 20000);
  for (;;) {
    if (exitCode !== null) {
      running.delete(server);
      throw new Error(`${name} exited with ${exitCode} before it was ready:\n${readLog(opts.log)}`);
    }
    if (await opts.ready(readLog(opts.log))) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${name} was not ready after ${(opts.timeoutMs ?? 20000) / 1000} s:\n${readLog(opts.log)}`);
    }
    await sleep(50);
  }
}

/** Readiness check for servers that print nothing: the port accepts connections. */
export function portOpen(port: number): () => Promise<boolean> {
  return () => canConnect(port);
}

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Stops every server still running (for exit paths that cannot await, e.g. signals). */
export function stopAllSync(): void {
  for (const server of running) {
    try {
      server.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/**
 * Copies the fresh build (bin/, dist/, demo/ without its data, package.json; node_modules linked)
 * from `repoRoot` into `app` and returns the copied entry points, so a `npm run build` elsewhere
 * during a long run cannot swap modules under a command half-way (seen as "does not provide an
 * export named …" failures).
 */
export function snapshotBuild(repoRoot: string, app: string): { zsyncBin: string; serverBin: string } {
  mkdirSync(app);
  const skip = join(repoRoot, "demo", "data");
  for (const name of ["bin", "dist", "demo", "package.json"]) {
    cpSync(join(repoRoot, name), join(app, name), { recursive: true, filter: (source) => source !== skip });
  }
  symlinkSync(join(repoRoot, "node_modules"), join(app, "node_modules"), "dir");
  return { zsyncBin: join(app, "bin", "zsync.js"), serverBin: join(app, "bin", "zsync-server.js") };
}

/**
 * Runs a bench's `main` so that, on every exit path (success, failure, Ctrl-C), the servers it
 * started are stopped and its temporary directory is removed (or kept with `keep`). On failure
 * `onFailure` can print what was measured so far.
 */
export async function runBench(main: () => Promise<void>, opts: { root: () => string; keep: boolean; onFailure?: () => void }): Promise<void> {
  let cleaned = false;
  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    stopAllSync();
    const root = opts.root();
    if (root && !opts.keep) removeTree(root);
    else if (root) process.stderr.write(`kept ${root}\n`);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping servers and removing ${opts.root()}\n`);
      cleanupSync();
      process.exit(130);
    });
  }
  try {
    await main();
  } catch (error) {
    process.exitCode = 1;
    if (error instanceof CommandError) console.error(`bench failed: ${error.message}`);
    else console.error("bench failed:", error);
    opts.onFailure?.();
  } finally {
    await stopAll();
    cleanupSync();
  }
}

/** The options every bench takes: `--scale X` (or ZSYNC_BENCH_SCALE), `--keep` (or ZSYNC_BENCH_KEEP=1), `--runs N`, `--quick`. */
export function benchOptions(argv: string[], defaultRuns: number): { scale: number; keep: boolean; runs: number } {
  const option = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    scale: Number(option("--scale") ?? process.env.ZSYNC_BENCH_SCALE ?? 1),
    keep: argv.includes("--keep") || process.env.ZSYNC_BENCH_KEEP === "1",
    runs: argv.includes("--quick") ? 1 : Number(option("--runs") ?? defaultRuns),
  };
}

/** Removes a directory tree, ignoring errors (cleanup path). */
export function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // best effort
  }
}

// ---------------------------------------------------------------------------------------------
// Tree generation

/** mulberry32: a small seeded PRNG, so every run builds the same tree. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "the of and to in is that for it as with was on be by this are from or at an not which have but " +
  "folder file content server zsync checkout commit update status revision merge conflict pristine " +
  "metadata page template script image document index title author created modified property value " +
  "function return const let var if else while for import export class interface type async await"
).split(" ");

/** ~1 MiB of text lines made of words; files take slices of it. */
function makeCorpus(random: () => number): string {
  const lines: string[] = [];
  let size = 0;
  while (size < 1 << 20) {
    const n = 3 + Math.floor(random() * 12);
    const words: string[] = [];
    for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(random() * WORDS.length)]);
    const line = "  ".repeat(Math.floor(random() * 4)) + words.join(" ");
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join("\n") + "\n";
}

const TEXT_EXTENSIONS = ["txt", "html", "py", "md", "xml", "css", "js", "pt"];

export interface TreeStats {
  files: number;
  dirs: number;
  binaries: number;
  bytes: number;
  /** Relative paths of the text files (`/`-separated), in creation order. */
  textFiles: string[];
}

/**
 * Writes a tree of `files` files spread over `dirs` folders (10 top folders, each with
 * `dirs/10` subfolders holding the files): text files of 200 B - 64 KiB (90 % under 4 KiB),
 * plus `binaries` random binary files of 16 KiB - 1 MiB. Deterministic for a seed.
 */
export function generateTree(root: string, spec: { files: number; dirs: number; binaries: number; seed: number }): TreeStats {
  const random = prng(spec.seed);
  const corpus = makeCorpus(random);
  const top = Math.min(10, spec.dirs);
  const perTop = Math.max(1, Math.round(spec.dirs / top));
  const leaves: string[] = [];
  for (let t = 0; t < top; t++) {
    for (let s = 0; s < perTop; s++) leaves.push(`dir${String(t).padStart(2, "0")}/sub${String(s).padStart(3, "0")}`);
  }
  for (const leaf of leaves) mkdirSync(join(root, leaf), { recursive: true });
  const stats: TreeStats = { files: 0, dirs: top + leaves.length, binaries: 0, bytes: 0, textFiles: [] };
  const textCount = spec.files - spec.binaries;
  for (let i = 0; i < textCount; i++) {
    const leaf = leaves[i % leaves.length];
    const r = random();
    const size = r < 0.9 ? 200 + Math.floor(random() * 3800) : r < 0.99 ? 4096 + Math.floor(random() * 12288) : 16384 + Math.floor(random() * 49152);
    const offset = Math.floor(random() * (corpus.length - size));
    const ext = TEXT_EXTENSIONS[i % TEXT_EXTENSIONS.length];
    const rel = `${leaf}/file${String(i).padStart(6, "0")}.${ext}`;
    const body = `# ${rel} (seed ${spec.seed})\n` + corpus.slice(offset, offset + size);
    writeFileSync(join(root, rel), body);
    stats.files++;
    stats.bytes += Buffer.byteLength(body);
    stats.textFiles.push(rel);
  }
  for (let b = 0; b < spec.binaries; b++) {
    const leaf = leaves[Math.floor(random() * leaves.length)];
    const size = (16384 + Math.floor(random() * (1 << 20))) & ~3;
    const body = Buffer.alloc(size);
    for (let k = 0; k < size; k += 4) body.writeUInt32LE(Math.floor(random() * 4294967296), k);
    const rel = `${leaf}/blob${String(b).padStart(3, "0")}.${b % 2 ? "png" : "bin"}`;
    writeFileSync(join(root, rel), body);
    stats.files++;
    stats.binaries++;
    stats.bytes += size;
  }
  return stats;
}

/** Counts regular files below `root`, skipping the admin folders of the three tools. */
export function countFiles(root: string): number {
  let count = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (entry.name === ".zsync" || entry.name === ".svn" || entry.name === ".git") continue;
        walk(join(dir, entry.name));
      } else if (entry.isFile()) count++;
    }
  };
  if (existsSync(root)) walk(root);
  return count;
}
