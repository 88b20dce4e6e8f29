/**
 * Atomic file writes: temp file in the same directory, optional fsync, rename. A reader (or a
 * crash) sees the old bytes or the new ones, never a mix or a truncated file.
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { constants, createWriteStream } from "node:fs";
import { copyFile, open, rename, rm } from "node:fs/promises";
import { dirname, join, basename } from "node:path";
import { once } from "node:events";

/** Options for atomic writes. */
export interface AtomicWriteOptions {
  /**
   * fsync the data before the rename (and so survive power loss, not only a killed process).
   * Default true; checkout skips it for brand-new files where no older bytes can be lost.
   */
  fsync?: boolean;
  mode?: number;
}

/**
 * A write that failed for a full disk (ENOSPC, EDQUOT) carries no path when a stream or handle
 * wrote it; name the file, so the message can say where the space ran out.
 */
export function namePathOnDiskFull(error: unknown, path: string): unknown {
  const e = error as NodeJS.ErrnoException;
  if ((e?.code === "ENOSPC" || e?.code === "EDQUOT") && !e.path) e.path = path;
  return error;
}

let processTag: string | undefined;
let tempCounter = 0;

/**
 * A unique temp name part: random per process (made on first use: a command that writes nothing
 * need not load node:crypto), then a counter, so no random bytes are asked for per file.
 */
export function uniqueTempPart(): string {
  processTag ??= nodeCrypto().randomBytes(4).toString("hex");
  return `${processTag}${(tempCounter++).toString(16).padStart(6, "0")}`;
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.zsync-tmp-${uniqueTempPart()}`);
}

/** Writes `data` to `path` atomically. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempPathFor(path);
  const handle = await open(temp, "wx", opts.mode ?? 0o666);
  try {
    await handle.writeFile(data);
    if (opts.fsync !== false) await handle.sync();
    await handle.close();
    await rename(temp, path);
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw namePathOnDiskFull(error, path);
  }
}

/** Streams chunks into `path` atomically; returns the number of bytes written. */
export async function writeStreamAtomic(path: string, chunks: AsyncIterable<Uint8Array>, opts: AtomicWriteOptions = {}): Promise<number> {
  const temp = tempPathFor(path);
  const out = createWriteStream(temp, { flags: "wx", mode: opts.mode ?? 0o666 });
  let size = 0;
  try {
    await once(out, "open");
    for await (const chunk of chunks) {
      size += chunk.length;
      if (!out.write(chunk)) await once(out, "drain");
    }
    if (opts.fsync !== false) {
      await new Promise<void>((resolve, reject) => out.write(Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
      const handle = await open(temp, "r+");
      await handle.sync();
      await handle.close();
    }
    out.end();
    await once(out, "close");
    await rename(temp, path);
    return size;
  } catch (error) {
    out.destroy();
    await rm(temp, { force: true });
    throw namePathOnDiskFull(error, path);
  }
}

/**
 * Copies `source` to `path` atomically. The copy is a reflink where the file system can make one
 * (btrfs, XFS, APFS…: no data is written, and copy-on-write keeps the two files apart when either
 * is edited in place); elsewhere the kernel copies the bytes. Either way `path` is its own file:
 * never a hard link, so writing into it cannot change `source`.
 */
export async function copyFileAtomic(source: string, path: string, opts: AtomicWriteOptions = {}): Promise<void> {
  const temp = tempPathFor(path);
  try {
    await copyFile(source, temp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    if (opts.fsync !== false) {
      const handle = await open(temp, "r+");
      await handle.sync();
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw namePathOnDiskFull(error, path);
  }
}
