/**
 * `npm run bench:store`: the repository store under load, SQLite against PostgreSQL with one and
 * with three zsync-server processes on one database. In one run on one machine it measures
 *  - commit throughput (commits/s) of 1 and of 8 concurrent committers, each editing its own
 *    file through the protocol (in-process HTTP clients, spread round-robin over the servers;
 *    median of --runs rounds, each round going through all setups in turn);
 *  - `zsync checkout` of a 20,000-file tree (imported untimed through the protocol);
 *  - `zsync commit` of one changed file in that 20,000-file checkout (median of --runs).
 * PostgreSQL is a throwaway cluster started like the tests' (test/helpers/postgres.ts).
 * All setups' servers run side by side. Prints a table; writes bench/results/store-latest.json. Options: --scale X (tree size and
 * commit counts), --runs N, --quick, --keep.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent } from "undici";
import { treeRecords } from "../src/protocol/snarf-tree.js";
import { createZsyncClient, type ZsyncClient } from "../src/transport/http/client.js";
import { postgresCluster } from "../test/helpers/postgres.js";
import { benchOptions, countFiles, generateTree, median, run, runBench, snapshotBuild, startServer, type ServerProcess } from "./lib.js";

const { scale: SCALE, keep: KEEP, runs: RUNS } = benchOptions(process.argv.slice(2), 3);
if (!(SCALE > 0) || !(RUNS >= 1)) {
  console.error("usage: node --import tsx bench/store.ts [--scale X] [--runs N | --quick] [--keep]");
  process.exit(2);
}
const TREE = { files: Math.max(100, Math.round(20_000 * SCALE)), dirs: Math.max(10, Math.round(200 * SCALE)), binaries: 5, seed: 13 };
/** Commits per committer in the throughput rows. */
const COMMITS_EACH = Math.max(5, Math.round(40 * SCALE));
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "results", "store-latest.json");

interface Setup {
  label: string;
  servers: number;
  spec: (root: string) => Promise<string>;
}
const SETUPS: Setup[] = [
  { label: "SQLite, 1 server", servers: 1, spec: async (root) => `sqlite:${join(root, "sqlite", "repository.sqlite")}` },
  { label: "PostgreSQL, 1 server", servers: 1, spec: async () => (await postgresCluster()).newSpec("bench1") },
  { label: "PostgreSQL, 3 servers", servers: 3, spec: async () => (await postgresCluster()).newSpec("bench3") },
];

interface Result {
  setup: string;
  commitsPerSecond1: number;
  commitsPerSecond8: number;
  checkoutSeconds: number;
  oneFileCommitSeconds: number;
  load: number;
}
const results: Result[] = [];
const setupTimes: Record<string, number> = {};
const t0 = process.hrtime.bigint();
let root = "";

function progress(message: string): void {
  process.stderr.write(`[${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1).padStart(6)}s] ${message}\n`);
}

function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function clientFor(origin: string): { client: ZsyncClient; close: () => Promise<void> } {
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  return { client: createZsyncClient({ origin, user: "zsync", password: "zsync", dispatcher }), close: () => dispatcher.close() };
}

/**
 * `committers` loops, each committing COMMITS_EACH edits of its own file (added first, untimed)
 * through server `i % servers`; returns commits per second over the whole timed part.
 */
async function throughput(origins: string[], committers: number, tag: string): Promise<number> {
  const clients = Array.from({ length: committers }, (_, i) => clientFor(origins[i % origins.length]!));
  try {
    const revisions = await Promise.all(
      clients.map(async ({ client }, i) => {
        const path = `t${tag}-${i}.txt`;
        const r = await client.commit("demo", { protocol: 1, changes: [{ path, kind: "file", schedule: "added", content: true }] }, [
          { kind: "file", path, size: 2, body: "0\n" },
        ]);
        return r.revision;
      }),
    );
    const start = process.hrtime.bigint();
    await Promise.all(
      clients.map(async ({ client }, i) => {
        const path = `t${tag}-${i}.txt`;
        let base = revisions[i]!;
        for (let n = 1; n <= COMMITS_EACH; n++) {
          const body = `${n} by committer ${i}\n`;
          const r = await client.commit(
            "demo",
            { protocol: 1, note: `edit ${n}`, changes: [{ path, kind: "file", schedule: "modified", baseRevision: base, content: true }] },
            [{ kind: "file", path, size: Buffer.byteLength(body), body }],
          );
          base = r.revision;
        }
      }),
    );
    return (committers * COMMITS_EACH) / secondsSince(start);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

interface Running {
  setup: Setup;
  servers: ServerProcess[];
  origins: string[];
  wc: string;
  one: number[];
  eight: number[];
  checkout: number;
  commits: number[];
}

async function main(): Promise<void> {
  root = mkdtempSync(join(tmpdir(), "zsync-bench-store-"));
  const { zsyncBin, serverBin } = snapshotBuild(REPO_ROOT, join(root, "app"));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(root, "home"), ZSYNC_PASSWORD: "zsync", NO_COLOR: "1", ZSYNC_CONFIG_DIR: join(root, "config") };
  const serverEnv: NodeJS.ProcessEnv = { ...env };
  for (const key of Object.keys(serverEnv)) if (key.startsWith("ZSYNC_")) delete serverEnv[key];
  progress(`temp dir ${root}; scale ${SCALE}; ${cpus().length} CPUs; tree ${TREE.files} files; ${COMMITS_EACH} commits per committer`);

  const src = join(root, "tree");
  let start = process.hrtime.bigint();
  const stats = generateTree(src, TREE);
  setupTimes[`generate tree (${stats.files} files, ${(stats.bytes / 1048576).toFixed(0)} MiB)`] = secondsSince(start);

  // Every setup runs at once, and each measurement goes round the setups in turn, RUNS times:
  // load changes on a shared machine then spread over all of them instead of favouring one.
  const all: Running[] = [];
  for (const [n, setup] of SETUPS.entries()) {
    progress(`${setup.label}: starting`);
    const spec = await setup.spec(root);
    const servers: ServerProcess[] = [];
    for (let i = 0; i < setup.servers; i++) {
      const dataDir = join(root, `data-${n}-${i}`);
      mkdirSync(dataDir, { recursive: true });
      servers.push(
        await startServer(setup.label, process.execPath, [serverBin, "--data-dir", dataDir, "--store", spec, "serve", "--host", "127.0.0.1", "--port", "0", "--quiet", ...(i === 0 ? ["--demo"] : [])], {
          cwd: root,
          env: serverEnv,
          log: join(root, `server-${n}-${i}.log`),
          ready: (text) => /listening on http:\/\/\S+/.test(text),
        }),
      );
    }
    const origins = servers.map((s) => /listening on (http:\/\/[^\s/]+)/.exec(readFileSync(s.log, "utf8"))![1]!);
    all.push({ setup, servers, origins, wc: join(root, `wc-${n}`), one: [], eight: [], checkout: 0, commits: [] });
  }

  for (let round = 0; round < RUNS; round++) {
    for (const r of all) {
      progress(`${r.setup.label}: commit throughput, 1 and 8 committers (round ${round + 1}/${RUNS})`);
      r.one.push(await throughput(r.origins, 1, `a${round}`));
      r.eight.push(await throughput(r.origins, 8, `b${round}`));
    }
  }

  for (const r of all) {
    progress(`${r.setup.label}: importing the tree (untimed)`);
    start = process.hrtime.bigint();
    const importer = clientFor(r.origins[0]!);
    try {
      await importer.client.checkin("", "tree", treeRecords(src, { prefix: "tree" }), { note: "bench import" });
    } finally {
      await importer.close();
    }
    setupTimes[`${r.setup.label}: import ${stats.files} files`] = secondsSince(start);
  }

  for (const r of all) {
    progress(`${r.setup.label}: checkout of ${stats.files} files`);
    const url = `${r.origins[r.origins.length - 1]!.replace("://", "://zsync@")}/tree`;
    r.checkout = run(process.execPath, [zsyncBin, "checkout", url, r.wc, "-q"], { cwd: root, env }).seconds;
    const got = countFiles(r.wc);
    if (got < stats.files) throw new Error(`${r.setup.label}: the checkout holds ${got} files, expected ${stats.files}`);
  }

  for (let i = 0; i < RUNS; i++) {
    for (const r of all) {
      progress(`${r.setup.label}: 1-file commit in the ${stats.files}-file checkout (run ${i + 1}/${RUNS})`);
      const file = join(r.wc, `bench-edit-${i}.txt`);
      writeFileSync(file, `edit ${i}\n`);
      run(process.execPath, [zsyncBin, "add", file], { cwd: r.wc, env });
      r.commits.push(run(process.execPath, [zsyncBin, "commit", "-m", `edit ${i}`, "-q"], { cwd: r.wc, env }).seconds);
    }
  }

  for (const r of all) {
    results.push({
      setup: r.setup.label,
      commitsPerSecond1: median(r.one),
      commitsPerSecond8: median(r.eight),
      checkoutSeconds: r.checkout,
      oneFileCommitSeconds: median(r.commits),
      load: loadavg()[0],
    });
  }
  report();
}

function report(): void {
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`\nzsync store bench: tree ${TREE.files} files, ${COMMITS_EACH} commits per committer, ${RUNS} run(s) of the 1-file commit, ${cpus().length} CPUs\n`);
  console.log(`${pad("store", 24)}${pad("commits/s (1)", 15)}${pad("commits/s (8)", 15)}${pad(`checkout ${TREE.files} (s)`, 22)}${pad("1-file commit (s)", 19)}load`);
  for (const r of results) {
    console.log(
      `${pad(r.setup, 24)}${pad(r.commitsPerSecond1.toFixed(1), 15)}${pad(r.commitsPerSecond8.toFixed(1), 15)}${pad(r.checkoutSeconds.toFixed(2), 22)}${pad(r.oneFileCommitSeconds.toFixed(2), 19)}${r.load.toFixed(1)}`,
    );
  }
  console.log("\nsetup (untimed in the table):");
  for (const [what, seconds] of Object.entries(setupTimes)) console.log(`  ${what}: ${seconds.toFixed(1)} s`);
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify({ scale: SCALE, tree: TREE, commitsEach: COMMITS_EACH, runs: RUNS, results, setup: setupTimes }, null, 2));
}

await runBench(main, { root: () => root, keep: KEEP, onFailure: report });
