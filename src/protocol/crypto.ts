/**
 * `node:crypto`, loaded on first use. Loading it costs ~20 ms, which every client command would pay
 * at start-up through a static import, although a clean `status` hashes nothing.
 */
import type * as NodeCrypto from "node:crypto";
import { createRequire } from "node:module";

let loaded: typeof NodeCrypto | undefined;

/** The `node:crypto` module (loaded on the first call). */
export function nodeCrypto(): typeof NodeCrypto {
  loaded ??= createRequire(import.meta.url)("node:crypto") as typeof NodeCrypto;
  return loaded;
}
