// Bundles the zsync client into one file after tsc: loading one module instead of ~150 halves
// the start-up time of every command. Heavy libraries used by few commands stay external and
// load on first use.
import { build } from "esbuild";

const requireBanner = "import { createRequire as __zsyncRequire } from 'node:module'; const require = __zsyncRequire(import.meta.url);";

// `import("undici")` in the client loads dist/bundle/undici.mjs: only the parts it uses.
await build({
  entryPoints: ["scripts/undici-client.mjs"],
  outfile: "dist/bundle/undici.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  banner: { js: requireBanner },
  logLevel: "warning",
});

/** @type {import("esbuild").Plugin} */
const undiciClient = {
  name: "undici-client",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: "./undici.mjs", external: true }));
  },
};

await build({
  entryPoints: ["dist/cli/main.js"],
  outfile: "dist/bundle/zsync.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["@inquirer/prompts", "diff", "mime-types", "cli-progress", "ssh2", "ssh-config", "chokidar"],
  // Bundled CommonJS dependencies (yargs' helpers) call require: give them one.
  banner: { js: requireBanner },
  plugins: [undiciClient],
  logLevel: "warning",
});
