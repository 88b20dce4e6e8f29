/**
 * zsync benchmark: the same generated trees checked out, scanned, committed and updated with
 * zsync, svn and git, each command timed as a whole (process start included). Run with
 * `npm run bench` (see bench/README.md). Options:
 *
 *   --scale X   multiply every file count by X (e.g. 0.1 for a quick try; default 1)
 *   --keep      keep the temporary directory (servers are still stopped)
 *   --runs N    timed runs for status and no-op update (median; default 5)
 *   --only LIST only these row groups, comma-separated: checkout, status, commit, update,
 *               startup, big (default: all)
 *   --no-100k   skip the 100k tree (also --skip-100k; its goals print as not measured)
 *   --big-mib N size of the big-file rows' file in MiB (default 1024 × min(1, scale))
 *
 * Never part of `npm test`; timings never go into tests.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent } from "undici";
import { treeRecords } from "../src/protocol/snarf-tree.js";
import { createZsyncClient } from "../src/transport/http/client.js";
import {
  available,
  benchOptions,
  countFiles,
  freePort,
  generateTree,
  median,
  portOpen,
  removeTree,
  run,
  runBench,
  snapshotBuild,
  startServer,
  versionOf,
  type ServerProcess,
} from "./lib.js";
import { bigFileGoals, checkoutGoal, measureBigFile, measureStartup, speedTable, startupGoals, type BigFileResult, type StartupResult } from "./speed-rows.js";

// ---------------------------------------------------------------------------------------------
// Options

const { scale: SCALE, keep: KEEP, runs: RUNS } = benchOptions(process.argv.slice(2), 5);
const COMMIT_RUNS = 3;
const argOf = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
/** Row groups to run (`--only`); all by default. */
const ONLY = new Set((argOf("--only") ?? "checkout,status,commit,update,startup,big").split(","));
const want = (group: string) => ONLY.has(group);
/** `--no-100k`: stop after the 20k tree (a quicker run of the checkout goal). */
const SKIP_100K = process.argv.includes("--no-100k") || process.argv.includes("--skip-100k");
const BIG_BYTES = Math.round(Number(argOf("--big-mib") ?? 1024 * Math.min(1, SCALE)) * 1048576);
let startupResult: StartupResult | undefined;
let bigResult: BigFileResult | undefined;
const EDITS = Math.max(1, Math.round(100 * Math.min(1, SCALE)));

const SIZES = {
  small: { label: "2k", files: Math.round(2000 * SCALE), dirs: Math.max(10, Math.round(20 * SCALE)), binaries: 5, seed: 2 },
  medium: { label: "20k", files: Math.round(20000 * SCALE), dirs: Math.max(10, Math.round(200 * SCALE)), binaries: 10, seed: 20 },
  large: { label: "100k", files: Math.round(100000 * SCALE), dirs: Math.max(10, Math.round(1000 * SCALE)), binaries: 10, seed: 100 },
};
type Size = (typeof SIZES)[keyof typeof SIZES];

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Set in main(): the bench runs a private copy of the build (see snapshotBuild). */
let ZSYNC_BIN = "";
let SERVER_BIN = "";
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "results", "latest.json");

// ---------------------------------------------------------------------------------------------
// Results

type Tool = "zsync" | "svn" | "git";
const TOOLS: Tool[] = ["zsync", "svn", "git"];

interface Row {
  op: string;
  /** How it was measured (transport, runs). */
  how: string;
  seconds: Record<Tool, number | null>;
  bytes?: Partial<Record<Tool, number | null>>;
  /** Extra facts (status line counts, file counts). */
  notes: string[];
  /** 1-minute load average when the row started (other work on the machine skews timings). */
  load: number;
  errors: { tool: Tool; message: string }[];
}

const rows: Row[] = [];
const setup: Record<string, number> = {};
const problems: string[] = [];
const t0 = process.hrtime.bigint();

function elapsed(): string {
  return (Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1).padStart(6) + "s";
}
function progress(message: string): void {
  process.stderr.write(`[${elapsed()}] ${message}\n`);
}

/** Times one operation for each tool; a failing tool is recorded, the others still run. */
function measure(op: string, how: string, fns: Partial<Record<Tool, () => number>>): Row {
  const row: Row = { op, how, seconds: { zsync: null, svn: null, git: null }, notes: [], errors: [], load: loadavg()[0] };
  for (const tool of TOOLS) {
    const fn = fns[tool];
    if (!fn) continue;
    progress(`${op}: ${tool}`);
    try {
      row.seconds[tool] = fn();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      row.errors.push({ tool, message });
      problems.push(`${op} / ${tool}: ${message}`);
      progress(`  FAILED: ${message.split("\n")[0]}`);
    }
  }
  rows.push(row);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Main

let root = "";

/**
 * Trees the bench is done with, removed only after the last timing. Deleting tens of thousands
 * of files right before a timed checkout slows that checkout several-fold on ext4: for about a
 * minute the inode allocator skips and re-checks every recently deleted inode
 * (`recently_deleted` in fs/ext4/ialloc.c; seen with perf, git clone 1.6 s → 20 s), and the
 * first tool to check out after a removal paid for it.
 */
const removals: string[] = [];
function removeLater(dir: string): void {
  removals.push(dir);
}

async function main(): Promise<void> {
  root = mkdtempSync(join(tmpdir(), "zsync-bench-"));
  ({ zsyncBin: ZSYNC_BIN, serverBin: SERVER_BIN } = snapshotBuild(REPO_ROOT, join(root, "app")));
  const home = join(root, "home");
  mkdirSync(home);
  // Isolate every tool from the user's configuration.
  writeFileSync(
    join(home, ".gitconfig"),
    "[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = main\n[pull]\n\trebase = false\n[advice]\n\tdetachedHead = false\n[gc]\n\tauto = 0\n",
  );
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: "1", ZSYNC_PASSWORD: "zsync", NO_COLOR: "1", LC_ALL: "C" };
  for (const key of Object.keys(env)) if (key.startsWith("XDG_")) delete env[key];
  // zsync-server reads ZSYNC_* variables as options and rejects ZSYNC_PASSWORD: keep it client-side.
  const serverEnv: NodeJS.ProcessEnv = { ...env };
  for (const key of Object.keys(serverEnv)) if (key.startsWith("ZSYNC_")) delete serverEnv[key];

  const hasSvn = available("svn", ["--version", "--quiet"]) && available("svnadmin", ["--version", "--quiet"]) && available("svnserve", ["--version", "--quiet"]);
  if (!hasSvn) {
    const message = "svn is not installed: the svn column stays empty. Install it with `apt-get install subversion` (Debian/Ubuntu).";
    problems.push(message);
    console.log(`NOTE: ${message}`);
  }
  const versions = {
    node: process.version,
    zsync: versionOf(process.execPath, [ZSYNC_BIN, "--version"]),
    svn: hasSvn ? versionOf("svn", ["--version", "--quiet"]) : null,
    git: versionOf("git", ["--version"]),
  };
  progress(`temp dir ${root}; scale ${SCALE}; ${cpus().length} CPUs; node ${versions.node}, svn ${versions.svn ?? "missing"}, ${versions.git}`);

  // --- servers -----------------------------------------------------------------------------
  const zsyncData = join(root, "zsync-data");
  const zsyncServer = await startServer("zsync-server", process.execPath, [SERVER_BIN, "--data-dir", zsyncData, "serve", "--host", "127.0.0.1", "--port", "0", "--demo", "--quiet"], {
    cwd: root,
    env: serverEnv,
    log: join(root, "zsync-server.log"),
    ready: (text) => /listening on http:\/\/\S+/.test(text),
  });
  const zsyncOrigin = /listening on (http:\/\/[^\s/]+)/.exec(readFileSync(zsyncServer.log, "utf8"))![1];
  const zsyncHostPort = zsyncOrigin.replace(/^http:\/\//, "");
  /**
   * A protocol client for the imports (setup, not measured), on its own connection pool with no
   * request timeouts: the server may take minutes to answer a 100k-file checkin on a loaded
   * machine, past undici's default 300 s headersTimeout.
   */
  const importClient = () => {
    const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
    return { client: createZsyncClient({ origin: zsyncOrigin, user: "zsync", password: "zsync", dispatcher }), close: () => dispatcher.close() };
  };
  {
    const probe = importClient();
    await probe.client.info();
    await probe.close();
  }

  let svnRepo = "";
  let svnUrl = "";
  let svnServer: ServerProcess | undefined;
  if (hasSvn) {
    svnRepo = join(root, "svn-repo");
    run("svnadmin", ["create", svnRepo], { cwd: root, env });
    writeFileSync(join(svnRepo, "conf", "svnserve.conf"), "[general]\nanon-access = write\nauth-access = write\n");
    const port = await freePort();
    svnServer = await startServer("svnserve", "svnserve", ["-d", "--foreground", "--threads", "-r", svnRepo, "--listen-host", "127.0.0.1", "--listen-port", String(port)], {
      cwd: root,
      env,
      log: join(root, "svnserve.log"),
      ready: portOpen(port),
    });
    svnUrl = `svn://127.0.0.1:${port}`;
  }

  const gitBase = join(root, "git-repos");
  mkdirSync(gitBase);
  const gitPort = await freePort();
  const gitServer = await startServer(
    "git daemon",
    "git",
    ["daemon", "--reuseaddr", `--base-path=${gitBase}`, "--export-all", "--enable=receive-pack", "--listen=127.0.0.1", `--port=${gitPort}`, gitBase],
    { cwd: root, env, log: join(root, "git-daemon.log"), ready: portOpen(gitPort) },
  );
  const gitUrl = `git://127.0.0.1:${gitPort}`;

  // --- per-tool commands ---------------------------------------------------------------------
  const zsync = (args: string[], cwd: string, okCodes?: number[]) => run(process.execPath, [ZSYNC_BIN, ...args], { cwd, env, okCodes });
  const svn = (args: string[], cwd: string) => run("svn", [...args, "--non-interactive"], { cwd, env });
  const git = (args: string[], cwd: string) => run("git", args, { cwd, env });

  const floor = median(Array.from({ length: 5 }, () => zsync(["--version"], root).seconds));
  setup["zsync --version (process start floor)"] = floor;

  /** Generates a tree and imports it into all three servers; returns its text file paths. */
  async function prepare(size: Size): Promise<string[]> {
    const src = join(root, `src-${size.label}`);
    progress(`generating ${size.files} files in ${size.dirs} folders (${size.label})`);
    let start = process.hrtime.bigint();
    const stats = generateTree(src, size);
    setup[`generate ${size.label} (${stats.files} files, ${(stats.bytes / 1048576).toFixed(0)} MiB, ${stats.dirs} folders)`] = secondsSince(start);

    progress(`importing ${size.label} into zsync (protocol checkin)`);
    // One retry on a fresh connection: a failed import is reported as a problem, but the
    // rest of the bench still needs the tree on the server.
    for (let attempt = 1; attempt <= 2; attempt++) {
      start = process.hrtime.bigint();
      const { client, close } = importClient();
      try {
        const result = await client.checkin("", `bench${size.label}`, treeRecords(src, { prefix: `bench${size.label}` }), { note: "bench import" });
        setup[`zsync import ${size.label} (checkin through the protocol, in-process client)`] = secondsSince(start);
        progress(`  revision ${result.revision}`);
        break;
      } catch (error) {
        const message = `zsync import of ${size.label} (attempt ${attempt}) failed after ${secondsSince(start).toFixed(1)} s: ${(error as Error).message}`;
        problems.push(message + `\n  zsync-server log (tail):\n  ${tailOf(zsyncServer.log, 10).replace(/\n/g, "\n  ")}`);
        progress(`  FAILED: ${message}`);
        const check = importClient();
        const exists = await check.client.log(`bench${size.label}`, { limit: 1 }).then(() => true, () => false);
        await check.close();
        if (exists) {
          problems.push(`  … but /bench${size.label} exists on the server afterwards (the server committed it anyway)`);
          break;
        }
      } finally {
        await close();
      }
    }

    if (hasSvn) {
      progress(`importing ${size.label} into svn (file://)`);
      start = process.hrtime.bigint();
      svn(["import", "-q", src, `file://${svnRepo}/bench${size.label}`, "-m", "bench import"], root);
      setup[`svn import ${size.label} (file://)`] = secondsSince(start);
    }

    progress(`importing ${size.label} into git (add, commit, repack)`);
    start = process.hrtime.bigint();
    const bare = join(gitBase, `bench${size.label}.git`);
    git(["init", "-q", "--bare", bare], root);
    git([`--git-dir=${bare}`, `--work-tree=${src}`, "add", "-A"], root);
    git([`--git-dir=${bare}`, `--work-tree=${src}`, "commit", "-q", "-m", "bench import"], root);
    // Without -d: deleting the 20k-100k loose objects here would slow the file creations of the
    // next minute or more (ext4's inode allocator skips recently deleted inodes; see README), and
    // zsync's checkout runs next. They go with the temporary directory at the end.
    git([`--git-dir=${bare}`, "repack", "-aq"], root);
    removeTree(join(bare, "index")); // one file
    setup[`git import ${size.label} (add + commit + repack)`] = secondsSince(start);

    removeLater(src);
    return stats.textFiles;
  }

  /** Checks out a tree with each tool over the network; adds a checkout row. */
  function checkoutAll(size: Size, expected: number): Record<Tool, string> {
    const dirs: Record<Tool, string> = { zsync: join(root, `zsync-${size.label}`), svn: join(root, `svn-${size.label}`), git: join(root, `git-${size.label}`) };
    const bytes: Partial<Record<Tool, number | null>> = {};
    // Dirty pages of the setup (the imports, the 1 GiB big-file rows) written out first: the
    // kernel's writeback would otherwise land on whichever checkout runs next (zsync's, the 2k
    // one took 2.4 s instead of ~1.5 s right after the big-file rows).
    run("sync", [], { cwd: root });
    const row = measure(`checkout ${size.label}`, "1 run; zsync http / svnserve svn:// / git daemon git://", {
      zsync: () => {
        const before = zsyncServer.bytesWritten();
        const r = zsync(["checkout", `http://zsync@${zsyncHostPort}/bench${size.label}`, dirs.zsync], root);
        const after = zsyncServer.bytesWritten();
        bytes.zsync = before !== null && after !== null ? after - before : null;
        return r.seconds;
      },
      svn: hasSvn
        ? () => {
            const before = svnServer!.bytesWritten();
            const r = svn(["checkout", "-q", `${svnUrl}/bench${size.label}`, dirs.svn], root);
            const after = svnServer!.bytesWritten();
            bytes.svn = before !== null && after !== null ? after - before : null;
            return r.seconds;
          }
        : undefined,
      git: () => {
        const r = git(["clone", "--progress", `${gitUrl}/bench${size.label}.git`, dirs.git], root);
        bytes.git = gitReceived(r.stderr);
        return r.seconds;
      },
    });
    row.bytes = bytes;
    for (const tool of TOOLS) {
      if (row.seconds[tool] === null) continue;
      const n = countFiles(dirs[tool]);
      if (n !== expected) {
        row.errors.push({ tool, message: `checkout has ${n} files, expected ${expected}` });
        problems.push(`checkout ${size.label} / ${tool}: has ${n} files, expected ${expected}`);
      }
    }
    return dirs;
  }

  /** Status: one untimed warm-up run, then the median of RUNS runs; checks what it reports. */
  function statusRow(op: string, dirs: Record<Tool, string>, expectModified: number): Row {
    const reported: Partial<Record<Tool, number>> = {};
    const timed = (tool: Tool, once: () => { seconds: number; stdout: string }, modified: (line: string) => boolean) => () => {
      once();
      const times: number[] = [];
      let out = "";
      for (let i = 0; i < RUNS; i++) {
        const r = once();
        times.push(r.seconds);
        out = r.stdout;
      }
      const lines = out.split("\n").filter((l) => l.trim() !== "");
      reported[tool] = lines.filter(modified).length;
      if (reported[tool] !== expectModified || lines.length !== expectModified) {
        throw new Error(`${tool} status reported ${lines.length} lines, ${reported[tool]} modified; expected exactly ${expectModified} modified:\n${lines.slice(0, 10).join("\n")}`);
      }
      return median(times);
    };
    const row = measure(op, `median of ${RUNS} after 1 warm-up`, {
      zsync: timed("zsync", () => zsync(["status"], dirs.zsync), (l) => l.startsWith("M")),
      svn: hasSvn ? timed("svn", () => svn(["status"], dirs.svn), (l) => l.startsWith("M")) : undefined,
      git: timed("git", () => git(["status", "--porcelain"], dirs.git), (l) => l.startsWith(" M")),
    });
    row.notes.push(`modified reported: ${JSON.stringify(reported)}`);
    return row;
  }

  /** Commit of one changed file, median of COMMIT_RUNS (a different file each run). */
  function commitRow(size: Size, dirs: Record<Tool, string>, files: string[]): Row {
    const pick = (i: number) => files[(i * 7919 + 13) % files.length];
    const edit = (dir: string, rel: string, i: number) => appendFileSync(join(dir, rel), `bench commit edit ${i}\n`);
    const times = (fn: (i: number) => number) => () => median(Array.from({ length: COMMIT_RUNS }, (_, i) => fn(i)));
    return measure(`commit 1 file, ${size.label}`, `median of ${COMMIT_RUNS}; git = commit -am + push`, {
      zsync: times((i) => {
        edit(dirs.zsync, pick(i), i);
        return zsync(["commit", "-m", `bench commit ${i}`], dirs.zsync).seconds;
      }),
      svn: hasSvn
        ? times((i) => {
            edit(dirs.svn, pick(i), i);
            return svn(["commit", "-q", "-m", `bench commit ${i}`], dirs.svn).seconds;
          })
        : undefined,
      git: times((i) => {
        edit(dirs.git, pick(i), i);
        return git(["commit", "-q", "-am", `bench commit ${i}`], dirs.git).seconds + git(["push", "-q"], dirs.git).seconds;
      }),
    });
  }

  /** No-op update: one untimed run (brings the checkout to HEAD), then the median of RUNS. */
  function updateRow(size: Size, dirs: Record<Tool, string>): Row {
    const bytes: Partial<Record<Tool, number | null>> = {};
    const timed = (tool: Tool, once: () => number, server?: ServerProcess) => () => {
      once();
      const before = server?.bytesWritten() ?? null;
      const t = median(Array.from({ length: RUNS }, once));
      const after = server?.bytesWritten() ?? null;
      bytes[tool] = before !== null && after !== null ? Math.round((after - before) / RUNS) : null;
      return t;
    };
    const row = measure(`no-op update, ${size.label}`, `median of ${RUNS} after 1 warm-up; git = pull`, {
      zsync: timed("zsync", () => zsync(["update"], dirs.zsync).seconds, zsyncServer),
      svn: hasSvn ? timed("svn", () => svn(["update", "-q"], dirs.svn).seconds, svnServer) : undefined,
      git: timed("git", () => git(["pull", "-q"], dirs.git).seconds),
    });
    row.bytes = bytes;
    return row;
  }

  /**
   * Update after a commit elsewhere in the repository (nothing changes in this tree): median of
   * COMMIT_RUNS, each after an untimed commit from another checkout. zsync and svn commit to
   * another folder of the same repository; git (a repository per tree) pushes an empty commit
   * from a second clone that never checked the tree out, so `git pull` fast-forwards to a commit
   * with the same tree.
   */
  function movedUpdateRow(size: Size, dirs: Record<Tool, string>): Row {
    const elsewhere = { zsync: join(root, `zsync-${size.label}-elsewhere`), svn: join(root, `svn-${size.label}-elsewhere`), git: join(root, `git-${size.label}-elsewhere`) };
    const times = (fn: (i: number) => number) => () => median(Array.from({ length: COMMIT_RUNS }, (_, i) => fn(i)));
    const row = measure(`update after a commit elsewhere, ${size.label}`, `median of ${COMMIT_RUNS}; git = pull of an empty commit`, {
      zsync: times((i) => {
        if (i === 0) zsync(["checkout", "-q", `http://zsync@${zsyncHostPort}/demo`, elsewhere.zsync], root);
        appendFileSync(join(elsewhere.zsync, "elsewhere.txt"), `commit elsewhere ${i}\n`);
        if (i === 0) zsync(["add", "-q", "elsewhere.txt"], elsewhere.zsync);
        zsync(["commit", "-q", "-m", `elsewhere ${i}`], elsewhere.zsync);
        return zsync(["update", "-q"], dirs.zsync).seconds;
      }),
      svn: hasSvn
        ? times((i) => {
            if (i === 0) {
              svn(["mkdir", "-q", "-m", "elsewhere", `${svnUrl}/elsewhere-${size.label}`], root);
              svn(["checkout", "-q", `${svnUrl}/elsewhere-${size.label}`, elsewhere.svn], root);
            }
            appendFileSync(join(elsewhere.svn, "elsewhere.txt"), `commit elsewhere ${i}\n`);
            if (i === 0) svn(["add", "-q", "elsewhere.txt"], elsewhere.svn);
            svn(["commit", "-q", "-m", `elsewhere ${i}`], elsewhere.svn);
            return svn(["update", "-q"], dirs.svn).seconds;
          })
        : undefined,
      git: times((i) => {
        if (i === 0) {
          git(["clone", "-q", "--no-checkout", `${gitUrl}/bench${size.label}.git`, elsewhere.git], root);
          git(["reset", "-q"], elsewhere.git);
        }
        git(["commit", "-q", "--allow-empty", "-m", `elsewhere ${i}`], elsewhere.git);
        git(["push", "-q"], elsewhere.git);
        return git(["pull", "-q"], dirs.git).seconds;
      }),
    });
    for (const dir of Object.values(elsewhere)) removeLater(dir);
    return row;
  }

  /** The same checkout over local transports (svn file://, git clone --no-local file://): the checkout goal's peers. */
  function localCheckoutRow(size: Size): void {
    const local = { svn: join(root, `svn-${size.label}-file`), git: join(root, `git-${size.label}-file`) };
    measure(`checkout ${size.label} (local)`, "1 run; svn file:// / git clone --no-local file://; zsync has only http", {
      svn: hasSvn ? () => svn(["checkout", "-q", `file://${svnRepo}/bench${size.label}`, local.svn], root).seconds : undefined,
      git: () => git(["clone", "-q", "--no-local", `file://${join(gitBase, `bench${size.label}.git`)}`, local.git], root).seconds,
    });
    removeLater(local.svn);
    removeLater(local.git);
  }

  /** Picks `n` text files spread evenly over the tree and appends a line to each in every checkout. */
  function editFiles(files: string[], n: number, dirs: Record<Tool, string>): void {
    for (let i = 0; i < n; i++) {
      const rel = files[Math.floor((i * files.length) / n)];
      for (const tool of TOOLS) {
        if (tool === "svn" && !hasSvn) continue;
        appendFileSync(join(dirs[tool], rel), `status edit ${i}\n`);
      }
    }
  }

  // --- start-up and big files (speed-rows.ts) -------------------------------------------------
  if (want("startup") || want("big")) {
    const { client, close } = importClient();
    try {
      const empty = join(root, "empty-src");
      mkdirSync(empty);
      await client.checkin("", "benchempty", treeRecords(empty, { prefix: "benchempty" }), { note: "bench: empty folder" });
      await client.checkin("", "benchbig", treeRecords(empty, { prefix: "benchbig" }), { note: "bench: big file" });
    } finally {
      await close();
    }
    if (want("startup")) {
      progress("start-up: node -e 0, zsync --version, zsync status in an empty checkout");
      const empty = join(root, "zsync-empty");
      zsync(["checkout", "-q", `http://zsync@${zsyncHostPort}/benchempty`, empty], root);
      try {
        startupResult = measureStartup(zsync, empty, RUNS, env);
      } catch (error) {
        problems.push(`start-up: ${(error as Error).message}`);
      }
    }
    if (want("big")) {
      progress(`big file: commit and checkout of ${(BIG_BYTES / 1048576).toFixed(0)} MiB against cp`);
      const checkout = join(root, "zsync-big");
      const url = `http://zsync@${zsyncHostPort}/benchbig`;
      zsync(["checkout", "-q", url, checkout], root);
      try {
        bigResult = await measureBigFile({ zsyncArgs: (args) => [ZSYNC_BIN, ...args], env, work: root, checkout, url, bytes: BIG_BYTES, serverPid: zsyncServer.child.pid });
      } catch (error) {
        problems.push(`big file: ${(error as Error).message}`);
      }
      removeTree(checkout);
    }
  }

  // --- 2k: the small tree for the size-independence of commit and update ----------------------
  if (want("commit") || want("update")) {
    const files = await prepare(SIZES.small);
    const dirs = checkoutAll(SIZES.small, SIZES.small.files);
    if (want("commit")) commitRow(SIZES.small, dirs, files);
    if (want("update")) updateRow(SIZES.small, dirs);
    for (const dir of Object.values(dirs)) removeLater(dir);
  }

  // --- 20k: checkout, status, commit, no-op update ---------------------------------------------
  if (want("checkout") || want("status") || want("commit") || want("update")) {
    const files = await prepare(SIZES.medium);
    const dirs = checkoutAll(SIZES.medium, SIZES.medium.files);
    if (want("checkout")) localCheckoutRow(SIZES.medium);
    if (want("status")) statusRow(`status ${SIZES.medium.label}, clean`, dirs, 0);
    editFiles(files, EDITS, dirs);
    if (want("status")) statusRow(`status ${SIZES.medium.label}, ${EDITS} edits`, dirs, EDITS);
    if (want("commit") || want("update")) commitStatusEdits(dirs, SIZES.medium);
    if (want("commit")) commitRow(SIZES.medium, dirs, files);
    if (want("update")) updateRow(SIZES.medium, dirs);
    if (want("update")) movedUpdateRow(SIZES.medium, dirs);
    for (const dir of Object.values(dirs)) removeLater(dir);
  }

  /** Commits the status edits in every checkout (untimed). */
  function commitStatusEdits(dirs: Record<Tool, string>, size: Size): void {
    progress(`committing the ${EDITS} status edits (untimed)`);
    try {
      zsync(["commit", "-q", "-m", "status edits"], dirs.zsync);
      if (hasSvn) svn(["commit", "-q", "-m", "status edits"], dirs.svn);
      git(["commit", "-q", "-am", "status edits"], dirs.git);
      git(["push", "-q"], dirs.git);
    } catch (error) {
      problems.push(`committing the status edits on ${size.label}: ${(error as Error).message}`);
    }
  }

  // --- 100k: checkout, status, commit, no-op update -----------------------------------------------
  if (!SKIP_100K && (want("checkout") || want("status") || want("commit") || want("update"))) {
    const files = await prepare(SIZES.large);
    const dirs = checkoutAll(SIZES.large, SIZES.large.files);
    if (want("checkout")) localCheckoutRow(SIZES.large);
    if (want("status")) statusRow(`status ${SIZES.large.label}, clean`, dirs, 0);
    editFiles(files, EDITS, dirs);
    if (want("status")) statusRow(`status ${SIZES.large.label}, ${EDITS} edits`, dirs, EDITS);
    if (want("commit") || want("update")) commitStatusEdits(dirs, SIZES.large);
    if (want("commit")) commitRow(SIZES.large, dirs, files);
    if (want("update")) updateRow(SIZES.large, dirs);
    if (want("update")) movedUpdateRow(SIZES.large, dirs);
    if (KEEP) progress(`kept checkouts: ${Object.values(dirs).join(" ")}`);
  }

  // --- report ----------------------------------------------------------------------------------
  for (const server of [zsyncServer, svnServer, gitServer]) await server?.stop();
  if (!KEEP) for (const dir of removals) removeTree(dir);
  const targets = evaluateTargets();
  printReport(versions, targets);
  const totalSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, platform: process.platform, loadAtEnd: loadavg() },
        versions,
        scale: SCALE,
        runs: RUNS,
        sizes: SIZES,
        totalSeconds,
        rows: rows.map((r) => ({ ...r, ratios: { zsyncOverSvn: ratio(r.seconds.zsync, r.seconds.svn), zsyncOverGit: ratio(r.seconds.zsync, r.seconds.git) } })),
        setup,
        targets,
        startup: startupResult,
        bigFile: bigResult,
        problems,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nbench took ${totalSeconds.toFixed(0)} s; results in ${RESULTS}`);
}

function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Bytes received by `git clone --progress`, from its last "Receiving objects" line. */
function gitReceived(stderr: string): number | null {
  const matches = [...stderr.matchAll(/Receiving objects: 100% \(\d+\/\d+\), ([\d.]+) (bytes|KiB|MiB|GiB)/g)];
  const last = matches.at(-1);
  if (!last) return null;
  const unit = { bytes: 1, KiB: 1024, MiB: 1048576, GiB: 1073741824 }[last[2] as "bytes"];
  return Math.round(Number(last[1]) * unit);
}

function ratio(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && b > 0 ? a / b : null;
}

// ---------------------------------------------------------------------------------------------
// Targets (from the issue)

interface Target {
  target: string;
  measured: string;
  pass: boolean | null;
}

function findRow(op: string): Row | undefined {
  return rows.find((r) => r.op === op);
}

function evaluateTargets(): Target[] {
  const targets: Target[] = [];
  // Issue 11: status ≤ 1× svn at 20k and ≤ 1× git at 100k, clean and after the edits.
  for (const [size, peer] of [[SIZES.medium, "svn"], [SIZES.large, "git"]] as const) {
    for (const state of ["clean", `${EDITS} edits`]) {
      const op = `status ${size.label}, ${state}`;
      const row = findRow(op);
      const z = row?.seconds.zsync ?? null;
      const p = row?.seconds[peer] ?? null;
      targets.push({
        target: `${op}: zsync ≤ 1× ${peer} status`,
        measured: z !== null && p !== null ? `${fmt(z)} vs ${fmt(p)} (${(z / p).toFixed(2)}×)` : "not measured",
        pass: z !== null && p !== null ? z <= p : null,
      });
    }
  }
  for (const row of rows.filter((r) => /^checkout \d+k$/.test(r.op))) {
    const { zsync: z, svn: s } = row.seconds;
    targets.push({
      target: `${row.op}: zsync < svn checkout (svn://)`,
      measured: z !== null && s !== null ? `${fmt(z)} vs ${fmt(s)} (${(z / s).toFixed(2)}×)` : "not measured",
      pass: z !== null && s !== null ? z < s : null,
    });
  }
  for (const size of [SIZES.medium, SIZES.large]) {
    const z = findRow(`checkout ${size.label}`)?.seconds.zsync ?? null;
    const g = findRow(`checkout ${size.label} (local)`)?.seconds.git ?? null;
    if (z !== null || g !== null) targets.push(checkoutGoal(size.label, z, g));
  }
  if (want("startup")) targets.push(...startupGoals(startupResult));
  if (want("big")) targets.push(...bigFileGoals(bigResult));
  // Issue 11: commit of 1 file and no-op update ≤ 1× svn at 20k, and within 20% across 2k / 20k / 100k.
  for (const kind of ["commit 1 file", "no-op update"].filter((k) => want(k === "commit 1 file" ? "commit" : "update"))) {
    const medium = findRow(`${kind}, ${SIZES.medium.label}`);
    const z = medium?.seconds.zsync ?? null;
    const s = medium?.seconds.svn ?? null;
    targets.push({
      target: `${kind}, ${SIZES.medium.label}: zsync ≤ 1× svn`,
      measured: z !== null && s !== null ? `${fmt(z)} vs ${fmt(s)} (${(z / s).toFixed(2)}×)` : "not measured",
      pass: z !== null && s !== null ? z <= s : null,
    });
    const times = [SIZES.small, SIZES.medium, SIZES.large].map((size) => ({ label: size.label, t: findRow(`${kind}, ${size.label}`)?.seconds.zsync ?? null }));
    const known = times.filter((x): x is { label: string; t: number } => x.t !== null);
    const spread = known.length >= 2 ? Math.max(...known.map((x) => x.t)) / Math.min(...known.map((x) => x.t)) : null;
    targets.push({
      target: `${kind}: zsync within 20% across ${times.map((x) => x.label).join(" / ")}`,
      measured:
        spread !== null
          ? `${times.map((x) => `${x.label} ${fmt(x.t)}`).join(", ")} (max/min ${spread.toFixed(2)}×${known.length < times.length ? `; ${times.length - known.length} size(s) not measured` : ""})`
          : "not measured",
      pass: spread !== null && known.length === times.length ? spread <= 1.2 : null,
    });
  }
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Printing

function fmt(seconds: number | null): string {
  return seconds === null ? "-" : seconds.toFixed(3);
}
function fmtRatio(r: number | null): string {
  return r === null ? "-" : r.toFixed(2) + "×";
}
function fmtBytes(b: number | null | undefined): string {
  if (b === null || b === undefined) return "-";
  if (b < 10 * 1024) return `${b} B`;
  if (b < 10 * 1048576) return `${(b / 1024).toFixed(0)} KiB`;
  return `${(b / 1048576).toFixed(1)} MiB`;
}

function table(header: string[], body: string[][], alignLeft = 1, lastLeft = true): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < alignLeft || (lastLeft && i === cells.length - 1) ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function printReport(versions: Record<string, string | null>, targets: Target[]): void {
  console.log(`\nzsync benchmark — ${cpus().length} CPUs, node ${versions.node}, zsync ${versions.zsync ?? "?"}, svn ${versions.svn ?? "missing"}, ${versions.git}; scale ${SCALE}`);
  console.log(`Times in seconds, whole commands (process start included). load = 1-min load average when the row started (now ${loadavg()[0].toFixed(1)}).\n`);
  const failed = (r: Row, t: Tool) => (r.errors.some((e) => e.tool === t) ? "FAIL" : null);
  console.log(
    table(
      ["operation", "zsync s", "svn s", "git s", "zsync/svn", "zsync/git", "load", "how"],
      rows.map((r) => [
        r.op,
        failed(r, "zsync") ?? fmt(r.seconds.zsync),
        failed(r, "svn") ?? fmt(r.seconds.svn),
        failed(r, "git") ?? fmt(r.seconds.git),
        fmtRatio(ratio(r.seconds.zsync, r.seconds.svn)),
        fmtRatio(ratio(r.seconds.zsync, r.seconds.git)),
        r.load.toFixed(1),
        r.how,
      ]),
    ),
  );

  const withBytes = rows.filter((r) => r.bytes);
  if (withBytes.length) {
    console.log("\nBytes transferred (zsync-server and svnserve: bytes the server process wrote, /proc/PID/io wchar; git: clone's \"Receiving objects\"; per run)\n");
    console.log(table(["operation", "zsync", "svn", "git"], withBytes.map((r) => [r.op, fmtBytes(r.bytes!.zsync), fmtBytes(r.bytes!.svn), fmtBytes(r.bytes!.git)]), 1, false));
  }

  const speed = speedTable(startupResult, bigResult);
  if (speed.length) {
    console.log("\nStart-up and big files (median of --runs for start-up; 1 run for big files)\n");
    console.log(table(["operation", "seconds", "ratio"], speed, 1, true));
  }

  console.log("\nSetup (not compared)\n");
  console.log(table(["step", "seconds"], Object.entries(setup).map(([k, v]) => [k, v.toFixed(3)])));

  console.log("\nTargets\n");
  console.log(table(["", "target", "measured"], targets.map((t) => [t.pass === null ? "n/a " : t.pass ? "MET " : "MISS", t.target, t.measured]), 3));
  console.log("\n(checkout: zsync vs git clone --no-local; startup vs node -e 0; big files vs cp; status: vs svn at 20k, git at 100k; commit and no-op update: vs svn at 20k and no slower on a 10× or 50× bigger tree; see bench/README.md)");

  if (problems.length) {
    console.log("\nProblems\n");
    for (const p of problems) console.log(`- ${p.replace(/\n/g, "\n  ")}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Cleanup on every exit path

await runBench(main, {
  root: () => root,
  keep: KEEP,
  onFailure: () => {
    if (rows.length) printReport({ node: process.version }, evaluateTargets());
  },
});
