/**
 * ssh helpers for tests of the server's ssh endpoint: keys made by ssh-keygen, known_hosts
 * files, the OpenSSH client run in isolation (no ~/.ssh, no agent), the zsync-server CLI, and an
 * undici dispatcher whose connections are ssh2 `zsync` subsystem channels.
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import ssh2 from "ssh2";
import { Client as UndiciClient } from "undici";
import { SERVER_BIN, type TestServer } from "./server.js";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with `input` on stdin; never rejects for a non-zero exit. */
export function run(program: string, args: string[], opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    // A hung ssh must fail the test, not the run.
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** `zsync-server --data-dir DIR ARGS`. */
export function serverCli(dataDir: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  return run(process.execPath, [SERVER_BIN, "--data-dir", dataDir, ...args], opts);
}

/** Makes an unencrypted key pair with ssh-keygen; returns the private key path (public: `.pub`). */
export async function sshKeygen(dir: string, name: string, type = "ed25519"): Promise<string> {
  const file = join(dir, name);
  const result = await run("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", `${name}@test`, "-f", file]);
  if (result.code !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  return file;
}

/** The port of a `zsync+ssh://HOST:PORT` URL. */
export function sshPort(server: TestServer): number {
  if (!server.sshUrl) throw new Error("the server was not started with --ssh-port");
  return Number(/:(\d+)$/.exec(server.sshUrl)![1]);
}

/** Writes a known_hosts file trusting `hostPublicKey` (`TYPE BASE64`) for 127.0.0.1:PORT. */
export async function writeKnownHosts(file: string, port: number, hostPublicKey: string): Promise<string> {
  await writeFile(file, `[127.0.0.1]:${port} ${hostPublicKey.trim()}\n`);
  return file;
}

/** The host public key the server generated in its data directory. */
export async function hostPublicKey(dataDir: string): Promise<string> {
  return (await readFile(join(dataDir, "ssh_host_ed25519_key.pub"), "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
}

/**
 * Debian's OpenSSH client, isolated: no config file, no agent, only the given key, strict host
 * key checking against `knownHosts`. `subsystem` runs `-s`; otherwise `command` is executed.
 */
export function openSsh(opts: { port: number; key: string; knownHosts: string; user: string; subsystem?: string; command?: string; input?: string; home: string }): Promise<RunResult> {
  const args = [
    "-F", "/dev/null", "-p", String(opts.port), "-i", opts.key,
    "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${opts.knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "ConnectTimeout=20",
  ];
  if (opts.subsystem) args.push("-s", `${opts.user}@127.0.0.1`, opts.subsystem);
  else args.push("-T", `${opts.user}@127.0.0.1`, ...(opts.command ? [opts.command] : []));
  return run("ssh", args, { input: opts.input, env: { HOME: opts.home } });
}

/** A raw HTTP/1.1 GET as a client writes it on the channel. */
export function httpGet(path: string, headers: Record<string, string> = {}): string {
  const lines = [`GET ${path} HTTP/1.1`, "Host: zsync", "Connection: close", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return lines.join("\r\n") + "\r\n\r\n";
}

/** Splits an HTTP/1.1 response text into status and body (Content-Length bodies only). */
export function parseHttpResponse(text: string): { status: number; headers: string; body: string } {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`);
  const head = text.slice(0, end);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
  if (!status) throw new Error(`no status line in ${JSON.stringify(head)}`);
  return { status, headers: head, body: text.slice(end + 4) };
}

/** An authHandler list that offers only this password (typed apart: a literal would fail the excess-property check). */
function passwordOnly(username: string, password: string): ssh2.AuthMethod[] {
  const method: ssh2.PasswordAuthMethod = { type: "password", username, password };
  return [method];
}

/**
 * An ssh2 client connection, resolved once authenticated; rejects with ssh2's error.
 * `forcePassword` sends the password even when the server does not offer that method.
 */
export function connectSsh2(opts: { port: number; username: string; privateKey?: Buffer; password?: string; hostPublicKey: string; forcePassword?: boolean }): Promise<ssh2.Client> {
  const expected = Buffer.from(opts.hostPublicKey.split(/\s+/)[1], "base64");
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once("ready", () => resolve(client));
    client.once("error", reject);
    client.connect({
      host: "127.0.0.1",
      port: opts.port,
      username: opts.username,
      privateKey: opts.privateKey,
      password: opts.password,
      tryKeyboard: false,
      agent: undefined,
      hostVerifier: (key: Buffer) => key.equals(expected),
      readyTimeout: 20_000,
      ...(opts.forcePassword ? { authHandler: passwordOnly(opts.username, opts.password ?? "") } : {}),
    });
  });
}

/** An undici dispatcher whose connections are `zsync` subsystem channels of `client`. */
export function sshDispatcher(client: ssh2.Client): UndiciClient {
  return new UndiciClient("http://zsync.invalid", {
    connect(_options, callback) {
      client.subsys("zsync", (error, channel) => {
        if (error) return callback(error, null);
        const socket = channel as unknown as Record<string, unknown>;
        for (const method of ["setTimeout", "setNoDelay", "setKeepAlive", "ref", "unref"]) socket[method] = () => socket;
        callback(null, channel as never);
      });
    },
  });
}
