/**
 * `npm pack` ships the programs, docs and demo seed, never a repository: not the demo's data
 * directory (its database and private ssh host key, made by `npm run demo`), not a data directory
 * at the top, not test or bench files.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tempDir } from "../helpers/server.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

test("npm pack leaves out demo/data and any data directory, and includes LICENSE", { timeout: 120_000 }, async () => {
  // A copy of the clone (without node_modules and .git), so that the data directories made here
  // never appear in the real clone, where another test file checks that the demo made none.
  const copy = await tempDir("zsync-pack-");
  await cp(root, copy, { recursive: true, filter: (source) => !/\/(node_modules|\.git)$/.test(source) });
  // What `npm run demo` leaves behind.
  for (const dir of ["demo/data", "data"]) {
    const absolute = join(copy, dir);
    await mkdir(absolute, { recursive: true });
    await writeFile(join(absolute, "zsync.db"), "not a database\n");
    await writeFile(join(absolute, "ssh_host_ed25519_key"), "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n");
  }
  try {
    const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: copy, maxBuffer: 64 << 20 });
    const files: string[] = (JSON.parse(stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    assert.ok(files.length > 10, `suspiciously few files: ${files.join(", ")}`);
    const leaked = files.filter((p) => /(^|\/)data\//.test(p) || /ssh_host_|\.db$|\.sqlite/.test(p) || /^(test|bench|src)\//.test(p));
    assert.deepEqual(leaked, [], "files that must not be in the package");
    for (const expected of ["LICENSE", "README.md", "bin/zsync.js", "bin/zsync-server.js", "demo/run.js"]) {
      assert.ok(files.includes(expected), `${expected} is missing from the package`);
    }
    assert.ok(files.some((p) => p.startsWith("demo/seed/")), "the demo seed is missing from the package");
    assert.ok(files.some((p) => p.startsWith("dist/")), "dist/ is missing from the package");
    // The client starts from its bundle and the bundle's code cache, through bin/bundle-loader.js.
    for (const file of ["bin/zsync.js", "bin/bundle-loader.js", "dist/bundle/zsync.cjs", "dist/bundle/zsync.cjs.cache", "dist/bundle/undici.mjs"]) {
      assert.ok(files.includes(file), `${file} is missing from the package`);
    }
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
});
