// Bundles the zsync client into one file after tsc: loading one module instead of ~150 halves
// the start-up time of every command. Heavy libraries used by few commands stay external and
// load on first use.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { Script } from "node:vm";
import { build } from "esbuild";
import { readCodeCache, wrapBundle } from "../bin/bundle-loader.js";

const requireBanner = "import { createRequire as __zsyncRequire } from 'node:module'; const require = __zsyncRequire(import.meta.url);";

// undici parses HTTP with llhttp compiled to WebAssembly. V8 compiles it once quickly (Liftoff)
// and again optimized on background threads, and a process cannot exit before those compile
// jobs end: ~40 ms after every network command on a 2-core machine. Liftoff alone parses a
// 1 GiB body as fast (`zsync cat` of 1 GiB: 1.0-1.2 s either way). Set when undici loads, not
// before the client bundle is compiled: its code cache is made without the flag (a cache is
// valid only under the V8 flags it was made with).
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
  plugins: [lazyBuiltins(["http2", "tls"])],
  logLevel: "warning",
});

/** @type {import("esbuild").Plugin} */
const undiciClient = {
  name: "undici-client",
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: "./undici.mjs", external: true }));
  },
};

/**
 * string-width (three copies: yargs' and cliui's) builds an Intl.Segmenter and Unicode property
 * regular expressions when loaded, ~13 ms of every start, though only help and usage text
 * measures strings. These modules are replaced by a function that loads the real one (bundled as
 * a lazily evaluated module) on its first call.
 * @type {import("esbuild").Plugin}
 */
const lazyDefaultExports = {
  name: "lazy-default-exports",
  setup(b) {
    b.onResolve({ filter: /^(string-width|cliui)$/ }, async (args) => {
      if (args.pluginData?.real) return undefined;
      const real = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { real: true } });
      return real.errors.length > 0 ? { errors: real.errors } : { path: relative(process.cwd(), real.path), namespace: "lazy-default" };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-default" }, (args) => ({
      contents: `let real;\nexport default function (...args) {\n  real ??= require(${JSON.stringify(resolve(args.path))}).default;\n  return real(...args);\n}\n`,
      resolveDir: dirname(resolve(args.path)),
      loader: "js",
    }));
  },
};

/**
 * Node's own modules that cost 2-7 ms each to load and that a command uses late or never (tls and
 * child_process load net, dgram and more; undici loads http2 for HTTP/2, which zsync does not
 * speak, only to read its constants): the bundle gets an object with the same names whose
 * getters load the module on first use, so `status` does not pay for a network and `update` not
 * for HTTP/2. Plain data (http2.constants) is copied as it is. The names and data are those of
 * the Node.js that builds.
 * @param {string[]} modules
 * @returns {import("esbuild").Plugin}
 */
function lazyBuiltins(modules) {
  const filter = new RegExp(`^(node:)?(${modules.join("|")})$`);
  // A table of constants (not an array: tls.rootCertificates is the system's, read at run time).
  const isData = (value) =>
    value !== null && typeof value === "object" && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string" || typeof v === "number");
  return {
    name: "lazy-builtins",
    setup(b) {
      b.onResolve({ filter }, (args) =>
        args.namespace === "lazy-builtin" ? { path: args.path, external: true } : { path: args.path.replace(/^node:/, ""), namespace: "lazy-builtin" },
      );
      b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, async (args) => {
        const real = await import(`node:${args.path}`);
        const names = Object.keys(real).filter((name) => name !== "default" && /^[A-Za-z_$][\w$]*$/.test(name));
        const members = names.map((name) => (isData(real[name]) ? `  ${name}: ${JSON.stringify(real[name])},` : `  get ${name}() { return load().${name}; },`));
        return {
          contents: `let real;\nconst load = () => (real ??= require("node:${args.path}"));\nmodule.exports = {\n${members.join("\n")}\n};\n`,
          loader: "js",
        };
      });
    },
  };
}

// The client itself is a CommonJS bundle, so that bin/zsync.js can compile it through vm.Script
// with V8's code cache (dist/bundle/zsync.cjs.cache, written below): Node 20 has no code cache for
// ES modules, and compiling the ~0.8 MB bundle from source was most of a command's start.
await build({
  entryPoints: ["dist/cli/main.js"],
  outfile: "dist/bundle/zsync.cjs",
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["@inquirer/prompts", "diff", "mime-types", "cli-progress", "ssh2", "ssh-config", "chokidar"],
  // import() turned into require(): a script compiled from a code cache cannot import() (Node
  // loses its dynamic-import callback), and Node >= 20.19 requires ES modules (undici.mjs,
  // @inquirer/prompts, chokidar) as well. The sources use import.meta.url for createRequire.
  supported: { "dynamic-import": false },
  define: { "import.meta.url": "__zsyncBundleUrl" },
  // The first line names the build, so that a cache made for another build is never used.
  banner: { js: `// zsync client build ${randomBytes(8).toString("hex")}\nconst __zsyncBundleUrl = require("node:url").pathToFileURL(__filename).href;` },
  plugins: [undiciClient, lazyDefaultExports, lazyBuiltins(["child_process", "net", "tls"])],
  logLevel: "warning",
});

// V8's code cache for it (scripts/code-cache.js), made by the Node.js that builds: a different
// Node.js rejects it, and bin/zsync.js then compiles the bundle from source as before.
const bundle = "dist/bundle/zsync.cjs";
rmSync(`${bundle}.cache`, { force: true });
rmSync("dist/bundle/zsync.mjs", { force: true }); // the ES module bundle of earlier builds
const made = spawnSync(process.execPath, ["scripts/code-cache.js"], { stdio: ["ignore", "ignore", "inherit"] });
const source = readFileSync(bundle, "utf8");
const cachedData = readCodeCache(resolve(bundle), source);
if (made.status !== 0 || !cachedData || new Script(wrapBundle(source), { cachedData }).cachedDataRejected) {
  rmSync(`${bundle}.cache`, { force: true });
  console.warn(`warning: no code cache for ${bundle} (scripts/code-cache.js exited with ${made.status}); the client compiles it at each start`);
}
