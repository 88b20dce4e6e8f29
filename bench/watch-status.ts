/**
 * `zsync status` with and without a running `zsync watch`, against `git status` (with git's
 * fsmonitor daemon where git offers one), on generated trees of 20k (and with `--large`, 100k)
 * files. Run with `npm run bench:watch` (see bench/README.md). Options: `--scale X`, `--runs N`,
 * `--quick`, `--keep`, `--large`. Never part of `npm test`.
 */
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchOptions, generateTree, median, run, runBench, snapshotBuild, startServer } from "./lib.js";

const argv = process.argv.slice(2);
const { scale: SCALE, keep: KEEP, runs: RUNS } = benchOptions(argv, 5);
const SIZES = [{ label: "20k", files: Math.round(20000 * SCALE), dirs: Math.max(10, Math.round(200 * SCALE)), binaries: 10, seed: 20 }];
if (argv.includes("--large")) SIZES.push({ label: "100k", files: Math.round(100000 * SCALE), dirs: Math.max(10, Math.round(1000 * SCALE)), binaries: 10, seed: 100 });
const EDITS = 10;
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

let root = "";
const rows: { op: string; seconds: Record<string, number | null>; note?: string }[] = [];

async function main(): Promise<void> {
  root = mkdtempSync(join(tmpdir(), "zsync-bench-watch-"));
  const { zsyncBin, serverBin } = snapshotBuild(REPO_ROOT, join(root, "app"));
  const env = { ...process.env, HOME: root, ZSYNC_PASSWORD: "zsync", ZSYNC_CONFIG_DIR: join(root, "config"), NO_COLOR: "1" };
  const zsync = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) => run(process.execPath, [zsyncBin, ...args], { cwd, env: { ...env, ...extra } });
  const git = (args: string[], cwd: string) => run("git", args, { cwd, env });
  const server = await startServer("zsync-server", process.execPath, [serverBin, "--data-dir", join(root, "data"), "serve", "--port", "0", "--demo", "--quiet"], {
    log: join(root, "server.log"),
    cwd: root,
    env,
    ready: (text) => /listening on http/.test(text),
  });
  const url = /listening on (http:\/\/\S+)/.exec(readFileSync(join(root, "server.log"), "utf8"))![1];
  git(["config", "--global", "user.email", "bench@example.invalid"], root);
  git(["config", "--global", "user.name", "bench"], root);
  // git's builtin fsmonitor daemon exists on macOS and Windows only; elsewhere git says "not supported".
  git(["init", "-q", join(root, "probe")], root);
  const fsmonitor = !/not supported/.test(run("git", ["fsmonitor--daemon", "status"], { cwd: join(root, "probe"), env, okCodes: [0, 1, 128] }).stderr);

  for (const size of SIZES) {
    const dir = join(root, `zsync-${size.label}`);
    const gitDir = join(root, `git-${size.label}`);
    process.stderr.write(`generating and importing ${size.files} files (${size.label})\n`);
    const stats = generateTree(dir, size);
    generateTree(gitDir, size);
    zsync(["import", `${url.replace("://", "://zsync@")}/bench${size.label}`, ".", "-q"], dir);
    git(["init", "-q"], gitDir);
    git(["add", "-A"], gitDir);
    git(["commit", "-q", "-m", "bench"], gitDir);
    const edit = () => {
      for (let i = 0; i < EDITS; i++) {
        const rel = stats.textFiles[(i * 7919 + 13) % stats.textFiles.length];
        appendFileSync(join(dir, rel), `edit ${i}\n`);
        appendFileSync(join(gitDir, rel), `edit ${i}\n`);
      }
    };
    const timed = (once: () => number) => {
      once();
      return median(Array.from({ length: RUNS }, once));
    };
    const walk = () => zsync(["status"], dir, { ZSYNC_NO_WATCHER: "1" }).seconds;
    const viaWatcher = () => {
      const r = zsync(["status", "--json"], dir);
      if (!r.stdout.includes('"watcher": true')) throw new Error("status did not use the watcher");
      return r.seconds;
    };
    const gitStatus = () => git(["status", "--porcelain"], gitDir).seconds;
    const gitMonitored = () => run("git", ["-c", "core.fsmonitor=true", "status", "--porcelain"], { cwd: gitDir, env }).seconds;

    rows.push({ op: `status ${size.files} files, clean`, seconds: { "zsync (walk)": timed(walk), git: timed(gitStatus), "git fsmonitor": fsmonitor ? timed(gitMonitored) : null } });
    const watcher = spawn(process.execPath, [zsyncBin, "watch", "--json"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      let out = "";
      watcher.stdout.on("data", (chunk) => {
        out += chunk;
        if (out.includes('"event":"connected"')) resolve();
      });
      watcher.once("exit", (code) => reject(new Error(`zsync watch exited with ${code}`)));
    });
    rows.at(-1)!.seconds["zsync (watcher)"] = timed(viaWatcher);
    edit();
    rows.push({
      op: `status ${size.files} files, ${EDITS} edits`,
      seconds: { "zsync (walk)": timed(walk), "zsync (watcher)": timed(viaWatcher), git: timed(gitStatus), "git fsmonitor": fsmonitor ? timed(gitMonitored) : null },
    });
    watcher.kill("SIGINT");
    await new Promise((resolve) => watcher.once("exit", resolve));
  }
  await server.stop();

  const columns = ["zsync (walk)", "zsync (watcher)", "git", "git fsmonitor"];
  console.log(`| operation | ${columns.join(" | ")} | watcher / git |`);
  console.log(`|---|${columns.map(() => "---:").join("|")}|---:|`);
  for (const row of rows) {
    const cell = (name: string) => (row.seconds[name] == null ? "n/a" : `${row.seconds[name]!.toFixed(3)} s`);
    const ratio = row.seconds["zsync (watcher)"]! / row.seconds.git!;
    console.log(`| ${row.op} | ${columns.map(cell).join(" | ")} | ${ratio.toFixed(2)}× |`);
  }
  console.log(`\nmedian of ${RUNS} runs after 1 warm-up, whole commands (process start included); load ${loadavg()[0].toFixed(2)}; git fsmonitor ${fsmonitor ? "used" : "not available on this platform (git's builtin daemon supports macOS and Windows only)"}`);
  mkdirSync(join(REPO_ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(REPO_ROOT, "bench", "results", "watch-latest.json"), JSON.stringify({ rows, runs: RUNS, load: loadavg() }, null, 2));
}

await runBench(main, { root: () => root, keep: KEEP });
