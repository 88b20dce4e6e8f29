/**
 * zsync over ssh vs HTTP vs scp / rsync -e ssh: the same generated trees downloaded (checkout) and
 * uploaded (import, commit) over each transport to the same machine, each command timed as a whole
 * (process start included). Run with `npm run bench:ssh` (see bench/README.md). Options:
 *
 *   --scale X   multiply the tree sizes by X (file counts and the large files' size; default 1)
 *   --runs N    timed runs per operation and transport (median; default 3)
 *   --quick     one run each (same as --runs 1)
 *   --keep      keep the temporary directory (servers are still stopped)
 *
 * Never part of `npm test`; timings never go into tests.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { sshdConfig } from "../test/helpers/sshd.js";
import {
  available,
  benchOptions,
  countFiles,
  freePort,
  generateTree,
  median,
  removeTree,
  run,
  runBench,
  snapshotBuild,
  startServer,
  stopAll,
  versionOf,
  type ServerProcess,
} from "./lib.js";

// ---------------------------------------------------------------------------------------------
// Options

const { scale: SCALE, keep: KEEP, runs: RUNS } = benchOptions(process.argv.slice(2), 3);
if (!(SCALE > 0) || !(RUNS >= 1)) {
  console.error("usage: node --import tsx bench/ssh.ts [--scale X] [--runs N | --quick] [--keep]");
  process.exit(2);
}
/** Files edited, then committed, in the "commit N files" row. */
const EDITS = Math.max(1, Math.round(100 * Math.min(1, SCALE)));

const MEDIUM = {
  label: "medium",
  files: Math.max(20, Math.round(5000 * SCALE)),
  dirs: Math.max(10, Math.round(50 * SCALE)),
  binaries: Math.max(2, Math.round(100 * SCALE)),
  seed: 5,
};
const LARGE = { label: "large", count: 4, bytes: Math.max(1, Math.round(64 * SCALE)) * 1048576 };

const SSHD = "/usr/sbin/sshd";
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "results", "ssh-latest.json");

// ---------------------------------------------------------------------------------------------
// Results

/** zsync over HTTP, zsync over zsync-server's own ssh endpoint, zsync through OpenSSH sshd's subsystem (`--stdio`), scp, rsync. */
type Transport = "http" | "ssh" | "sshd" | "scp" | "rsync";
const TRANSPORTS: Transport[] = ["http", "ssh", "sshd", "scp", "rsync"];
const HEADERS: Record<Transport, string> = { http: "zsync http", ssh: "zsync ssh", sshd: "zsync sshd", scp: "scp", rsync: "rsync" };

interface Row {
  op: string;
  how: string;
  /** Bytes of file content moved by the operation (for MB/s). */
  bytes: number;
  /** Median seconds per transport; null when not measured. */
  seconds: Record<Transport, number | null>;
  /** Every timed run, for the record. */
  runs: Partial<Record<Transport, number[]>>;
  load: number;
  errors: { transport: Transport; message: string }[];
}

const rows: Row[] = [];
const problems: string[] = [];
const notes: string[] = [];
const t0 = process.hrtime.bigint();

function progress(message: string): void {
  process.stderr.write(`[${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1).padStart(6)}s] ${message}\n`);
}

/**
 * Times one operation: RUNS rounds, each running every transport once in turn (so load changes on
 * the shared machine spread over all of them). `fn(run)` returns the seconds of run `run`; a
 * transport that fails once is recorded and not run again in this row.
 */
function measure(op: string, how: string, bytes: number, fns: Partial<Record<Transport, (run: number) => number>>): Row {
  const row: Row = { op, how, bytes, seconds: { http: null, ssh: null, sshd: null, scp: null, rsync: null }, runs: {}, load: loadavg()[0], errors: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const transport of TRANSPORTS) {
      const fn = fns[transport];
      if (!fn || row.errors.some((e) => e.transport === transport)) continue;
      progress(`${op}: ${transport} (run ${i + 1}/${RUNS})`);
      try {
        (row.runs[transport] ??= []).push(fn(i));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        row.errors.push({ transport, message });
        problems.push(`${op} / ${transport}: ${message}`);
        progress(`  FAILED: ${message.split("\n")[0]}`);
      }
    }
  }
  for (const transport of TRANSPORTS) {
    const times = row.runs[transport];
    if (times?.length && !row.errors.some((e) => e.transport === transport)) row.seconds[transport] = median(times);
  }
  rows.push(row);
  return row;
}

// ---------------------------------------------------------------------------------------------
// Main

let root = "";

async function main(): Promise<void> {
  root = mkdtempSync(join(tmpdir(), "zsync-bench-ssh-"));
  const { zsyncBin, serverBin } = snapshotBuild(REPO_ROOT, join(root, "app"));
  const home = join(root, "home");
  mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ZSYNC_PASSWORD: "zsync", NO_COLOR: "1", LC_ALL: "C" };
  for (const key of Object.keys(env)) if (key.startsWith("XDG_") || key === "SSH_AUTH_SOCK" || key === "SSH_AGENT_PID") delete env[key];
  // zsync-server reads ZSYNC_* variables as options and rejects ZSYNC_PASSWORD: keep it client-side.
  const serverEnv: NodeJS.ProcessEnv = { ...env };
  for (const key of Object.keys(serverEnv)) if (key.startsWith("ZSYNC_")) delete serverEnv[key];

  const crypto = nativeCrypto();
  const hasSsh = existsSync(SSHD) && spawnSync("ssh", ["-V"], { stdio: "ignore" }).status === 0;
  const hasScp = hasSsh && spawnSync("which", ["scp"], { stdio: "ignore" }).status === 0;
  const hasRsync = hasSsh && available("rsync", ["--version"]);
  if (!hasSsh) note(`OpenSSH (${SSHD} and ssh) is not installed: the zsync sshd, scp and rsync columns stay empty. Install it with \`apt-get install openssh-server openssh-client\`.`);
  else if (!hasScp) note("scp is not installed: the scp column stays empty.");
  if (hasSsh && !hasRsync) note("rsync is not installed: the rsync column stays empty. Install it with `apt-get install rsync`.");
  const versions = {
    node: process.version,
    zsync: versionOf(process.execPath, [zsyncBin, "--version"]),
    ssh2: (createRequire(join(REPO_ROOT, "package.json"))("ssh2/package.json") as { version: string }).version,
    openssh: hasSsh ? String(spawnSync("ssh", ["-V"], { encoding: "utf8" }).stderr).trim() : null,
    rsync: hasRsync ? versionOf("rsync", ["--version"]) : null,
  };
  progress(`temp dir ${root}; scale ${SCALE}; runs ${RUNS}; ${cpus().length} CPUs; load ${loadavg()[0].toFixed(1)}`);
  progress(`ssh2 ${versions.ssh2} crypto: ${crypto.summary}`);
  if (!crypto.native) warnNoNative(crypto.summary);

  // --- keys, accounts, servers ---------------------------------------------------------------
  const key = join(home, ".ssh", "id_ed25519");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "zsync-bench", "-f", key], { cwd: root, env });
  const knownHosts = join(home, "known_hosts");
  writeFileSync(knownHosts, "", { mode: 0o600 });

  const data = join(root, "zsync-data");
  const server = (args: string[], input?: string) => run(process.execPath, [serverBin, "--data-dir", data, ...args], { cwd: root, env: serverEnv, input });
  server(["user", "add", "zsync", "--role", "manager", "--password-stdin"], "zsync\n");
  server(["user", "key", "add", "zsync", `${key}.pub`]);
  const zsyncServer = await startServer(
    "zsync-server",
    process.execPath,
    [serverBin, "--data-dir", data, "serve", "--host", "127.0.0.1", "--port", "0", "--ssh-port", "0", "--quiet"],
    { cwd: root, env: serverEnv, log: join(root, "zsync-server.log"), ready: (text) => /listening on http:\/\/\S+/.test(text) && /ssh listening on zsync\+ssh:\/\/\S+/.test(text) },
  );
  const serverLog = readFileSync(zsyncServer.log, "utf8");
  const httpHostPort = /listening on http:\/\/([^\s/]+)/.exec(serverLog)![1];
  const sshHostPort = /ssh listening on zsync\+ssh:\/\/([^\s/]+)/.exec(serverLog)![1];
  appendFileSync(knownHosts, `[127.0.0.1]:${sshHostPort.split(":")[1]} ${hostKeyLine(join(data, "ssh_host_ed25519_key.pub"))}\n`);

  let sshd: { process: ServerProcess; port: number } | null = null;
  if (hasSsh) {
    try {
      sshd = await startSshd(join(root, "sshd"), { authorize: `${key}.pub`, subsystem: `${process.execPath} ${serverBin} --data-dir ${data} --stdio --as zsync`, env: serverEnv });
      appendFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${hostKeyLine(join(root, "sshd", "host_key.pub"))}\n`);
    } catch (error) {
      note(`sshd did not start, so the zsync sshd, scp and rsync columns stay empty: ${(error as Error).message}`);
    }
  }

  // --- per-transport commands ------------------------------------------------------------------
  const sshOpts = ["-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", key];
  const zsyncSshOpts = ["-i", key, "--known-hosts", knownHosts];
  const zsync = (args: string[], cwd: string) => run(process.execPath, [zsyncBin, ...args], { cwd, env });
  const urls: Record<"http" | "ssh" | "sshd", (path: string) => string> = {
    http: (path) => `http://zsync@${httpHostPort}/${path}`,
    ssh: (path) => `zsync+ssh://zsync@${sshHostPort}/${path}`,
    sshd: (path) => `zsync+ssh://root@127.0.0.1:${sshd?.port ?? 0}/${path}`,
  };
  const zsyncArgs = (transport: "http" | "ssh" | "sshd") => (transport === "http" ? [] : zsyncSshOpts);
  const remote = (path: string) => `root@127.0.0.1:${path}`;
  const scp = (args: string[]) => run("scp", ["-q", "-r", ...sshOpts, "-P", String(sshd!.port), ...args], { cwd: root, env });
  const rsync = (args: string[]) => run("rsync", ["-a", "-e", ["ssh", ...sshOpts, "-p", String(sshd!.port)].join(" "), ...args], { cwd: root, env });

  // The cipher each client negotiates decides much of ssh throughput: record it once.
  if (sshd) {
    const probe = run("ssh", ["-v", ...sshOpts, "-p", String(sshd.port), "root@127.0.0.1", "true"], { cwd: root, env });
    const cipher = /kex: server->client cipher: (\S+)/.exec(probe.stderr)?.[1];
    notes.push(`OpenSSH client (scp, rsync) cipher: ${cipher ?? "unknown"}`);
  }
  const floor = median(Array.from({ length: 3 }, () => zsync(["--version"], root).seconds));

  /** Runs one zsync command per run, then checks; the per-transport functions of a row. */
  const zsyncFns = (fn: (transport: "http" | "ssh" | "sshd", i: number) => number) => ({
    http: (i: number) => fn("http", i),
    ssh: (i: number) => fn("ssh", i),
    sshd: sshd ? (i: number) => fn("sshd", i) : undefined,
  });
  const checkCount = (dir: string, expected: number) => {
    const n = countFiles(dir);
    if (n !== expected) throw new Error(`${dir} has ${n} files, expected ${expected}`);
  };

  /** Upload (import), download (checkout) rows for one tree; returns the last checkout of each zsync transport. */
  function transfer(label: string, src: string, files: number, bytes: number): Record<"http" | "ssh" | "sshd", string> {
    let sourceName = "";
    measure(`upload ${label}: import vs scp/rsync to a new dir`, `median of ${RUNS}; zsync import URL DIR --no-attach, each run a new name`, bytes, {
      ...zsyncFns((transport, i) => {
        const name = `${label}-import-${transport}-${i + 1}`;
        const r = zsync(["import", urls[transport](name), src, "--no-attach", "-q", "-m", "bench import", ...zsyncArgs(transport)], root);
        if (!sourceName) sourceName = name;
        return r.seconds;
      }),
      scp: sshd && hasScp ? (i) => timedThenRemove(join(root, `up-scp-${label}-${i}`), files, (dest) => scp([src, remote(dest)])) : undefined,
      rsync: sshd && hasRsync ? (i) => timedThenRemove(join(root, `up-rsync-${label}-${i}`), files, (dest) => rsync([`${src}/`, remote(`${dest}/`)])) : undefined,
    });
    if (!sourceName) throw new Error(`no import of ${label} succeeded: nothing to check out`);

    const checkouts = { http: "", ssh: "", sshd: "" };
    measure(`download ${label}: checkout vs scp/rsync from the server`, `median of ${RUNS}; zsync checkout URL DIR, a fresh DIR each run`, bytes, {
      ...zsyncFns((transport, i) => {
        const dir = join(root, `co-${transport}-${label}-${i}`);
        if (checkouts[transport]) removeTree(checkouts[transport]);
        const r = zsync(["checkout", "-q", urls[transport](sourceName), dir, ...zsyncArgs(transport)], root);
        checkouts[transport] = dir;
        checkCount(dir, files);
        return r.seconds;
      }),
      scp: sshd && hasScp ? (i) => timedThenRemove(join(root, `down-scp-${label}-${i}`), files, (dest) => scp([remote(src), dest])) : undefined,
      rsync: sshd && hasRsync ? (i) => timedThenRemove(join(root, `down-rsync-${label}-${i}`), files, (dest) => rsync([`${remote(src)}/`, `${dest}/`])) : undefined,
    });
    return checkouts;
  }

  /** Times `copy(dest)`, checks the copy holds `files` files, removes it (untimed). */
  function timedThenRemove(dest: string, files: number, copy: (dest: string) => { seconds: number }): number {
    try {
      const seconds = copy(dest).seconds;
      checkCount(dest, files);
      return seconds;
    } finally {
      removeTree(dest);
    }
  }

  // --- medium tree: many small files and some binaries ---------------------------------------------
  {
    const src = join(root, "src-medium");
    progress(`generating ${MEDIUM.files} files (${MEDIUM.binaries} binaries) in ${MEDIUM.dirs} folders`);
    const stats = generateTree(src, MEDIUM);
    notes.push(`medium tree: ${stats.files} files (${stats.binaries} binaries of 16 KiB – 1 MiB), ${(stats.bytes / 1048576).toFixed(1)} MiB, ${stats.dirs} folders`);
    const checkouts = transfer("medium", src, stats.files, stats.bytes);

    // Commit of EDITS changed files from a checkout; the peer is an rsync of the same edited tree
    // onto an up-to-date copy (scp has no incremental mode).
    const pick = (i: number) => stats.textFiles[Math.floor((i * stats.textFiles.length) / EDITS)];
    let editedBytes = 0;
    for (let i = 0; i < EDITS; i++) editedBytes += statSync(join(src, pick(i))).size;
    const mirror = join(root, "rsync-mirror");
    if (sshd && hasRsync) rsync([`${src}/`, remote(`${mirror}/`)]);
    measure(`commit ${EDITS} changed files, medium`, `median of ${RUNS}; zsync update (untimed), edit, zsync commit; rsync: edited tree onto an existing copy`, editedBytes, {
      ...zsyncFns((transport, i) => {
        const dir = checkouts[transport];
        zsync(["update", "-q", ...zsyncArgs(transport)], dir);
        for (let k = 0; k < EDITS; k++) appendFileSync(join(dir, pick(k)), `bench ${transport} edit ${i}\n`);
        const r = zsync(["commit", "-q", "-m", `bench commit ${i}`, ...zsyncArgs(transport)], dir);
        const left = zsync(["status", "-q"], dir).stdout.trim();
        if (left !== "") throw new Error(`the checkout is not clean after the commit:\n${left.split("\n").slice(0, 5).join("\n")}`);
        return r.seconds;
      }),
      rsync:
        sshd && hasRsync
          ? (i) => {
              for (let k = 0; k < EDITS; k++) appendFileSync(join(src, pick(k)), `bench rsync edit ${i}\n`);
              return rsync([`${src}/`, remote(`${mirror}/`)]).seconds;
            }
          : undefined,
    });
    for (const dir of [...Object.values(checkouts), mirror, src]) if (dir) removeTree(dir);
  }

  // --- large files: a few big random files ------------------------------------------------------
  {
    const src = join(root, "src-large");
    mkdirSync(src);
    progress(`generating ${LARGE.count} random files of ${LARGE.bytes / 1048576} MiB`);
    for (let i = 0; i < LARGE.count; i++) {
      const chunks = Array.from({ length: Math.ceil(LARGE.bytes / 16777216) }, (_, c) => randomBytes(Math.min(16777216, LARGE.bytes - c * 16777216)));
      writeFileSync(join(src, `big${i}.bin`), Buffer.concat(chunks));
    }
    notes.push(`large files: ${LARGE.count} random files of ${LARGE.bytes / 1048576} MiB`);
    const checkouts = transfer("large", src, LARGE.count, LARGE.count * LARGE.bytes);
    for (const dir of [...Object.values(checkouts), src]) if (dir) removeTree(dir);
  }

  // --- report ------------------------------------------------------------------------------------
  if (sshd) {
    const log = readFileSync(sshd.process.log, "utf8");
    const ciphers = [...new Set([...log.matchAll(/kex: client->server cipher: (\S+)/g)].map((m) => m[1]))];
    notes.push(`ciphers seen by sshd (zsync sshd, scp, rsync): ${ciphers.join(", ") || "unknown"}`);
  }
  await stopAll();
  notes.push(`zsync --version (process start floor): ${floor.toFixed(2)} s`);
  printReport(versions, crypto.summary);
  if (!crypto.native) warnNoNative(crypto.summary);
  const totalSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, platform: process.platform, loadAtEnd: loadavg() },
        versions,
        ssh2Crypto: crypto,
        scale: SCALE,
        runs: RUNS,
        trees: { medium: MEDIUM, large: LARGE },
        totalSeconds,
        rows: rows.map((r) => ({ ...r, mbPerSecond: mapTransports((t) => rate(r.bytes, r.seconds[t])), ratios: ratios(r) })),
        notes,
        problems,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`\nbench took ${totalSeconds.toFixed(0)} s; results in ${RESULTS}`);
}

// ---------------------------------------------------------------------------------------------
// ssh2's native crypto binding and sshd

/** Whether ssh2 (as the zsync client and server load it) has its native crypto binding (toolchain.md: ~20× the throughput). */
function nativeCrypto(): { native: boolean; cpuFeatures: boolean; summary: string } {
  const require = createRequire(join(REPO_ROOT, "package.json"));
  let native = false;
  let reason = "";
  try {
    require("ssh2/lib/protocol/crypto/build/Release/sshcrypto.node");
    native = true;
  } catch (error) {
    reason = (error as Error).message.split("\n")[0];
  }
  let cpuFeatures = false;
  try {
    require("cpu-features");
    cpuFeatures = true;
  } catch {
    // optional: only orders ssh2's default ciphers by what the CPU accelerates
  }
  const summary = native
    ? `native binding (sshcrypto.node)${cpuFeatures ? ", cpu-features" : ", no cpu-features"}`
    : `NO native binding, pure-JS ciphers (${reason})`;
  return { native, cpuFeatures, summary };
}

function warnNoNative(summary: string): void {
  const bar = "!".repeat(78);
  console.error(
    `\n${bar}\nWARNING: ssh2 runs WITHOUT its native crypto binding (${summary}).\n` +
      "zsync over ssh will be ~20× slower than it should (see /work/shared/reference/toolchain.md).\n" +
      `Rebuild it: npm rebuild ssh2 cpu-features (install scripts must be allowed).\n${bar}\n`,
  );
  problems.push(`ssh2 without its native crypto binding: ${summary}`);
}

/** `type base64` of a public key file, for a known_hosts line. */
function hostKeyLine(pubFile: string): string {
  return readFileSync(pubFile, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
}

/**
 * A real OpenSSH sshd on a free loopback port with its own config, host key and authorized_keys
 * (as test/helpers/sshd.ts), running `subsystem` for `zsync` and internal-sftp (scp uses SFTP).
 * Logs at DEBUG1, which records the negotiated ciphers.
 */
async function startSshd(dir: string, opts: { authorize: string; subsystem: string; env: NodeJS.ProcessEnv }): Promise<{ process: ServerProcess; port: number }> {
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  mkdirSync(dir);
  const hostKey = join(dir, "host_key");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench-host", "-f", hostKey], { cwd: dir, env: opts.env });
  const authorizedKeys = join(dir, "authorized_keys");
  writeFileSync(authorizedKeys, readFileSync(opts.authorize), { mode: 0o600 });
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const config = join(dir, "sshd_config");
    writeFileSync(
      config,
      sshdConfig({
        port,
        hostKeys: [hostKey],
        pidFile: join(dir, "sshd.pid"),
        authorizedKeys,
        logLevel: "DEBUG1",
        extra: ["MaxStartups 100"],
        subsystems: { zsync: opts.subsystem, sftp: "internal-sftp" },
      }),
    );
    const log = join(dir, `sshd-${attempt}.log`);
    try {
      const process = await startServer("sshd", SSHD, ["-D", "-e", "-f", config], {
        cwd: dir,
        env: opts.env,
        log,
        // A taken port makes sshd exit, which startServer reports; then the next port is tried.
        ready: (text) => /Server listening on 127\.0\.0\.1 port/.test(text),
      });
      return { process, port };
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

// ---------------------------------------------------------------------------------------------
// Report

function mapTransports<T>(fn: (t: Transport) => T): Record<Transport, T> {
  return Object.fromEntries(TRANSPORTS.map((t) => [t, fn(t)])) as Record<Transport, T>;
}

function ratio(a: number | null, b: number | null): number | null {
  return a !== null && b !== null && b > 0 ? a / b : null;
}

function ratios(r: Row): Record<string, number | null> {
  const s = r.seconds;
  return {
    sshOverHttp: ratio(s.ssh, s.http),
    sshOverScp: ratio(s.ssh, s.scp),
    sshOverRsync: ratio(s.ssh, s.rsync),
    sshdOverHttp: ratio(s.sshd, s.http),
    sshdOverScp: ratio(s.sshd, s.scp),
    sshdOverRsync: ratio(s.sshd, s.rsync),
  };
}

/** MB/s (10^6 bytes) for `bytes` moved in `seconds`. */
function rate(bytes: number, seconds: number | null): number | null {
  return seconds !== null && seconds > 0 ? bytes / 1e6 / seconds : null;
}

const fmt = (v: number | null, digits = 2) => (v === null ? "–" : v.toFixed(digits));
const fmtRatio = (v: number | null) => (v === null ? "–" : `${v.toFixed(2)}×`);

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

function printReport(versions: Record<string, string | null>, crypto: string): void {
  console.log(`\nzsync over ssh vs HTTP vs scp/rsync — ${cpus().length} CPUs, node ${versions.node}, zsync ${versions.zsync ?? "?"}, ${versions.openssh ?? "OpenSSH missing"}, ${versions.rsync ?? "rsync missing"}`);
  console.log(`ssh2 ${versions.ssh2}: ${crypto}; scale ${SCALE}; median of ${RUNS} run(s) per cell`);
  console.log(`Whole commands (process start included), everything on loopback. load = 1-min load average when the row started (now ${loadavg()[0].toFixed(1)}).`);
  console.log("zsync ssh = zsync-server's own ssh endpoint; zsync sshd = OpenSSH sshd running `zsync-server --stdio` as its zsync subsystem.\n");
  const failed = (r: Row, t: Transport) => (r.errors.some((e) => e.transport === t) ? "FAIL" : null);
  const short = (r: Row) => r.op.replace(/:.*/, "");
  console.log("Seconds (median) and ratios (< 1: zsync over ssh is faster)\n");
  console.log(
    table(
      ["operation", "MB", ...TRANSPORTS.map((t) => HEADERS[t]), "ssh/http", "ssh/scp", "ssh/rsync", "sshd/scp", "sshd/rsync", "load"],
      rows.map((r) => {
        const q = ratios(r);
        return [
          short(r),
          (r.bytes / 1e6).toFixed(r.bytes < 1e7 ? 2 : 1),
          ...TRANSPORTS.map((t) => failed(r, t) ?? fmt(r.seconds[t])),
          fmtRatio(q.sshOverHttp),
          fmtRatio(q.sshOverScp),
          fmtRatio(q.sshOverRsync),
          fmtRatio(q.sshdOverScp),
          fmtRatio(q.sshdOverRsync),
          r.load.toFixed(1),
        ];
      }),
    ),
  );
  console.log("\nThroughput, MB/s (content bytes / median seconds)\n");
  console.log(table(["operation", ...TRANSPORTS.map((t) => HEADERS[t])], rows.map((r) => [short(r), ...TRANSPORTS.map((t) => failed(r, t) ?? fmt(rate(r.bytes, r.seconds[t]), 1))])));
  console.log("\nWhat each row runs\n");
  for (const r of rows) console.log(`- ${r.op} — ${r.how}`);
  if (notes.length) {
    console.log("\nNotes\n");
    for (const n of notes) console.log(`- ${n}`);
  }
  if (problems.length) {
    console.log("\nProblems\n");
    for (const p of problems) console.log(`- ${p.replace(/\n/g, "\n  ")}`);
  }
}

function note(message: string): void {
  notes.push(message);
  console.log(`NOTE: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Cleanup on every exit path

await runBench(main, {
  root: () => root,
  keep: KEEP,
  onFailure: () => {
    if (rows.length) printReport({ node: process.version }, nativeCrypto().summary);
  },
});
