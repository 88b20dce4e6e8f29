#!/usr/bin/env node
// `npm run demo`: the demo server on 127.0.0.1:8080 with its data in demo/data (kept across
// restarts). Override with flags (`npm run demo -- --port 9090 --data-dir /tmp/d`) or with
// ZSYNC_PORT, ZSYNC_HOST and ZSYNC_DATA_DIR.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const server = fileURLToPath(new URL("../bin/zsync-server.js", import.meta.url));
const dataDir = process.env.ZSYNC_DATA_DIR ?? fileURLToPath(new URL("./data", import.meta.url));
const args = [server, "--data-dir", dataDir, "serve", "--demo", ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
