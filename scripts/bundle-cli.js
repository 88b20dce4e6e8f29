// Bundles the zsync client into one file after tsc: loading one module instead of ~150 halves
// the start-up time of every command. Heavy libraries used by few commands stay external and
// load on first use.
import { build } from "esbuild";

await build({
  entryPoints: ["dist/cli/main.js"],
  outfile: "dist/bundle/zsync.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["undici", "@inquirer/prompts", "diff", "mime-types", "cli-progress", "ssh2", "ssh-config", "chokidar"],
  // Bundled CommonJS dependencies (yargs' helpers) call require: give them one.
  banner: { js: "import { createRequire as __zsyncRequire } from 'node:module'; const require = __zsyncRequire(import.meta.url);" },
  logLevel: "warning",
});
