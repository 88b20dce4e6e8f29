/**
 * Helper process for test/wc/index.test.ts: upgrades the checkout at argv[2] from entries.json
 * to the index over and over until killed — each round puts back the old format first
 * (entries.json written atomically, then the index removed), then loads, which upgrades.
 * Prints the round number after each upgrade.
 */
import { rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { adminPaths } from "../../src/wc/admin.js";
import { writeFileAtomic } from "../../src/wc/atomic.js";
import { loadEntries } from "../../src/wc/entries.js";

const root = process.argv[2];
const legacy = await readFile(process.argv[3], "utf8");
for (let round = 1; ; round++) {
  await writeFileAtomic(adminPaths(root).entries, legacy, { fsync: false });
  rmSync(adminPaths(root).index, { force: true });
  await loadEntries(root);
  process.stdout.write(`${round}\n`);
}
