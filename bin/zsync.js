#!/usr/bin/env node
// The client runs from one bundled file (see scripts/bundle-cli.js): it starts twice as fast.
// `zsync --version` needs none of it: answered from package.json without loading the bundle.
if (process.argv.length === 3 && process.argv[2] === "--version") {
  const { readFileSync } = await import("node:fs");
  process.stdout.write(`${JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version}\n`);
} else {
  const { runBundle } = await import("./bundle-loader.js");
  const { fileURLToPath } = await import("node:url");
  runBundle(fileURLToPath(new URL("../dist/bundle/zsync.cjs", import.meta.url)));
}
