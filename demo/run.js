#!/usr/bin/env node
// `npm run demo`: the demo server on 127.0.0.1:8080 (its management page at /manage, login
// zsync/zsync, printed at start), and its ssh endpoint on port 2200 (the
// zsync demo's port; your ~/.ssh/id_*.pub keys and the password zsync are accepted for the demo account), with its
// data in demo/data (kept across restarts). Override with flags
// (`npm run demo -- --port 9090 --ssh-port 2222 --data-dir /tmp/d`; port 0: any free port, the
// address is printed) or with ZSYNC_PORT, ZSYNC_HOST and ZSYNC_DATA_DIR.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const server = fileURLToPath(new URL("../bin/zsync-server.js", import.meta.url));
let dataDir = process.env.ZSYNC_DATA_DIR ?? fileURLToPath(new URL("./data", import.meta.url));
// --data-dir is taken out of the flags and passed once: given twice, the server would get a list.
const extra = [];
const given = process.argv.slice(2);
for (let i = 0; i < given.length; i++) {
  const arg = given[i];
  if (arg === "--data-dir") {
    if (given[i + 1] === undefined || given[i + 1].startsWith("--")) {
      console.error("demo: --data-dir needs a directory");
      process.exit(2);
    }
    dataDir = given[++i];
  } else if (arg.startsWith("--data-dir=")) dataDir = arg.slice("--data-dir=".length);
  else extra.push(arg);
}
const ssh = extra.some((arg) => arg === "--ssh-port" || arg.startsWith("--ssh-port=")) ? [] : ["--ssh-port", "2200"];
// The demo account's password works over ssh too, so the original zsync's
// `zsync co zsync+ssh://zsync:zsync@localhost:2200/demo parts/co2` works as written.
const passwords = extra.includes("--ssh-password-auth") ? [] : ["--ssh-password-auth"];
const args = [server, "--data-dir", dataDir, "serve", "--demo", ...ssh, ...passwords, ...extra];
const child = spawn(process.execPath, args, { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + ({ SIGINT: 2, SIGTERM: 15 }[signal] ?? 1) : 0)));
