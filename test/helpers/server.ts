/**
 * Starts the real zsync-server binary on an ephemeral loopback port for end-to-end tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const SERVER_BIN = fileURLToPath(new URL("../../bin/zsync-server.js", import.meta.url));
export const CLIENT_BIN = fileURLToPath(new URL("../../bin/zsync.js", import.meta.url));

export interface TestServer {
  url: string;
  /** `zsync+ssh://HOST:PORT` when started with `--ssh-port`. */
  sshUrl?: string;
  port: number;
  dataDir: string;
  process: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Waits (up to 5 s unless told) until stderr matches: the request log line is written after the answer is sent. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Everything the server wrote to stdout so far. */
  stdout(): string;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>;
}

/** Temporary directories this test process made; removed when it exits (see `removeAtExit`). */
const madeHere: string[] = [];
let exitHook = false;

/**
 * Removes `dir` when this test process exits, unless `ZSYNC_KEEP_TEST_TMP=1`: a full run used to
 * leave gigabytes in the temp folder. A `screenshots` folder inside is kept: it holds the test's
 * artifacts, whose paths the test logged (docs/TESTING.md).
 */
export function removeAtExit(dir: string): void {
  madeHere.push(dir);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    if (process.env.ZSYNC_KEEP_TEST_TMP === "1") return;
    for (const made of madeHere) {
      try {
        if (!existsSync(join(made, "screenshots"))) rmSync(made, { recursive: true, force: true });
        else for (const name of readdirSync(made)) if (name !== "screenshots") rmSync(join(made, name), { recursive: true, force: true });
      } catch {
        // A server still writing there, or already removed: the temp folder is the OS's to clean.
      }
    }
  });
}

/** Makes a fresh temporary directory, removed when the test process exits. */
export async function tempDir(prefix = "zsync-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  removeAtExit(dir);
  return dir;
}

/**
 * Starts `zsync-server serve --demo --port 0` on a data directory (fresh unless given), on
 * 127.0.0.1 unless `host` says otherwise; `--tls-cert`/`--tls-key` in `args` make it https://.
 */
export async function startServer(opts: { dataDir?: string; args?: string[]; demo?: boolean; env?: Record<string, string>; host?: string; /** default 0: any free port */ port?: number } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await tempDir("zsync-server-"));
  const args = [SERVER_BIN, "--data-dir", dataDir, "serve", "--host", opts.host ?? "127.0.0.1", "--port", String(opts.port ?? 0), ...(opts.demo === false ? [] : ["--demo"]), ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stdout = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /listening on (https?:\/\/[^\s]+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve(match[1]);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`zsync-server exited with ${code} before listening:\n${stderr}`)));
    // A server that never says it listens must fail the test, not hang the run.
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`zsync-server did not start listening within 30 s:\n${stderr}`));
    }, 30_000).unref();
  });
  return {
    url,
    sshUrl: /ssh listening on (zsync\+ssh:\/\/[^\s]+)/.exec(stdout)?.[1],
    port: Number(new URL(url).port),
    dataDir,
    process: child,
    stderr: () => stderr,
    async waitForStderr(pattern: RegExp, timeoutMs = 5000) {
      // Woken by each chunk the server writes; the timeout only ends a wait for a line that never comes.
      if (pattern.test(stderr)) return stderr;
      await new Promise<void>((resolve) => {
        const check = () => {
          if (!pattern.test(stderr) && child.exitCode === null) return;
          done();
        };
        const done = () => {
          clearTimeout(timer);
          child.stderr!.off("data", check);
          child.off("exit", done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        // Registered after the collecting listener, so `stderr` already holds the chunk.
        child.stderr!.on("data", check);
        child.once("exit", done);
      });
      return stderr;
    },
    stdout: () => stdout,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Runs `zsync-server ARGS` to completion (account and store commands), with `env` added to the environment and `input` on stdin. */
export function zsyncServerCli(args: string[], opts: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_BIN, ...args], { stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stdout!.on("data", (c) => (stdout += c));
    child.stderr!.on("data", (c) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** `zsync-server --data-dir DIR ARGS`, which must succeed: its stdout and stderr, else an error carrying them. */
export async function serverCliOk(dataDir: string, args: string[], input?: string): Promise<string> {
  const result = await zsyncServerCli(["--data-dir", dataDir, ...args], { input });
  const out = result.stdout + result.stderr;
  if (result.code !== 0) throw new Error(`zsync-server ${args.join(" ")} exited ${result.code}:\n${out}`);
  return out;
}

/**
 * Runs `work` and measures the PEAK resident memory of process `pid` during it, from the kernel's
 * own high-water mark rather than from samples (which miss short peaks): writing 5 to
 * /proc/PID/clear_refs resets `VmHWM` to the current RSS (Linux >= 4.0), that is the baseline,
 * and `VmHWM` after `work` is the peak. Fails rather than measuring less when the reset is refused.
 */
export async function peakRssGrowthDuring(pid: number, work: () => Promise<void>): Promise<{ baseline: number; peak: number; growth: number }> {
  try {
    await writeFile(`/proc/${pid}/clear_refs`, "5");
  } catch (err) {
    throw new Error(`cannot reset the peak RSS of process ${pid} (/proc/${pid}/clear_refs): ${(err as Error).message}`);
  }
  const baseline = await procStatusBytes(pid, "VmHWM");
  await work();
  const peak = await procStatusBytes(pid, "VmHWM");
  return { baseline, peak, growth: peak - baseline };
}

/** A `kB` field of /proc/PID/status (VmRSS, VmHWM, …) in bytes. */
async function procStatusBytes(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Basic auth header of the demo account. */
export const DEMO_AUTH = "Basic " + Buffer.from("zsync:zsync").toString("base64");
