// Runs the client bundle (dist/bundle/zsync.cjs) with V8's code cache: Node 20 keeps no code cache
// for ES modules, and compiling the ~0.8 MB bundle from source was most of every command's start.
// The cache (zsync.cjs.cache) is made by scripts/code-cache.js at build time; one made for another
// bundle, Node.js or V8 flag set, or damaged, is not used (V8 rejects the middle two), and the
// bundle then compiles from source.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Script } from "node:vm";
import { crc32 } from "node:zlib";

/**
 * The bundle's source as one function of CommonJS's module arguments, in strict mode (as the ES
 * modules it was bundled from; the bundle's own "use strict" follows its banner). The wrapper adds nothing
 * before the bundle's first line, so stack traces keep the bundle's line numbers.
 */
export function wrapBundle(source) {
  return `(function (exports, require, module, __filename, __dirname) {"use strict";${source}\n})`;
}

/** The first line of a bundle names its build (with its newline). */
export function buildLine(source) {
  return source.slice(0, source.indexOf("\n") + 1);
}

/**
 * The first line of a code cache: the build line of its bundle and the CRC-32 of the V8 data
 * after it. V8 checks a cache's version, flags and source length, but not its bytes (a release
 * build aborts the process on damaged data), so the loader checks them.
 */
export function cacheHeader(source, data) {
  return `${buildLine(source).trimEnd()} crc32 ${crc32(data).toString(16).padStart(8, "0")}\n`;
}

/** The code cache made for this very bundle, intact, or undefined (none, another build's, damaged). */
export function readCodeCache(file, source) {
  let cache;
  try {
    cache = readFileSync(`${file}.cache`);
  } catch {
    return undefined;
  }
  const end = cache.indexOf(10) + 1;
  const data = cache.subarray(end);
  return end > 0 && cache.toString("latin1", 0, end) === cacheHeader(source, data) ? data : undefined;
}

/** Compiles the bundle (from its code cache when it has a valid one) and runs it. */
export function runBundle(file) {
  const source = readFileSync(file, "utf8");
  const script = new Script(wrapBundle(source), {
    filename: file,
    cachedData: readCodeCache(file, source),
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return script;
}
