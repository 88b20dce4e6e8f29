/**
 * `npm pack` ships the programs, docs and LICENSE, never the demo's data directory (its
 * repository and private ssh host key, made by `npm run demo`).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const root = fileURLToPath(new URL("../..", import.meta.url));

test("npm pack excludes demo/data and includes LICENSE", () => {
  const dataDir = `${root}/demo/data`;
  const made = !existsSync(dataDir);
  mkdirSync(dataDir, { recursive: true });
  const marker = `${dataDir}/pack-test-host-key`;
  writeFileSync(marker, "private\n");
  try {
    const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" });
    const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path);
    assert.ok(!files.some((f) => f.startsWith("demo/data/")), files.filter((f) => f.startsWith("demo/")).join("\n"));
    assert.ok(files.includes("LICENSE"));
    assert.ok(files.includes("demo/run.js"));
    assert.ok(files.includes("bin/zsync.js"));
  } finally {
    rmSync(made ? dataDir : marker, { recursive: true, force: true });
  }
});
