/**
 * Files cut short: what creating a new file leaves when the process is killed between creating
 * and filling it (a checkout's journal, or its early writer). Such a file holds the first bytes of
 * the content it was meant to hold, so completing it loses nothing.
 */
import { constants } from "node:fs";
import { lstat, open, stat } from "node:fs/promises";
import { join } from "node:path";
import { pristinePath } from "./pristine.js";
import { readPacked } from "./pristine-pack.js";

/**
 * True when the regular file `absolute` is shorter than `source` (a file, or the bytes
 * themselves) and holds exactly its first bytes: what writing a new file leaves when killed.
 * Completing it loses nothing.
 */
export async function isPrefixOf(absolute: string, source: string | Buffer): Promise<boolean> {
  const a = await lstat(absolute).catch(() => undefined);
  if (typeof source !== "string") {
    if (!a?.isFile() || a.size >= source.length) return false;
    const handle = await open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW);
    const mine = await handle.readFile().finally(() => handle.close());
    return mine.length < source.length && mine.equals(source.subarray(0, mine.length));
  }
  const b = await stat(source).catch(() => undefined);
  if (!a?.isFile() || !b || a.size >= b.size) return false;
  const [mine, full] = await Promise.all([open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW), open(source, "r")]);
  try {
    const size = 1 << 20;
    const x = Buffer.alloc(size);
    const y = Buffer.alloc(size);
    for (let at = 0; at < a.size; at += size) {
      const n = Math.min(size, a.size - at);
      const [r1, r2] = await Promise.all([mine.read(x, 0, n, at), full.read(y, 0, n, at)]);
      if (r1.bytesRead !== n || r2.bytesRead !== n || !x.subarray(0, n).equals(y.subarray(0, n))) return false;
    }
    return true;
  } finally {
    await Promise.all([mine.close(), full.close()]);
  }
}

/**
 * True when the file at `path` holds the first bytes (fewer than all) of the BASE copy `hash`:
 * what a checkout stopped while writing it leaves. Completing it loses nothing.
 */
export async function holdsStartOfBase(root: string, path: string, hash: string): Promise<boolean> {
  return isPrefixOf(join(root, path), readPacked(root, hash) ?? pristinePath(root, hash));
}
