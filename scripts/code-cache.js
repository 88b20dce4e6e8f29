// Writes dist/bundle/zsync.cjs.cache, V8's code cache for the client bundle (see
// bin/bundle-loader.js), run by bundle-cli.js in a process of its own. A cache holds the code of
// the functions compiled when it is made, so this one is made after the bundle has run one
// `zsync status` in a small checkout made here: the start of every command (argument parsing,
// finding and reading the checkout, its index) and status itself then start from compiled code.
// Nothing here changes V8's flags: the cache is valid only under the flags it was made with.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { adminPaths, FORMAT_VERSION, writeConfig } from "../dist/wc/admin.js";
import { saveEntries } from "../dist/wc/entries.js";
import { cacheHeader, runBundle } from "../bin/bundle-loader.js";

const bundle = resolve("dist/bundle/zsync.cjs");
const root = mkdtempSync(join(tmpdir(), "zsync-code-cache-"));
try {
  const paths = adminPaths(root);
  mkdirSync(paths.pristine, { recursive: true });
  writeFileSync(paths.format, `${FORMAT_VERSION}\n`);
  await writeConfig(root, { origin: "http://127.0.0.1:1", path: "cache", repository: "00000000-0000-4000-8000-000000000000", depth: "infinity" });
  // Two tracked files, one since edited, and an untracked one: status hashes, compares and lists.
  const entries = new Map([["", { kind: "folder", revision: 1 }]]);
  mkdirSync(join(root, "docs"));
  entries.set("docs", { kind: "folder", revision: 1 });
  for (const [path, text] of [["docs/a.txt", "a\n"], ["docs/b.txt", "b\n"]]) {
    writeFileSync(join(root, path), text);
    entries.set(path, { kind: "file", revision: 1, hash: createHash("sha256").update(text).digest("hex"), size: text.length });
  }
  await saveEntries(root, { revision: 1, entries });
  writeFileSync(join(root, "docs/b.txt"), "b, edited\n");
  writeFileSync(join(root, "new.txt"), "new\n");
} catch (error) {
  rmSync(root, { recursive: true, force: true });
  throw error;
}

process.chdir(root);
process.argv = [process.argv[0], "zsync", "status"];
const script = runBundle(bundle);
// The bundle ends the process itself when status is done.
process.on("exit", () => {
  process.chdir("/");
  rmSync(root, { recursive: true, force: true });
  const data = script.createCachedData();
  writeFileSync(`${bundle}.cache`, Buffer.concat([Buffer.from(cacheHeader(readFileSync(bundle, "utf8"), data), "latin1"), data]));
});
