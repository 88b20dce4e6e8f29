/**
 * The pristine tee of `commit`: a changed working file is read once, and each chunk read is
 * hashed, written to a pristine temp file and handed to the upload. The bytes the server stores
 * are therefore exactly the bytes recorded as the new BASE, even when the file is edited while
 * it is read; the stat cache is kept only when the file's stat did not change during the read.
 */
import { nodeCrypto } from "../protocol/crypto.js";
import { once } from "node:events";
import { createWriteStream, type BigIntStats } from "node:fs";
import { open, rm, stat, type FileHandle } from "node:fs/promises";
import { WcError } from "./admin.js";
import { namePathOnDiskFull } from "./atomic.js";
import type { StatCache } from "./entries.js";
import { cacheFromStats } from "./stat-cache.js";
import { BIG_WRITE_BUFFER, placePristine, pristineTempPath, SMALL_BODY, writePristineSync } from "./pristine.js";

/**
 * Bytes read per step from a large working file. 1 MiB, not more: each chunk is a new buffer,
 * and 4 MiB ones cost the kernel more in page faults and cold copies than they save in calls
 * (the tee of 1 GiB alone: ~2.1 s with 4 MiB reads, ~1.2 s with 1 MiB, this machine).
 */
export const TEE_CHUNK = 1 << 20;

/** What a completed read found. */
export interface TeeResult {
  hash: string;
  size: number;
  /** Set only when the file's stat was the same before and after the read (and not too fresh). */
  cache?: StatCache;
}

/** One working file on its way to the server and the pristine store. */
export interface PristineTee {
  /** The file's size when the tee was made: what the upload declares. */
  readonly size: number;
  /**
   * The file's bytes, read once: each chunk is hashed and written to the pristine temp file
   * before it is yielded. When the last chunk has been taken, the pristine copy is in place and
   * {@link result} is set. A failure (or a consumer that stops early) leaves no partial pristine copy.
   */
  body(): AsyncGenerator<Buffer>;
  /** Set once {@link body} has run to its end. */
  readonly result: TeeResult | undefined;
}

/**
 * Prepares the tee of the working file `absolute` of the checkout `root`. Nothing is opened
 * until {@link PristineTee.body} is iterated, so a commit of many files holds one open at a time.
 * `chunkSize` is for tests (small files split into several reads).
 */
export async function pristineTee(root: string, absolute: string, opts: { chunkSize?: number } = {}): Promise<PristineTee> {
  const declared = await stat(absolute, { bigint: true });
  const size = Number(declared.size);
  const chunkSize = opts.chunkSize ?? TEE_CHUNK;
  const tee: { size: number; result: TeeResult | undefined; body(): AsyncGenerator<Buffer> } = {
    size,
    result: undefined,
    body: () => readOnce(root, absolute, size, chunkSize, (r) => (tee.result = r)),
  };
  return tee;
}

async function* readOnce(root: string, absolute: string, size: number, chunkSize: number, done: (r: TeeResult) => void): AsyncGenerator<Buffer> {
  const file = await open(absolute, "r");
  let temp: string | undefined;
  let placed = false;
  try {
    const before = await file.stat({ bigint: true });
    // A file that shrank cannot fill the declared size; one that grew is sent up to that size.
    if (Number(before.size) < size) throw changed(absolute);
    const hasher = nodeCrypto().createHash("sha256");
    if (size <= SMALL_BODY && size <= chunkSize) {
      // Small: one read, one write (as a checkout writes small bodies).
      const data = await readExactly(file, 0, size, absolute);
      const hash = hasher.update(data).digest("hex");
      const cache = await sameAfter(file, absolute, before, size, hash);
      writePristineSync(root, hash, data);
      placed = true;
      done({ hash, size, cache });
      if (size > 0) yield data;
      return;
    }
    temp = await pristineTempPath(root);
    const out = createWriteStream(temp, { highWaterMark: BIG_WRITE_BUFFER });
    const failed = new Promise<never>((_, reject) => out.once("error", reject));
    failed.catch(() => {});
    try {
      await Promise.race([once(out, "open"), failed]);
      // One read ahead: the disk reads the next chunk while this one is written and sent.
      let next: Promise<Buffer> | undefined = readExactly(file, 0, Math.min(chunkSize, size), absolute);
      let at = 0;
      while (next) {
        const chunk = await next;
        at += chunk.length;
        next = at < size ? readExactly(file, at, Math.min(chunkSize, size - at), absolute) : undefined;
        next?.catch(() => {});
        hasher.update(chunk);
        if (!out.write(chunk)) await Promise.race([once(out, "drain"), failed]);
        yield chunk;
      }
      out.end();
      await Promise.race([once(out, "close"), failed]);
    } finally {
      if (!out.closed) out.destroy();
    }
    const hash = hasher.digest("hex");
    const cache = await sameAfter(file, absolute, before, size, hash);
    await placePristine(root, temp, hash);
    placed = true;
    done({ hash, size, cache });
  } catch (error) {
    throw temp ? namePathOnDiskFull(error, temp) : error;
  } finally {
    await file.close();
    if (temp && !placed) await rm(temp, { force: true });
  }
}

/** Reads `length` bytes at `position` into a new buffer; the file must still hold them. */
async function readExactly(file: FileHandle, position: number, length: number, absolute: string): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw changed(absolute);
    got += bytesRead;
  }
  return buf;
}

/**
 * The stat cache for `hash`, when the file read (and the file at its path now) looks as it did
 * before the read and holds exactly the `size` bytes read.
 */
async function sameAfter(file: FileHandle, absolute: string, before: BigIntStats, size: number, hash: string): Promise<StatCache | undefined> {
  const after = await file.stat({ bigint: true });
  const named = await stat(absolute, { bigint: true }).catch(() => undefined);
  const same = (s: BigIntStats | undefined) =>
    s !== undefined && s.size === BigInt(size) && s.size === before.size && s.mtimeNs === before.mtimeNs && s.ctimeNs === before.ctimeNs && s.ino === before.ino && s.dev === before.dev;
  return same(after) && same(named) ? cacheFromStats(before, hash) : undefined;
}

function changed(absolute: string): WcError {
  return new WcError("changed-while-committing", `${absolute} shrank while it was being committed; nothing was committed, commit again`);
}
