import type { Script } from "node:vm";

/** The bundle's source as one function of CommonJS's module arguments (see bundle-loader.js). */
export function wrapBundle(source: string): string;
/** The bundle's first line, which names its build (with its newline). */
export function buildLine(source: string): string;
/** The first line of a code cache: the bundle's build line and the CRC-32 of `data`. */
export function cacheHeader(source: string, data: Uint8Array): string;
/** The code cache made for this very bundle, or undefined (none, another build's, or damaged). */
export function readCodeCache(file: string, source: string): Buffer | undefined;
/** Compiles the bundle (from its code cache when it has a valid one) and runs it. */
export function runBundle(file: string): Script;
