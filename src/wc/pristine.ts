/**
 * Pristine BASE copies, content-addressed by SHA-256 under `.zsync/pristine/ab/abcd…`
 * (zsync's "Original" files), or in the pack a new checkout writes (src/wc/pristine-pack.ts).
 * Written atomically; never modified once written.
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { once } from "node:events";
import fs, { createReadStream, createWriteStream } from "node:fs";
import { access, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { adminPaths, WcError } from "./admin.js";
import { namePathOnDiskFull, uniqueTempPart } from "./atomic.js";
import { packedSize, readPacked, SMALL_BODY } from "./pristine-pack.js";

/** The pristine store folder of each checkout root seen (a checkout asks 20,000 times). */
const storeOf = new Map<string, string>();

/** Where the pristine copy of `hash` lives. */
export function pristinePath(root: string, hash: string): string {
  let store = storeOf.get(root);
  if (store === undefined) storeOf.set(root, (store = adminPaths(root).pristine));
  // A hash is 64 hex digits (validated where it is read): plain concatenation is a normalised path.
  return /^[0-9a-f]{64}$/.test(hash) ? `${store}/${hash.slice(0, 2)}/${hash}` : join(store, hash.slice(0, 2), hash);
}

/** True when the pristine copy exists. */
export async function hasPristine(root: string, hash: string): Promise<boolean> {
  if (packedSize(root, hash) !== undefined) return true;
  return access(pristinePath(root, hash)).then(() => true, () => false);
}

/** The error for a BASE copy that is not in the store. */
export function missingPristineError(root: string, hash: string): WcError {
  return new WcError("missing-pristine", `the BASE copy ${pristinePath(root, hash)} is missing; run \`zsync update\` to fetch it again or check out anew`);
}

/** The bytes of a pristine copy; a `missing-pristine` error when there is none. */
export async function readPristine(root: string, hash: string): Promise<Buffer> {
  const packed = readPacked(root, hash);
  if (packed) return packed;
  return readFile(pristinePath(root, hash)).catch((error: unknown) => {
    throw (error as NodeJS.ErrnoException).code === "ENOENT" ? missingPristineError(root, hash) : error;
  });
}

/** Folders known to exist (the pristine fan-out, the temp folder): saves a mkdir per file. */
const knownDirs = new Set<string>();

async function ensureDir(dir: string): Promise<void> {
  if (knownDirs.has(dir)) return;
  await mkdir(dir, { recursive: true });
  knownDirs.add(dir);
}

/** A fresh temp file name in the checkout's temp folder (which exists on return). */
export async function pristineTempPath(root: string): Promise<string> {
  const { tmp } = adminPaths(root);
  await ensureDir(tmp);
  return join(tmp, `in-${uniqueTempPart()}`);
}

/** Renames a finished temp file (holding the bytes of `hash`) into place as the pristine copy. */
export async function placePristine(root: string, temp: string, hash: string): Promise<void> {
  const target = pristinePath(root, hash);
  await ensureDir(dirname(target));
  // Content-addressed: renaming over an existing copy replaces it with identical bytes.
  await rename(temp, target);
}

/** Write buffer of file streams carrying large bodies: few, large writes (fewer syscalls). */
export const BIG_WRITE_BUFFER = 8 << 20;

export { SMALL_BODY } from "./pristine-pack.js";

/**
 * Stores bytes as a pristine copy, hashing on the way, and returns their hash and size.
 * When `expectHash` is given and the bytes differ, nothing is stored and an error is thrown.
 * `sizeHint` (the announced size) lets small bodies skip the streaming machinery.
 */
export async function storePristine(
  root: string,
  chunks: AsyncIterable<Uint8Array>,
  expectHash?: string,
  sizeHint?: number,
): Promise<{ hash: string; size: number }> {
  const hasher = nodeCrypto().createHash("sha256");
  if (sizeHint !== undefined && sizeHint <= SMALL_BODY) {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of chunks) {
      hasher.update(chunk);
      parts.push(chunk);
      size += chunk.length;
    }
    const hash = hasher.digest("hex");
    if (expectHash && hash !== expectHash) throw new WcError("bad-content", `received content does not match its announced hash ${expectHash}`);
    writePristineSync(root, hash, parts.length === 1 ? parts[0] : Buffer.concat(parts));
    return { hash, size };
  }
  const temp = await pristineTempPath(root);
  try {
    let size = 0;
    const out = createWriteStream(temp, { highWaterMark: BIG_WRITE_BUFFER });
    await once(out, "open");
    for await (const chunk of chunks) {
      hasher.update(chunk);
      size += chunk.length;
      if (!out.write(chunk)) await once(out, "drain");
    }
    out.end();
    await once(out, "close");
    const hash = hasher.digest("hex");
    if (expectHash && hash !== expectHash) throw new WcError("bad-content", `received content does not match its announced hash ${expectHash}`);
    await placePristine(root, temp, hash);
    return { hash, size };
  } catch (error) {
    await rm(temp, { force: true });
    throw namePathOnDiskFull(error, temp);
  }
}

/**
 * Stores bytes already in memory, whose SHA-256 the caller computed, as the pristine copy
 * `hash` (temp file, then rename). Synchronous on purpose: a checkout stores thousands, and
 * creating files from several thread-pool threads at once made the kernel spend two to four
 * times the CPU on lock contention (measured on a 2-core VM); one thread creating them in turn
 * is what git and svn do.
 */
export function writePristineSync(root: string, hash: string, data: Uint8Array): void {
  const target = pristinePath(root, hash);
  const dir = dirname(target);
  if (!knownDirs.has(dir)) {
    fs.mkdirSync(dir, { recursive: true });
    knownDirs.add(dir);
  }
  const { tmp } = adminPaths(root);
  if (!knownDirs.has(tmp)) {
    fs.mkdirSync(tmp, { recursive: true });
    knownDirs.add(tmp);
  }
  const temp = join(tmp, `in-${uniqueTempPart()}`);
  try {
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, target);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw namePathOnDiskFull(error, temp);
  }
}

/** Hashes a file's content (streaming). */
export async function hashFile(path: string): Promise<{ hash: string; size: number }> {
  const hasher = nodeCrypto().createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hasher.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hash: hasher.digest("hex"), size };
}

/** Size of a pristine copy, or undefined when absent. */
export async function pristineSize(root: string, hash: string): Promise<number | undefined> {
  const packed = packedSize(root, hash);
  if (packed !== undefined) return packed;
  return stat(pristinePath(root, hash)).then((s) => s.size, () => undefined);
}
