/**
 * The bench's start-up and big-file rows (issue 11), kept apart from bench/run.ts's tree rows:
 *
 *  - start-up: `zsync --version` and `zsync status` in an empty checkout against `node -e 0`;
 *  - big files: `zsync commit` and `zsync checkout` of one large file (1 GiB at scale 1) against
 *    `cp` of the same file, with the peak RSS growth of the client and of the server.
 *
 * Each row is measured here and handed back as plain numbers; bench/run.ts prints them and turns
 * them into goal lines. Timings never go into tests.
 */
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { median, prng, removeTree, run } from "./lib.js";

/** One measured command: wall seconds and the peak resident set of the process. */
export interface Measured {
  seconds: number;
  /** Peak RSS of the process in bytes (VmHWM, sampled from /proc); null when unreadable. */
  peakRss: number | null;
}

/** The RSS of a running process in bytes (VmRSS), or null. */
function rssOf(pid: number | undefined, field: "VmRSS" | "VmHWM" = "VmRSS"): number | null {
  if (pid === undefined) return null;
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Runs a command to completion, timing it as a whole and sampling its peak RSS (and the RSS of
 * `watch`, another process such as the server) every 20 ms. Rejects on a non-zero exit.
 */
export function runSampled(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; watch?: number }): Promise<Measured & { watchedPeak: number | null }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-4000);
    });
    let peakRss: number | null = null;
    let watchedPeak: number | null = null;
    const sample = () => {
      const own = rssOf(child.pid, "VmHWM");
      if (own !== null) peakRss = Math.max(peakRss ?? 0, own);
      const other = rssOf(opts.watch);
      if (other !== null) watchedPeak = Math.max(watchedPeak ?? 0, other);
    };
    const timer = setInterval(sample, 20);
    child.once("error", (error) => {
      clearInterval(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) reject(new Error(`\`${cmd} ${args.join(" ")}\` exited with ${code}:\n${stderr}`));
      else resolve({ seconds, peakRss, watchedPeak });
    });
    sample();
  });
}

/** Start-up: medians of `runs` runs each, after one warm-up. */
export interface StartupResult {
  node: number;
  version: number;
  status: number;
}

/** Times `node -e 0`, `zsync --version` and `zsync status` in `emptyCheckout`. */
export function measureStartup(zsync: (args: string[], cwd: string) => { seconds: number }, emptyCheckout: string, runs: number, env: NodeJS.ProcessEnv): StartupResult {
  const time = (once: () => number) => {
    once();
    return median(Array.from({ length: runs }, once));
  };
  return {
    node: time(() => run(process.execPath, ["-e", "0"], { cwd: emptyCheckout, env }).seconds),
    version: time(() => zsync(["--version"], emptyCheckout).seconds),
    status: time(() => zsync(["status"], emptyCheckout).seconds),
  };
}

/** Big-file rows: one file of `bytes` bytes committed and checked out, against `cp`. */
export interface BigFileResult {
  bytes: number;
  cp: number;
  commit: Measured;
  checkout: Measured;
  /** Peak RSS of `zsync status -u` before the big file is added: the client's floor, subtracted to get its growth. */
  clientFloor: number | null;
  /** Server RSS before each command and its peak during it. */
  server: { commit: { before: number | null; peak: number | null }; checkout: { before: number | null; peak: number | null } };
}

/** Writes `bytes` pseudo-random (incompressible) bytes to `file`, 1 MiB at a time. */
export function writeBigFile(file: string, bytes: number, seed: number): void {
  const random = prng(seed);
  const block = Buffer.alloc(1 << 20);
  for (let k = 0; k < block.length; k += 4) block.writeUInt32LE(Math.floor(random() * 4294967296), k);
  const fd = openSync(file, "w");
  try {
    for (let written = 0, n = 0; written < bytes; n++) {
      // A different first word per block, so no two blocks are equal.
      block.writeUInt32LE(n, 0);
      const length = Math.min(block.length, bytes - written);
      writeSync(fd, block, 0, length);
      written += length;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Commits a new file of `bytes` bytes from `checkout` (a checkout of `url`), then checks `url`
 * out again into a new directory; `cp` copies the same file for the peer time. `serverPid` is
 * the zsync-server whose RSS is watched.
 */
export async function measureBigFile(opts: {
  zsyncArgs: (args: string[]) => string[];
  env: NodeJS.ProcessEnv;
  work: string;
  checkout: string;
  url: string;
  bytes: number;
  serverPid: number | undefined;
}): Promise<BigFileResult> {
  const { env, work } = opts;
  const node = process.execPath;
  const file = join(opts.checkout, "big.bin");
  writeBigFile(file, opts.bytes, 11);
  const copyTo = join(work, "cp-big.bin");
  // cp after a warm-up read, as zsync's commit also reads a file that was just written.
  run("sh", ["-c", 'cat "$1" > /dev/null', "sh", file], { cwd: work, env });
  const cp = run("cp", [file, copyTo], { cwd: work, env }).seconds;
  removeTree(copyTo);
  // The client's floor: a command that loads the whole client and talks to the server, on no data.
  const floor = await runSampled(node, opts.zsyncArgs(["status", "-u", "."]), { cwd: opts.checkout, env });
  run(node, opts.zsyncArgs(["add", "-q", "big.bin"]), { cwd: opts.checkout, env });
  const commitBefore = rssOf(opts.serverPid);
  const commit = await runSampled(node, opts.zsyncArgs(["commit", "-q", "-m", "big file"]), { cwd: opts.checkout, env, watch: opts.serverPid });
  const target = join(work, "big-checkout");
  mkdirSync(work, { recursive: true });
  const checkoutBefore = rssOf(opts.serverPid);
  const checkout = await runSampled(node, opts.zsyncArgs(["checkout", "-q", opts.url, target]), { cwd: work, env, watch: opts.serverPid });
  const received = readFileSync(join(target, "big.bin")).length;
  if (received !== opts.bytes) throw new Error(`the big file checked out with ${received} bytes, expected ${opts.bytes}`);
  removeTree(target);
  return {
    bytes: opts.bytes,
    cp,
    commit,
    checkout,
    clientFloor: floor.peakRss,
    server: { commit: { before: commitBefore, peak: commit.watchedPeak }, checkout: { before: checkoutBefore, peak: checkout.watchedPeak } },
  };
}

/** A goal line: what was measured and whether it met the goal (null: not measured). */
export interface Goal {
  target: string;
  measured: string;
  pass: boolean | null;
}

const MIB = 1048576;

/** Goal lines for the big-file rows: throughput ≥ 0.5× cp, RSS growth < 100 MB on both sides. */
export function bigFileGoals(r: BigFileResult | undefined): Goal[] {
  const goals: Goal[] = [];
  const label = r ? `${(r.bytes / MIB).toFixed(0)} MiB` : "big file";
  for (const op of ["commit", "checkout"] as const) {
    if (!r) {
      goals.push({ target: `${op} of a ${label} file: ≥ 0.5× cp throughput`, measured: "not measured", pass: null });
      goals.push({ target: `${op} of a ${label} file: client and server RSS growth < 100 MB`, measured: "not measured", pass: null });
      continue;
    }
    const m = r[op];
    const ratio = r.cp / m.seconds; // throughput ratio: zsync's bytes/s over cp's
    goals.push({
      target: `${op} of a ${label} file: ≥ 0.5× cp throughput`,
      measured: `zsync ${m.seconds.toFixed(2)} s vs cp ${r.cp.toFixed(2)} s = ${ratio.toFixed(2)}× cp's throughput (${(r.bytes / MIB / m.seconds).toFixed(0)} MiB/s)`,
      pass: ratio >= 0.5,
    });
    const client = m.peakRss !== null && r.clientFloor !== null ? m.peakRss - r.clientFloor : null;
    const s = r.server[op];
    const server = s.peak !== null && s.before !== null ? Math.max(0, s.peak - s.before) : null;
    goals.push({
      target: `${op} of a ${label} file: client and server RSS growth < 100 MB`,
      measured: `client ${mb(client)} (peak ${mb(m.peakRss)} − floor ${mb(r.clientFloor)}), server ${mb(server)}`,
      pass: client !== null && server !== null ? client < 100e6 && server < 100e6 : null,
    });
  }
  return goals;
}

/** Goal lines for start-up: `zsync --version` and `status` within 0.1 s (and 2×) of `node -e 0`. */
export function startupGoals(r: StartupResult | undefined): Goal[] {
  return (["version", "status"] as const).map((which) => {
    const target = `start-up: zsync ${which === "version" ? "--version" : "status (empty checkout)"} ≤ node -e 0 + 0.1 s`;
    if (!r) return { target, measured: "not measured", pass: null };
    const t = r[which];
    return { target, measured: `${t.toFixed(3)} s vs node -e 0 ${r.node.toFixed(3)} s (+${(t - r.node).toFixed(3)} s, ${(t / r.node).toFixed(2)}×)`, pass: t <= r.node + 0.1 };
  });
}

/** Goal line for checkout against `git clone --no-local` of the same tree. */
export function checkoutGoal(label: string, zsync: number | null, gitLocal: number | null): Goal {
  return {
    target: `checkout ${label}: zsync ≤ 1× git clone --no-local`,
    measured: zsync !== null && gitLocal !== null ? `${zsync.toFixed(3)} s vs ${gitLocal.toFixed(3)} s (${(zsync / gitLocal).toFixed(2)}×)` : "not measured",
    pass: zsync !== null && gitLocal !== null ? zsync <= gitLocal : null,
  };
}

function mb(bytes: number | null): string {
  return bytes === null ? "?" : `${(bytes / 1e6).toFixed(0)} MB`;
}

/** The rows as a small table for the report. */
export function speedTable(startup: StartupResult | undefined, big: BigFileResult | undefined): string[][] {
  const rows: string[][] = [];
  if (startup) {
    rows.push(["node -e 0", startup.node.toFixed(3), ""]);
    rows.push(["zsync --version", startup.version.toFixed(3), `${(startup.version / startup.node).toFixed(2)}× node -e 0`]);
    rows.push(["zsync status (empty checkout)", startup.status.toFixed(3), `${(startup.status / startup.node).toFixed(2)}× node -e 0`]);
  }
  if (big) {
    const size = `${(big.bytes / MIB).toFixed(0)} MiB`;
    rows.push([`cp of a ${size} file`, big.cp.toFixed(3), ""]);
    rows.push([`zsync commit of a ${size} file`, big.commit.seconds.toFixed(3), `${(big.commit.seconds / big.cp).toFixed(2)}× cp`]);
    rows.push([`zsync checkout of a ${size} file`, big.checkout.seconds.toFixed(3), `${(big.checkout.seconds / big.cp).toFixed(2)}× cp`]);
  }
  return rows;
}
