/**
 * What a checkout's pristine store holds, loose copies and the pack alike, and a way to lose one
 * BASE copy on purpose (tests of what happens when it is missing).
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { forgetPacks, packPaths, packRecords, PackWriter } from "../../src/wc/pristine-pack.js";

/** Where each stored BASE copy came from: a loose file (its path) or the pack. */
export interface StoredCopy {
  /** The hash its name or pack record claims. */
  hash: string;
  bytes: Buffer;
  /** The loose file, or undefined for a record of the pack. */
  file?: string;
}

/** Every BASE copy of the checkout at `root`: loose files, then the pack's records. */
export function storedCopies(root: string): StoredCopy[] {
  const store = join(root, ".zsync", "pristine");
  const copies: StoredCopy[] = [];
  for (const fan of existsSync(store) ? readdirSync(store, { withFileTypes: true }) : []) {
    if (!fan.isDirectory()) continue;
    for (const name of readdirSync(join(store, fan.name))) {
      const file = join(store, fan.name, name);
      copies.push({ hash: name, bytes: readFileSync(file), file });
    }
  }
  const { pack } = packPaths(root);
  if (existsSync(pack)) copies.push(...recordsOf(pack).map((record) => ({ hash: record.hash, bytes: record.bytes ?? Buffer.alloc(0) })));
  return copies;
}

/** The records of a pack file. */
function recordsOf(pack: string): { hash: string; bytes?: Buffer }[] {
  const fd = openSync(pack, "r");
  try {
    return [...packRecords(fd, fstatSync(fd).size)];
  } finally {
    closeSync(fd);
  }
}

/** Removes the BASE copy `hash` from the store of `root`: its loose file, and its record in the pack. */
export function dropPristine(root: string, hash: string): void {
  const store = join(root, ".zsync", "pristine");
  rmSync(join(store, hash.slice(0, 2), hash), { force: true });
  const { pack } = packPaths(root);
  if (!existsSync(pack)) return;
  const kept = recordsOf(pack).filter((record) => record.hash !== hash);
  forgetPacks();
  if (kept.length === 0) {
    for (const file of Object.values(packPaths(root))) rmSync(file);
    return;
  }
  const writer = new PackWriter(root);
  for (const record of kept) writer.add(record.hash, record.bytes!);
  writer.finish();
}
