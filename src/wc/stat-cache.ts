/**
 * Stat caches: what a file's lstat said when its content (or its metadata file's) was known,
 * so a later scan can trust an unchanged stat instead of reading the file — unless the stat is
 * too recent to trust (see {@link settled}).
 */
import { stat } from "node:fs/promises";
import type { BigIntStats } from "node:fs";
import type { Entry, MetaFileCache } from "./entries.js";
import type { ObjectMeta } from "../protocol/types.js";

/** What a stat cache keeps of a file's stat. */
export type TakenStat = Pick<BigIntStats, "size" | "ino" | "mtimeNs">;

/** The stat cache for a file known to hold `hash`, unless its mtime is too recent to trust. */
export async function statCache(absolute: string, hash: string, nowMs: number = Date.now()): Promise<Entry["cache"]> {
  const s = await stat(absolute, { bigint: true }).catch(() => undefined);
  if (!s || !s.isFile()) return undefined;
  return cacheFromStats(s, hash, nowMs);
}

/**
 * Whether a stat time (ns) is old enough for a cache to trust: a write in the same clock tick
 * as the stat would keep size and mtime (git's "racily clean"). File systems with sub-second
 * times stamp files from the kernel's coarse clock (one tick, ≤ 10 ms, behind): 100 ms is ten
 * ticks of margin, so a checkout's files are cached as it ends and the first `status` need not
 * hash them all. A time on a whole second may come from a file system that keeps only seconds
 * (or two, FAT): for those, 2 s.
 */
export function settled(timeNs: bigint, nowMs: number = Date.now()): boolean {
  const margin = timeNs % 1_000_000_000n === 0n ? 2_000_000_000n : 100_000_000n;
  return BigInt(Math.floor(nowMs)) * 1_000_000n - timeNs >= margin;
}

/** A metadata file's cache (its stat and the metadata it holds), unless its mtime is too recent to trust. */
export function metaCacheFromStats(s: TakenStat, meta: ObjectMeta, nowMs: number = Date.now()): MetaFileCache | undefined {
  if (!settled(s.mtimeNs, nowMs)) return undefined;
  return { size: Number(s.size), mtimeNs: String(s.mtimeNs), ino: Number(s.ino), meta };
}

/** {@link statCache} from stats already taken. */
export function cacheFromStats(s: TakenStat, hash: string, nowMs: number = Date.now()): Entry["cache"] {
  if (!settled(s.mtimeNs, nowMs)) return undefined;
  return { size: Number(s.size), mtimeNs: String(s.mtimeNs), ino: Number(s.ino), hash };
}
