// Bundles the zsync client into one file after tsc: loading one module instead of ~150 halves
// the start-up time of every command. Heavy libraries used by few commands stay external and
// load on first use.
import { build } from "esbuild";

const requireBanner = "import { createRequire as __zsyncRequire } from 'node:module'; const require = __zsyncRequire(import.meta.url);";

// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it once quickly (Liftoff)
// and again optimized on background threads, and a process cannot exit before those compile
// jobs end: ~40 ms after every network command on a 2-core machine. Liftoff alone parses a
// 1 GiB body as fast (`zsync cat` of 1 GiB: 1.0-1.2 s either way).
const liftoffOnlyBanner = "import { setFlagsFromString as __zsyncV8Flags } from 'node:v8'; __zsyncV8Flags('--liftoff-only');";

// `import("undici")` in the client loads dist/bundle/undici.mjs: only the parts it uses.
await build({
  entryPoints: ["scripts/undici-client.mjs"],
  outfile: "dist/bundle/undici.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  banner: { js: `${requireBanner}\n${liftoffOnlyBanner}` },
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
