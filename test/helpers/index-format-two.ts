/**
 * Fixture generator: the bytes of `.zsync/index` as format 2 wrote them (`e` records of JSON
 * only; a stat cache of the BASE content without its hash), to test that the current code reads
 * and upgrades them.
 */
import { crc32 } from "node:zlib";
import type { Entry } from "../../src/wc/entries.js";

/** A whole format 2 index: the header and one batch holding `entries`, sorted. */
export function formatTwoIndex(revision: number, entries: Map<string, Entry>): string {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  const seal = (body: string) => `${hex(crc32(body))}\t${body}\n`;
  let batch = "";
  for (const path of [...entries.keys()].sort()) {
    const entry = entries.get(path)!;
    const stored = entry.cache && entry.cache.hash === entry.hash ? { ...entry, cache: { size: entry.cache.size, mtimeNs: entry.cache.mtimeNs, ino: entry.cache.ino } } : entry;
    batch += seal(`e\t${JSON.stringify(path)}\t${JSON.stringify(stored)}`);
  }
  return seal("v\t2") + batch + seal(`c\t${revision}\t${hex(crc32(batch))}`);
}
