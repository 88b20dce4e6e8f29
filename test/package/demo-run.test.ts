/**
 * The real demo script (`demo/run.js`, what `npm run demo` starts after building) with
 * `--data-dir DIR --port 0 --ssh-port 0`: it used to pass the data directory twice and crash. It
 * prints its /manage address and the demo login, the page answers, the data lands in DIR (not in
 * demo/data), and SIGTERM stops it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { tempDir } from "../helpers/server.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

for (const form of ["--data-dir DIR", "--data-dir=DIR"]) {
  test(`npm run demo -- ${form} --port 0 starts, prints /manage and the login, and serves the page`, { timeout: 60_000 }, async () => {
    const dir = await tempDir("zsync-demo-run-");
    const home = join(dir, "home");
    await mkdir(home);
    const dataDir = join(dir, "data");
    const demoDataBefore = existsSync(join(root, "demo/data"));
    const flags = form === "--data-dir DIR" ? ["--data-dir", dataDir] : [`--data-dir=${dataDir}`];
    // HOME elsewhere: the demo authorizes ~/.ssh keys, and this test must not touch the real ones.
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
    delete env.ZSYNC_DATA_DIR;
    delete env.ZSYNC_PORT;
    const child = spawn(process.execPath, [join(root, "demo/run.js"), ...flags, "--port", "0", "--ssh-port", "0", "--quiet"], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const check = () => {
          const match = /manage in a browser: (http:\/\/127\.0\.0\.1:\d+\/manage) +\(log in as zsync, password zsync\)/.exec(out);
          if (match) resolve(match[1]);
        };
        child.stdout.on("data", (chunk) => {
          out += chunk;
          check();
        });
        child.stderr.on("data", (chunk) => (out += chunk));
        void exited.then((code) => reject(new Error(`the demo exited (${code}) before printing its address:\n${out}`)));
      });
      const login = await fetch(`${address}/login`);
      assert.equal(login.status, 200);
      assert.match(await login.text(), /User name/);
      const browse = await fetch(`${address}/browse?path=/demo`, { redirect: "manual" });
      assert.equal(browse.status, 303, "a page without a session goes to the login");
      assert.ok(existsSync(join(dataDir, "ssh_host_ed25519_key")), "the data is in --data-dir");
      assert.equal(existsSync(join(root, "demo/data")), demoDataBefore, "demo/data was not made");
    } finally {
      child.kill("SIGTERM");
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      assert.equal(code, 0, out);
    }
  });
}
