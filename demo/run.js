#!/usr/bin/env node
// `npm run demo`: the demo server on 127.0.0.1:8080 (its management page at /manage, login
// zsync/zsync, printed at start), and its ssh endpoint on port 2200 (the
// zsync demo's port; your ~/.ssh/id_*.pub keys and the password zsync are accepted for the demo account), with its
// data in demo/data (kept across restarts). Override with flags
// (`npm run demo -- --port 9090 --ssh-port 2222 --data-dir /tmp/d`) or with ZSYNC_PORT,
// ZSYNC_HOST and ZSYNC_DATA_DIR.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const server = fileURLToPath(new URL("../bin/zsync-server.js", import.meta.url));
const dataDir = process.env.ZSYNC_DATA_DIR ?? fileURLToPath(new URL("./data", import.meta.url));
const extra = process.argv.slice(2);
const ssh = extra.some((arg) => arg === "--ssh-port" || arg.startsWith("--ssh-port=")) ? [] : ["--ssh-port", "2200"];
// The demo account's password works over ssh too, so the original zsync's
// `zsync co zsync+ssh://zsync:zsync@localhost:2200/demo parts/co2` works as written.
const sshPasswords = ssh.length > 0 || extra.some((arg) => arg.startsWith("--ssh-port")) ? ["--ssh-password-auth"] : [];
const args = [server, "--data-dir", dataDir, "serve", "--demo", ...ssh, ...sshPasswords, ...extra];
const child = spawn(process.execPath, args, { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
