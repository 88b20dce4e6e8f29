/**
 * Helper process for test/wc/index.test.ts: saves the entries of the checkout at argv[2] in a
 * loop until killed. Save k sets the revision and the entry of file `d/f{k % 200}.txt` to k,
 * and prints k once the save returned.
 */
import { loadEntries, saveEntries } from "../../src/wc/entries.js";

const root = process.argv[2];
const wc = await loadEntries(root);
for (let k = wc.revision + 1; ; k++) {
  const path = `d/f${k % 200}.txt`;
  wc.entries.set(path, { ...wc.entries.get(path)!, revision: k });
  wc.revision = k;
  await saveEntries(root, wc, { changed: [path], fsync: false });
  process.stdout.write(`${k}\n`);
}
