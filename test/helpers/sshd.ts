/**
 * A real OpenSSH sshd for tests, with its own config, host key, authorized_keys and log in a
 * temporary directory, on a free loopback port. The `zsync` subsystem command is a parameter,
 * normally `zsync-server --stdio` on a data directory (stdioSubsystem), as docs/SSH.md configures it.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { freePort } from "./ports.js";
import { join } from "node:path";
import { promisify } from "node:util";
import { SERVER_BIN, tempDir } from "./server.js";

const run = promisify(execFile);
export const SSHD = "/usr/sbin/sshd";

export interface TestSshd {
  port: number;
  dir: string;
  /** Host private key file (its public key is `${hostKey}.pub`). */
  hostKey: string;
  /** `type base64` of the host key. */
  hostKeyLine: string;
  /** Further host keys (`extraHostKeyTypes`), private key paths. */
  extraHostKeys: string[];
  authorizedKeys: string;
  logFile: string;
  /** The sshd log so far. */
  log(): Promise<string>;
  /** Stops sshd (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * The subsystem command serving the repository in `dataDir` with `zsync-server --stdio` (one process
 * per ssh channel, beside any running `zsync-server serve` on the same data directory).
 */
export function stdioSubsystem(dataDir: string, opts: { as?: string } = {}): string {
  return `${process.execPath} ${SERVER_BIN} --data-dir ${dataDir} --stdio${opts.as ? ` --as ${opts.as}` : ""}`;
}

/**
 * The sshd_config of a private sshd (tests, bench): loopback only, public keys only, root allowed,
 * its own host keys, pid file and authorized_keys, and the given subsystems.
 */
export function sshdConfig(opts: { port: number; hostKeys: string[]; pidFile: string; authorizedKeys: string; logLevel: string; subsystems: Record<string, string>; extra?: string[] }): string {
  return [
    `Port ${opts.port}`,
    "ListenAddress 127.0.0.1",
    ...opts.hostKeys.map((file) => `HostKey ${file}`),
    `PidFile ${opts.pidFile}`,
    `AuthorizedKeysFile ${opts.authorizedKeys}`,
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "PermitRootLogin prohibit-password",
    `LogLevel ${opts.logLevel}`,
    ...(opts.extra ?? []),
    ...Object.entries(opts.subsystems).map(([name, command]) => `Subsystem ${name} ${command}`),
    "",
  ].join("\n");
}

/** Makes an ssh key pair with ssh-keygen; returns the private key path (public at `.pub`). */
export async function makeKey(path: string, opts: { type?: "ed25519" | "ecdsa" | "rsa"; passphrase?: string; comment?: string } = {}): Promise<string> {
  await run("ssh-keygen", ["-q", "-t", opts.type ?? "ed25519", "-N", opts.passphrase ?? "", "-C", opts.comment ?? "zsync-test", "-f", path]);
  return path;
}

/** Starts sshd (`subsystem: null`: no zsync subsystem at all); `authorize` lists public key files allowed to log in (as any user, root included). */
export async function startSshd(opts: { subsystem: string | null; authorize?: string[]; hostKeyType?: "ed25519" | "ecdsa" | "rsa"; extraHostKeyTypes?: ("ed25519" | "ecdsa" | "rsa")[] }): Promise<TestSshd> {
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = await tempDir("zsync-sshd-");
  const hostKey = await makeKey(join(dir, "host_key"), { type: opts.hostKeyType ?? "ed25519", comment: "test-host" });
  const hostKeyLine = (await readFile(`${hostKey}.pub`, "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
  const extraHostKeys = await Promise.all((opts.extraHostKeyTypes ?? []).map((type) => makeKey(join(dir, `host_key_${type}`), { type, comment: "test-host" })));
  const authorizedKeys = join(dir, "authorized_keys");
  const keys = await Promise.all((opts.authorize ?? []).map((file) => readFile(file, "utf8")));
  await writeFile(authorizedKeys, keys.join(""), { mode: 0o600 });
  const logFile = join(dir, "sshd.log");
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const config = join(dir, "sshd_config");
    await writeFile(
      config,
      sshdConfig({
        port,
        hostKeys: [hostKey, ...extraHostKeys],
        pidFile: join(dir, "sshd.pid"),
        authorizedKeys,
        logLevel: "VERBOSE",
        subsystems: opts.subsystem === null ? {} : { zsync: opts.subsystem },
      }),
    );
    await writeFile(logFile, "");
    const started = spawn(SSHD, ["-D", "-f", config, "-E", logFile], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    started.stderr!.setEncoding("utf8");
    started.stderr!.on("data", (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => started.once("exit", (code) => resolve(code)));
    const listening = (async () => {
      for (let i = 0; i < 200; i++) {
        const log = await readFile(logFile, "utf8");
        if (/Server listening on 127\.0\.0\.1 port/.test(log)) return true;
        if (/Bind to port .* failed|Cannot bind any address/.test(log)) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`sshd did not start listening:\n${await readFile(logFile, "utf8")}`);
    })();
    const outcome = await Promise.race([listening, exited.then(() => "exited" as const)]);
    if (outcome === true) child = started;
    else {
      started.kill("SIGKILL");
      await exited;
      if (outcome === "exited" && !/Bind to port/.test(await readFile(logFile, "utf8"))) {
        throw new Error(`sshd exited:\n${stderr}\n${await readFile(logFile, "utf8")}`);
      }
    }
  }
  if (!child) throw new Error("sshd could not bind a free port after 5 attempts");
  const running = child;
  const exited = new Promise<void>((resolve) => (running.exitCode !== null ? resolve() : running.once("exit", () => resolve())));
  return {
    port,
    dir,
    hostKey,
    hostKeyLine,
    extraHostKeys,
    authorizedKeys,
    logFile,
    log: () => readFile(logFile, "utf8"),
    async stop() {
      if (running.exitCode === null && running.signalCode === null) running.kill("SIGTERM");
      const timer = setTimeout(() => running.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts an ssh-agent holding `keys`; returns its socket and a stop function. */
export async function startAgent(keys: string[]): Promise<{ socket: string; stop(): Promise<void> }> {
  const dir = await tempDir("zsync-agent-");
  const socket = join(dir, "agent.sock");
  const agent = spawn("ssh-agent", ["-D", "-a", socket], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => agent.once("exit", () => resolve()));
  for (let i = 0; i < 100; i++) {
    const ok = await run("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: socket } }).then(() => true, (e: { code?: number }) => e.code === 1);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const key of keys) await run("ssh-add", [key], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
  return {
    socket,
    async stop() {
      if (agent.exitCode === null) agent.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
