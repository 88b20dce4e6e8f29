/**
 * Runs `zsync watch --json` as a process for end-to-end tests and waits for its JSON lines:
 * tests wait for what the watcher says it did, never for the clock.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cliEnv } from "./cli.js";
import { CLIENT_BIN } from "./server.js";

/** One JSON line of `zsync watch --json` (docs/WATCH.md). */
export type WatchLine = { event: string } & Record<string, any>;

export interface WatchProcess {
  process: ChildProcess;
  /** Every JSON line so far. */
  lines: WatchLine[];
  stderr(): string;
  /** The first line (seen already or still to come) matching `match`; fails after `timeoutMs` (a hung watcher must fail the test). */
  waitFor(match: (line: WatchLine) => boolean, what: string, timeoutMs?: number): Promise<WatchLine>;
  /** SIGINT (Ctrl-C) and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** Starts `zsync watch --json ARGS` in `cwd` and resolves once it is connected to the server. */
export async function startWatch(cwd: string, args: string[], env: Record<string, string | undefined> = {}): Promise<WatchProcess> {
  const fullEnv = cliEnv({ ZSYNC_NO_AUTH_CACHE: undefined, ...env });
  const child = spawn(process.execPath, [CLIENT_BIN, "watch", "--json", ...args], { cwd, env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  const lines: WatchLine[] = [];
  const waiters = new Set<() => void>();
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk) => {
    stdout += chunk;
    let newline: number;
    while ((newline = stdout.indexOf("\n")) >= 0) {
      const text = stdout.slice(0, newline);
      stdout = stdout.slice(newline + 1);
      if (text.trim() === "") continue;
      lines.push(JSON.parse(text) as WatchLine);
    }
    for (const wake of [...waiters]) wake();
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  void exited.then(() => {
    for (const wake of [...waiters]) wake();
  });

  const watcher: WatchProcess = {
    process: child,
    lines,
    stderr: () => stderr,
    waitFor(match, what, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(match);
          if (found) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`zsync watch exited (${child.exitCode ?? child.signalCode}) before ${what}:\n${lines.map((l) => JSON.stringify(l)).join("\n")}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`zsync watch did not report ${what} within ${timeoutMs / 1000} s:\n${lines.map((l) => JSON.stringify(l)).join("\n")}\n${stderr}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  await watcher.waitFor((l) => l.event === "connected", "its connection");
  return watcher;
}
