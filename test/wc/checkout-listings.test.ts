/**
 * A new checkout records its folders' listing caches (listingsOfNewCheckout in src/wc/scan.ts):
 * only for a folder whose names are exactly its tracked children, without an `@@meta/`, and
 * settled; the scan then trusts it as one it recorded itself. A status run against those caches
 * still sees what is added or removed afterwards.
 */
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Entry } from "../../src/wc/entries.js";
import { listingsOfNewCheckout, scanWorkingCopy } from "../../src/wc/scan.js";

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A checkout-like tree: the root, folders a (two files), b (one file, plus an unversioned one), c (a file and an `@@meta/`), e (empty), d and m (below). */
function tree(): { root: string; entries: Map<string, Entry> } {
  const root = mkdtempSync(join(tmpdir(), "zsync-listings-"));
  made.push(root);
  mkdirSync(join(root, ".zsync"));
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
  const folder = (path: string) => {
    mkdirSync(join(root, path));
    entries.set(path, { kind: "folder", revision: 1 });
  };
  const file = (path: string) => {
    writeFileSync(join(root, path), `${path}\n`);
    entries.set(path, { kind: "file", revision: 1, hash: "0".repeat(64), size: path.length + 1 });
  };
  folder("a");
  file("a/1.txt");
  file("a/2.txt");
  folder("b");
  file("b/1.txt");
  writeFileSync(join(root, "b", "mine.txt"), "unversioned\n");
  folder("c");
  file("c/1.txt");
  mkdirSync(join(root, "c", "@@meta"));
  writeFileSync(join(root, "c", "@@meta", "1.txt.json"), "{}\n");
  folder("e");
  // As many names as tracked children, but not the same ones: d/1.txt is gone and another file
  // is there; m/2.txt is gone and an @@meta/ is there.
  folder("d");
  file("d/1.txt");
  unlinkSync(join(root, "d", "1.txt"));
  writeFileSync(join(root, "d", "other.txt"), "unversioned\n");
  folder("m");
  file("m/1.txt");
  file("m/2.txt");
  unlinkSync(join(root, "m", "2.txt"));
  mkdirSync(join(root, "m", "@@meta"));
  return { root, entries };
}

// No test here reads the clock to decide: "now" is given, after every folder's times (the ctime
// cannot be set, and is never later than the moment it is read here).
const later = () => Date.now() + 60_000; // everything settled

test("only folders holding exactly their tracked children, without @@meta/, get a listing; nothing too recent", () => {
  const { root, entries } = tree();
  const listings = listingsOfNewCheckout(root, entries, later());
  assert.deepEqual([...listings.keys()].sort(), ["", "a", "e"]);
  assert.equal(listings.get("")!.children, 6);
  assert.equal(listings.get("a")!.children, 2);
  assert.equal(listings.get("e")!.children, 0);
  // Every folder's mtime set to one moment, and "now" 50 ms after it: too recent to trust.
  const moment = new Date("2030-01-01T00:00:00.000Z");
  for (const dir of ["", "a", "e"]) utimesSync(join(root, dir), moment, moment);
  assert.equal(lstatSync(join(root, "a")).mtimeMs, moment.getTime());
  assert.equal(listingsOfNewCheckout(root, entries, moment.getTime() + 50).size, 0, "folders changed a moment ago are not trusted yet");
});

test("with the listings recorded, a scan still sees a file added, one removed, and one in a new folder", async () => {
  const { root, entries } = tree();
  const listings = listingsOfNewCheckout(root, entries, later());
  for (const [path, listing] of listings) entries.set(path, { ...entries.get(path)!, listing });
  writeFileSync(join(root, "a", "3.txt"), "added after the checkout\n");
  unlinkSync(join(root, "b", "1.txt"));
  mkdirSync(join(root, "e", "new"));
  const scan = await scanWorkingCopy(root, entries);
  const seen = Object.fromEntries(scan.items.map((i) => [i.path, i.content]));
  assert.equal(seen["a/3.txt"], "?");
  assert.equal(seen["b/1.txt"], "!");
  assert.equal(seen["b/mine.txt"], "?");
  assert.equal(seen["e/new"], "?");
});
