/**
 * The pristine pack (src/wc/pristine-pack.ts): what a new checkout writes instead of one file per
 * BASE copy. Read back in any order, next to loose copies; a damaged or missing index is a clear
 * error, and is rebuilt from the pack's own records, where a damaged record is dropped and every
 * other one kept.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { WcError } from "../../src/wc/admin.js";
import { hasPristine, pristineSize, readPristine, writePristineSync } from "../../src/wc/pristine.js";
import { forgetPacks, packPaths, PackWriter, rebuildPackIndex } from "../../src/wc/pristine-pack.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const made: string[] = [];
after(() => {
  forgetPacks();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A checkout root with an empty pristine store. */
function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), "zsync-pack-"));
  made.push(root);
  mkdirSync(join(root, ".zsync", "pristine"), { recursive: true });
  return root;
}

/** Bodies of the given sizes, each different (a seeded generator), and their hashes. */
function bodies(sizes: number[], seed: number): { hash: string; bytes: Buffer }[] {
  let x = seed || 1;
  return sizes.map((size, i) => {
    const bytes = Buffer.alloc(size);
    for (let j = 0; j < size; j++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      bytes[j] = (x + i) & 0xff;
    }
    return { hash: sha256(bytes), bytes };
  });
}

function packOf(root: string, items: { hash: string; bytes: Buffer }[]): void {
  const writer = new PackWriter(root);
  for (const item of items) writer.add(item.hash, item.bytes);
  writer.finish();
  forgetPacks();
}

const isCorrupt = (e: unknown) => e instanceof WcError && e.code === "corrupt-admin" && /pack\.idx is damaged .*zsync cleanup/.test(e.message);

describe("the pristine pack", () => {
  test("holds every body, read back in any order, next to loose copies; what it lacks is missing", async () => {
    // Sizes across the read window (1 MiB, also the largest record): empty, small, a whole window.
    const sizes = [0, 1, 3000, 65536, 1 << 20, 5, 700_000, 1 << 20, 12];
    const items = bodies(sizes, 7);
    const root = newRoot();
    packOf(root, [...items, items[2]]); // the same body twice is stored once
    const loose = bodies([4000], 99)[0];
    writePristineSync(root, loose.hash, loose.bytes);
    const absent = sha256(Buffer.from("never stored"));

    // Orders: as written, reversed, and shuffled (seeded, logged by fast-check on failure).
    const orders = [items.map((_, i) => i), items.map((_, i) => items.length - 1 - i)];
    orders.push(...fc.sample(fc.shuffledSubarray(items.map((_, i) => i), { minLength: items.length, maxLength: items.length }), { seed: 42, numRuns: 3 }));
    for (const order of orders) {
      forgetPacks();
      const held: Buffer[] = [];
      for (const i of order) {
        const read = await readPristine(root, items[i].hash);
        assert.ok(read.equals(items[i].bytes), `body ${i} (${sizes[i]} bytes) in order ${order}`);
        held.push(read);
        assert.equal(await pristineSize(root, items[i].hash), sizes[i]);
        assert.equal(await hasPristine(root, items[i].hash), true);
      }
      // What was handed out stays valid while later reads fill other windows.
      order.forEach((i, k) => assert.ok(held[k].equals(items[i].bytes), `body ${i} still holds its bytes`));
    }
    assert.ok((await readPristine(root, loose.hash)).equals(loose.bytes), "a loose copy beside the pack");
    assert.equal(await hasPristine(root, absent), false);
    assert.equal(await pristineSize(root, absent), undefined);
    await assert.rejects(readPristine(root, absent), (e: unknown) => e instanceof WcError && e.code === "missing-pristine");
    assert.equal(rebuildPackIndex(root), undefined, "a sound index is left as it is");
  });

  test("a body above 1 MiB is refused by the pack (it stays a loose copy)", () => {
    const root = newRoot();
    const writer = new PackWriter(root);
    assert.throws(() => writer.add("0".repeat(64), Buffer.alloc((1 << 20) + 1)), /too large for the pristine pack/);
    writer.abandon();
  });

  test("a new checkout with no small body writes no pack", () => {
    const root = newRoot();
    const writer = new PackWriter(root);
    writer.finish();
    assert.equal(existsSync(packPaths(root).pack), false);
    assert.equal(existsSync(packPaths(root).index), false);
  });

  test("a damaged, cut or missing index, or a pack of another length, is refused by name; the index is rebuilt from the pack", async () => {
    const items = bodies([10, 2000, 30_000, 0, 400], 3);
    const damages: [string, (root: string) => void][] = [
      ["a flipped byte in the index", (root) => {
        const index = readFileSync(packPaths(root).index);
        index[40] ^= 0x20;
        writeFileSync(packPaths(root).index, index);
      }],
      ["a cut index", (root) => truncateSync(packPaths(root).index, 30)],
      ["an empty index", (root) => truncateSync(packPaths(root).index, 0)],
      ["a pack grown by a byte", (root) => appendFileSync(packPaths(root).pack, "x")],
      ["a missing pack", (root) => rmSync(packPaths(root).pack)],
      ["a missing index", (root) => rmSync(packPaths(root).index)],
    ];
    for (const [what, damage] of damages) {
      const root = newRoot();
      packOf(root, items);
      damage(root);
      forgetPacks();
      if (what === "a missing index") {
        assert.equal(await hasPristine(root, items[0].hash), false, `${what}: nothing is read from a pack without its index`);
      } else {
        await assert.rejects(hasPristine(root, items[0].hash), isCorrupt, what);
        await assert.rejects(readPristine(root, items[1].hash), isCorrupt, what);
      }
      const rebuilt = rebuildPackIndex(root);
      if (what === "a missing pack") {
        assert.deepEqual(rebuilt, { kept: 0, dropped: items.length }, "no pack: its index goes, and its copies are missing");
        assert.equal(existsSync(packPaths(root).index), false);
        assert.equal(await hasPristine(root, items[0].hash), false, what);
        continue;
      }
      assert.deepEqual(rebuilt, { kept: items.length, dropped: what === "a pack grown by a byte" ? 1 : 0 }, what);
      forgetPacks();
      for (const item of items) assert.ok((await readPristine(root, item.hash)).equals(item.bytes), `${what}: ${item.bytes.length} bytes read again`);
    }
  });

  test("rebuilding drops a record whose bytes do not match its hash and a cut-off last one, and keeps the rest", async () => {
    const items = bodies([100, 200, 300, 400], 11);
    const root = newRoot();
    packOf(root, items);
    const pack = readFileSync(packPaths(root).pack);
    // Record 1's body starts after record 0 (36 + 100 bytes) and its own 36-byte head.
    pack[136 + 36 + 5] ^= 1;
    writeFileSync(packPaths(root).pack, pack.subarray(0, pack.length - 50)); // and the last record cut
    rmSync(packPaths(root).index);
    assert.deepEqual(rebuildPackIndex(root), { kept: 2, dropped: 2 });
    forgetPacks();
    assert.ok((await readPristine(root, items[0].hash)).equals(items[0].bytes));
    assert.ok((await readPristine(root, items[2].hash)).equals(items[2].bytes));
    assert.equal(await hasPristine(root, items[1].hash), false, "the damaged record is missing, not wrong");
    assert.equal(await hasPristine(root, items[3].hash), false, "the cut record is missing");
  });

  test("a record whose size says more than a record can hold ends the rebuild there: what came before is kept", async () => {
    const items = bodies([100, 200, 300], 5);
    const root = newRoot();
    packOf(root, items);
    const pack = readFileSync(packPaths(root).pack);
    pack.writeUInt32BE(0xfffffff0, 136 + 32); // record 1's size: ~4 GiB, in a pack of ~700 bytes
    writeFileSync(packPaths(root).pack, pack);
    rmSync(packPaths(root).index);
    assert.deepEqual(rebuildPackIndex(root), { kept: 1, dropped: 1 });
    forgetPacks();
    assert.ok((await readPristine(root, items[0].hash)).equals(items[0].bytes));
    assert.equal(await hasPristine(root, items[2].hash), false, "nothing after a damaged size can be found");
  });
});
