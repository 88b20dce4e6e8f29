/**
 * Runs the built `zsync` binary as a user would, for end-to-end tests.
 */
import { spawn } from "node:child_process";
import { readdirSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENT_BIN } from "./server.js";

/** Stored logins of tests go here unless a test names its own directory: never the user's ~/.config. */
const TEST_CONFIG_DIR = join(tmpdir(), `zsync-test-config-${process.pid}`);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a `zsync` run in a test: the demo password, a test config directory (never
 * the user's ~/.config/zsync: no stored login or client setting of the user's applies, none is
 * stored there), no stored logins, no colour; then `extra` (a value of undefined removes the variable).
 * Tests that exercise stored logins opt in with ZSYNC_NO_AUTH_CACHE: undefined.
 */
export function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = { ...process.env, ZSYNC_PASSWORD: "zsync", ZSYNC_CONFIG_DIR: TEST_CONFIG_DIR, ZSYNC_NO_AUTH_CACHE: "1", NO_COLOR: "1", ...extra };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return env as Record<string, string>;
}

/** Runs `zsync ARGS` in `cwd`; the demo password comes from ZSYNC_PASSWORD unless `env` says otherwise. */
export function zsync(args: string[], opts: { cwd: string; env?: Record<string, string | undefined>; input?: string } = { cwd: process.cwd() }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = cliEnv(opts.env);
    const child = spawn(process.execPath, [CLIENT_BIN, ...args], { cwd: opts.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    // Decoded as a stream: a character split across two pipe reads must not become two U+FFFD.
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => (stdout += chunk));
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs `zsync ARGS` in `cwd` (environment as {@link zsync}) and returns its stdout as bytes (`zsync cat` of a binary file). */
export function zsyncBytes(args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLIENT_BIN, ...args], { cwd: opts.cwd, env: cliEnv(opts.env), stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(chunks), stderr }));
  });
}

/** Runs `zsync ARGS --json` and parses its output; fails loudly when it is not JSON. */
export async function zsyncJson<T = any>(args: string[], opts: { cwd: string; env?: Record<string, string | undefined> }): Promise<{ code: number; json: T; stderr: string }> {
  const result = await zsync([...args, "--json"], opts);
  try {
    return { code: result.code, json: JSON.parse(result.stdout) as T, stderr: result.stderr };
  } catch {
    throw new Error(`zsync ${args.join(" ")} --json printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** Sets every working file's mtime (not the admin area's) an hour back: old enough for a stat cache to be trusted. */
export function backdateWorkingFiles(root: string): void {
  const hourAgo = new Date(Date.now() - 3_600_000);
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !path.includes("/.zsync/")) utimesSync(path, hourAgo, hourAgo);
  }
}
