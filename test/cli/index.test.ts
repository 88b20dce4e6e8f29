/**
 * The checkout index end to end (the built `zsync` against a real zsync-server):
 * - a checkout in an older format (`.zsync/entries.json`, or an index in format 2, made by the
 *   fixture generators below from a live checkout) with local edits, a conflict and scheduled
 *   adds/removes is used by the new code with all of them intact, and upgraded in place;
 * - a damaged index gives a clear error, and `zsync cleanup` rebuilds it without losing an edit;
 * - a 1-file commit and a no-op update append a constant few hundred bytes to the index.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeIndex } from "../../src/wc/index-file.js";
import { backdateWorkingFiles, zsync, zsyncJson } from "../helpers/cli.js";
import { formatTwoIndex } from "../helpers/index-format-two.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

interface StatusJson {
  items: { path: string; status: string; meta: string; conflict?: { kind: string } }[];
}

async function ok(args: string[], cwd: string) {
  const result = await zsync(args, { cwd });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

async function statusOf(cwd: string): Promise<Record<string, string>> {
  const { code, json } = await zsyncJson<StatusJson>(["status"], { cwd });
  assert.equal(code, 0);
  return Object.fromEntries(json.items.map((i) => [i.path, i.status]));
}

/**
 * Fixture generator: rewrites a checkout's admin area into the previous format, exactly as the
 * previous zsync wrote it (`{"format":1,"revision":N,"entries":{…}}`, sorted paths, no index).
 */
function downgradeToEntriesJson(root: string): void {
  const index = join(root, ".zsync/index");
  const data = decodeIndex(readFileSync(index));
  const sorted = [...data.entries.keys()].sort();
  const entries = Object.fromEntries(sorted.map((p) => [p, data.entries.get(p)]));
  writeFileSync(join(root, ".zsync/entries.json"), JSON.stringify({ format: 1, revision: data.revision, entries }));
  rmSync(index);
}

/** Fixture generator: rewrites a checkout's index as format 2 wrote it. */
function downgradeToFormatTwo(root: string): void {
  const index = join(root, ".zsync/index");
  const data = decodeIndex(readFileSync(index));
  writeFileSync(index, formatTwoIndex(data.revision, data.entries));
  assert.equal(decodeIndex(readFileSync(index)).format, 2);
}

describe("the checkout index", () => {
  let server: TestServer;
  let work: string;
  let url: string;
  before(async () => {
    server = await startServer();
    work = await tempDir();
    url = `${server.url.replace("://", "://zsync@")}/demo`;
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  });

  /**
   * A checkout with an edit, a conflict, an added and a removed file is turned into an older
   * format by `downgrade`; the new code must read it with all of them intact, upgrade it (the
   * file `upgraded` says it did), and commit from it as before.
   */
  async function upgradeKeepsEverything(name: string, removed: string, downgrade: (root: string) => void, upgraded: (root: string) => void) {
    await ok(["checkout", url, name, "-q"], work);
    await ok(["checkout", url, `${name}-other`, "-q"], work);
    const old = join(work, name);
    const other = join(work, `${name}-other`);
    // A conflict: both change README.txt; the other side commits first.
    await writeFile(join(other, "README.txt"), `theirs (${name})\n`);
    await ok(["commit", "-m", "theirs"], other);
    await writeFile(join(old, "README.txt"), `mine (${name})\n`);
    const conflicted = await zsync(["update"], { cwd: old });
    assert.equal(conflicted.code, 1, "an update that leaves a conflict exits 1");
    // An edit, an added file, a removed file (one per call: the calls share the server).
    const added = `new-${name}.txt`;
    await writeFile(join(old, "docs/guide.md"), `edited guide (${name})\n`);
    await writeFile(join(old, added), `new (${name})\n`);
    await ok(["add", added], old);
    await ok(["remove", removed], old);
    const before = await statusOf(old);
    assert.equal(before["README.txt"], "C");
    assert.equal(before["docs/guide.md"], "M");
    assert.equal(before[added], "A");
    assert.equal(before[removed], "R");

    downgrade(old);
    assert.deepEqual(await statusOf(old), before);
    assert.equal(await readFile(join(old, "docs/guide.md"), "utf8"), `edited guide (${name})\n`);
    // The conflict resolves and everything commits as it would have before.
    await ok(["resolve", "--accept", "mine-full", "README.txt"], old);
    await ok(["commit", "-m", "after the upgrade"], old);
    assert.deepEqual(await statusOf(old), {});
    await ok(["update"], other);
    upgraded(old);
    assert.equal(await readFile(join(other, "README.txt"), "utf8"), `mine (${name})\n`);
    assert.equal(await readFile(join(other, added), "utf8"), `new (${name})\n`);
    assert.ok(!existsSync(join(other, removed)));
  }

  test("an old checkout (entries.json) with edits, a conflict and scheduled adds and removes is upgraded with all of them intact", async () => {
    await upgradeKeepsEverything(
      "old",
      "index.html",
      (root) => {
        downgradeToEntriesJson(root);
        assert.ok(existsSync(join(root, ".zsync/entries.json")));
        assert.ok(!existsSync(join(root, ".zsync/index")));
      },
      (root) => {
        assert.ok(existsSync(join(root, ".zsync/index")), "upgraded in place");
        assert.ok(!existsSync(join(root, ".zsync/entries.json")));
      },
    );
  });

  test("a checkout whose index is in format 2 (e records only) keeps its edits, conflict and scheduled adds and removes, and is rewritten in format 3", async () => {
    await upgradeKeepsEverything("two", "docs/notes.txt", downgradeToFormatTwo, (root) => {
      const text = readFileSync(join(root, ".zsync/index"), "utf8");
      // (Every file of the demo has metadata, so all its records stay JSON: test/wc/index.test.ts has the `f` records.)
      assert.match(text, /^[0-9a-f]{8}\tv\t3\n/, "rewritten in format 3");
    });
  });

  test("a damaged index is refused with a clear error; `zsync cleanup` rebuilds it and no edit is lost", async () => {
    await ok(["checkout", url, "bad", "-q"], work);
    const bad = join(work, "bad");
    await writeFile(join(bad, "README.txt"), "my edit\n");
    await ok(["status"], bad); // appends stat caches: the index is more than one batch
    const file = join(bad, ".zsync/index");
    // Every record of docs/guide.md (the checkout's, and the stat cache status may have added).
    let text = readFileSync(file, "latin1");
    for (let at = text.indexOf('"docs/guide.md"'); at >= 0; at = text.indexOf('"docs/guide.md"', at + 1)) text = text.slice(0, at + 2) + "X" + text.slice(at + 3);
    writeFileSync(file, Buffer.from(text, "latin1"));

    for (const args of [["status"], ["update"], ["commit", "-m", "x"]]) {
      const refused = await zsync(args, { cwd: bad });
      assert.equal(refused.code, 1, args.join(" "));
      assert.match(refused.stderr, /\.zsync\/index is corrupt .*untouched.*zsync cleanup/s);
    }
    assert.equal(await readFile(join(bad, "README.txt"), "utf8"), "my edit\n");

    const cleaned = await ok(["cleanup"], bad);
    assert.match(cleaned.stdout, /Rebuilt the damaged index: kept \d+ entries, dropped [12] damaged records?/);
    assert.equal(await readFile(join(bad, "README.txt"), "utf8"), "my edit\n");
    const status = await statusOf(bad);
    assert.equal(status["README.txt"], "M");
    // The lost record's file shows as unversioned, never as deleted.
    assert.equal(status["docs/guide.md"], "?");
    assert.ok(existsSync(join(bad, "docs/guide.md")));
    await ok(["commit", "-m", "my edit survives", "README.txt"], bad);
    assert.equal((await statusOf(bad))["README.txt"], undefined);
  });

  test("a damaged index of the pristine pack is refused with a clear error; `zsync cleanup` rebuilds it from the pack and no edit is lost", async () => {
    await ok(["checkout", url, "badpack", "-q"], work);
    const root = join(work, "badpack");
    const pack = join(root, ".zsync/pristine/pack");
    const index = `${pack}.idx`;
    assert.ok(existsSync(pack) && existsSync(index), "a new checkout keeps its BASE copies in a pack");
    const original = await readFile(join(root, "README.txt"), "utf8");
    await writeFile(join(root, "README.txt"), "my edit, pack test\n");
    const bytes = readFileSync(index);
    bytes[30] ^= 0xff;
    writeFileSync(index, bytes);

    for (const args of [["diff", "README.txt"], ["revert", "README.txt"]]) {
      const refused = await zsync(args, { cwd: root });
      assert.equal(refused.code, 1, args.join(" "));
      assert.match(refused.stderr, /pack\.idx is damaged \(checksum mismatch\).*untouched.*zsync cleanup/s);
    }
    assert.equal(await readFile(join(root, "README.txt"), "utf8"), "my edit, pack test\n", "the refused revert kept the edit");
    assert.equal(existsSync(join(root, ".zsync/journal.json")), false, "and left no journal for a later command to finish");

    const cleaned = await ok(["cleanup"], root);
    assert.match(cleaned.stdout, /Rebuilt the index of the pristine pack: \d+ BASE copies kept, 0 damaged record\(s\) dropped/);
    assert.doesNotMatch(cleaned.stdout, /Finished the interrupted/);
    const again = await ok(["cleanup"], root);
    assert.doesNotMatch(again.stdout, /pristine pack/, "a sound index is not rebuilt again");
    const diff = await ok(["diff", "README.txt"], root);
    assert.match(diff.stdout, /^\+my edit, pack test$/m);
    await ok(["revert", "README.txt"], root);
    assert.equal(await readFile(join(root, "README.txt"), "utf8"), original, "BASE read from the rebuilt pack");
    assert.equal(await readFile(join(root, "README.txt.orig"), "utf8"), "my edit, pack test\n", "the edit kept beside it");
  });

  test("a 1-file commit and a no-op update append a few hundred bytes, whatever the tree's size", async () => {
    await ok(["checkout", url, "grow", "-q"], work);
    const grow = join(work, "grow");
    await ok(["status"], grow);
    const file = join(grow, ".zsync/index");
    const appended = async (work: () => Promise<unknown>) => {
      const before = readFileSync(file);
      await work();
      const afterBytes = readFileSync(file);
      assert.ok(afterBytes.subarray(0, before.length).equals(before), "the index was appended to, not rewritten");
      const tail = afterBytes.subarray(before.length).toString("utf8");
      return { bytes: afterBytes.length - before.length, records: tail.split("\n").length - 1 };
    };
    const commits: { bytes: number; records: number }[] = [];
    for (let round = 0; round < 2; round++) {
      // Grow the tree between the two measured commits.
      for (let i = 0; i < 60 * (round + 1); i++) await writeFile(join(grow, `bulk-${round}-${i}.txt`), `bulk ${i}\n`);
      await ok(["add", ...Array.from({ length: 60 * (round + 1) }, (_, i) => `bulk-${round}-${i}.txt`)], grow);
      await ok(["commit", "-m", "bulk"], grow);
      // Old enough for stat caches, which status saves now: the measured commit then has none of
      // its own to save (it would, for files that settle between the two, as status does).
      backdateWorkingFiles(grow);
      await ok(["status"], grow);
      await writeFile(join(grow, "README.txt"), `edit ${round}\n`);
      commits.push(await appended(() => ok(["commit", "-m", `one file ${round}`], grow)));
    }
    assert.ok(statSync(file).size > 10_000, "the tree grew");
    // The same records whatever the tree's size (bytes differ by whether the file was old
    // enough for a stat cache — a clock matter — so they are bounded, not compared).
    assert.equal(commits[0].records, commits[1].records, `records per 1-file commit: ${JSON.stringify(commits)}`);
    assert.ok(commits[0].records <= 3, `a 1-file commit appended ${commits[0].records} records`);
    for (const c of commits) assert.ok(c.bytes < 600, `a 1-file commit appended ${c.bytes} bytes`);
    const update = await appended(() => ok(["update"], grow));
    assert.ok(update.bytes < 200, `a no-op update appended ${update.bytes} bytes`);
  });

  test("a whole-tree commit keeps the stat caches its scan made, so the next one hashes nothing again", async () => {
    await ok(["checkout", url, "caches", "-q"], work);
    const wc = join(work, "caches");
    // Backdated: whatever the checkout cached no longer matches, and the files are old enough to cache.
    backdateWorkingFiles(wc);
    const cached = () =>
      [...decodeIndex(readFileSync(join(wc, ".zsync/index"))).entries]
        .filter(([p, e]) => {
          if (e.kind !== "file" || !e.cache) return false;
          const s = statSync(join(wc, p), { bigint: true });
          return e.cache.mtimeNs === String(s.mtimeNs) && e.cache.size === Number(s.size);
        })
        .map(([p]) => p)
        .sort();
    assert.deepEqual(cached(), [], "no status ran: no cache matches the backdated files");
    await writeFile(join(wc, "README.txt"), "edited\n");
    await ok(["commit", "-m", "one edit, no status before"], wc);
    const files = [...decodeIndex(readFileSync(join(wc, ".zsync/index"))).entries].filter(([, e]) => e.kind === "file").map(([p]) => p);
    const others = files.filter((p) => p !== "README.txt").sort();
    assert.ok(others.length > 0);
    assert.deepEqual(cached().filter((p) => p !== "README.txt"), others, "every file the commit's scan hashed keeps its cache");
    assert.deepEqual(await statusOf(wc), {}, "and the caches are right: the checkout is clean");
  });
});
