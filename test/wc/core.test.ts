/**
 * The working-copy core on hand-made checkouts: journal, entries, lock, metadata files, scanner.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, test } from "node:test";
import { adminPaths, FORMAT_VERSION, WcError, writeConfig } from "../../src/wc/admin.js";
import { loadEntries, saveEntries, type Entry } from "../../src/wc/entries.js";
import { replayJournal, runJournal } from "../../src/wc/journal.js";
import { acquireLock } from "../../src/wc/lock.js";
import { metaFileOf, objectOfMetaFile } from "../../src/wc/meta-files.js";
import { storePristine } from "../../src/wc/pristine.js";
import { scanWorkingCopy } from "../../src/wc/scan.js";
import { openWorkingCopy, toCheckoutPaths } from "../../src/wc/session.js";
import { tempDir } from "../helpers/server.js";

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

async function makeCheckout(files: Record<string, string>): Promise<{ root: string; entries: Map<string, Entry> }> {
  const root = await tempDir("zsync-wc-");
  const paths = adminPaths(root);
  await mkdir(paths.pristine, { recursive: true });
  await writeFile(paths.format, `${FORMAT_VERSION}\n`);
  await writeConfig(root, { origin: "http://127.0.0.1:1", path: "demo", repository: "uuid", depth: "infinity" });
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), text);
    const { hash, size } = await storePristine(root, Readable.from([Buffer.from(text)]));
    entries.set(path, { kind: "file", revision: 1, hash, size });
    const dir = path.split("/").slice(0, -1).join("/");
    if (dir) entries.set(dir, { kind: "folder", revision: 1 });
  }
  await saveEntries(root, { revision: 1, entries });
  return { root, entries };
}

describe("journal", () => {
  let root: string;
  beforeEach(async () => ({ root } = await makeCheckout({ "a.txt": "old a\n", "b.txt": "old b\n" })));
  afterEach(() => rm(root, { recursive: true, force: true }));

  test("a replayed journal is idempotent and lands the entries", async () => {
    const { hash } = await storePristine(root, Readable.from([Buffer.from("new a\n")]));
    const journal = {
      command: "update",
      steps: [{ do: "write" as const, path: "a.txt", hash, expect: { hash: sha("old a\n") } }],
      entries: { "a.txt": { kind: "file" as const, revision: 2, hash, size: 6 } },
      revision: 2,
    };
    await writeFile(adminPaths(root).journal, JSON.stringify(journal));
    // Simulate a crash after the step ran but before the entries were saved: run the step twice.
    await replayJournal(root);
    await writeFile(adminPaths(root).journal, JSON.stringify(journal));
    const report = await replayJournal(root);
    assert.deepEqual(report.savedAside, []);
    assert.equal(await readFile(join(root, "a.txt"), "utf8"), "new a\n");
    const entries = await loadEntries(root);
    assert.equal(entries.revision, 2);
    assert.equal(entries.entries.get("a.txt")?.hash, hash);
    await assert.rejects(stat(adminPaths(root).journal), "journal removed when done");
  });

  test("a file edited under a pending write is moved aside, never overwritten", async () => {
    const { hash } = await storePristine(root, Readable.from([Buffer.from("server b\n")]));
    await writeFile(join(root, "b.txt"), "edited meanwhile\n");
    const report = await runJournal(root, {
      command: "update",
      steps: [{ do: "write", path: "b.txt", hash, expect: { hash: sha("old b\n") } }],
      entries: {},
    });
    assert.deepEqual(report.savedAside, [{ path: "b.txt", savedAs: "b.txt.zsync-saved" }]);
    assert.equal(await readFile(join(root, "b.txt.zsync-saved"), "utf8"), "edited meanwhile\n");
    assert.equal(await readFile(join(root, "b.txt"), "utf8"), "server b\n");
  });

  test("delete only removes a file that still holds the expected bytes", async () => {
    await writeFile(join(root, "b.txt"), "edited\n");
    await runJournal(root, {
      command: "update",
      steps: [
        { do: "delete", path: "a.txt", expect: { hash: sha("old a\n") } },
        { do: "delete", path: "b.txt", expect: { hash: sha("old b\n") } },
      ],
      entries: { "a.txt": null, "b.txt": null },
    });
    await assert.rejects(stat(join(root, "a.txt")));
    assert.equal(await readFile(join(root, "b.txt"), "utf8"), "edited\n");
  });
});

describe("entries", () => {
  test("corrupt entries give a clear error naming the file", async () => {
    const { root } = await makeCheckout({ "a.txt": "a" });
    for (const garbage of ["{not json", JSON.stringify({ format: 1, revision: 1, entries: { "../x": { kind: "file", revision: 1, hash: sha("") } } }), JSON.stringify({ format: 2 })]) {
      // A checkout in the previous format (entries.json, no index yet) is validated as it is upgraded.
      await rm(adminPaths(root).index, { force: true });
      await writeFile(adminPaths(root).entries, garbage);
      await assert.rejects(loadEntries(root), (e: WcError) => e.code === "corrupt-admin" && e.message.includes("entries.json") && /untouched/.test(e.message));
    }
    await rm(root, { recursive: true, force: true });
  });
});

describe("lock", () => {
  test("a live holder blocks with a clear message; a dead holder's lock is taken over", async () => {
    const { root } = await makeCheckout({});
    const release = await acquireLock(root, "update");
    // Our own pid holds it: another process would be refused; simulate with a live child's pid.
    await release();
    const sleeper = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
    const deadPid = Number(sleeper.stdout.trim());
    await writeFile(adminPaths(root).lock, JSON.stringify({ pid: deadPid, command: "update" }));
    const again = await acquireLock(root, "status");
    await again();
    await writeFile(adminPaths(root).lock, JSON.stringify({ pid: process.ppid, command: "commit" }));
    await assert.rejects(acquireLock(root, "update"), (e: WcError) => e.code === "locked" && /zsync commit/.test(e.message));
    await rm(root, { recursive: true, force: true });
  });
});

describe("metadata files", () => {
  test("object ↔ metadata file mapping", () => {
    assert.equal(metaFileOf("index.html"), "@@meta/index.html.json");
    assert.equal(metaFileOf("docs/guide.md"), "docs/@@meta/guide.md.json");
    assert.equal(metaFileOf(""), "@@meta/@@root.json");
    for (const path of ["index.html", "docs/guide.md", "", "a/b/c.json"]) assert.equal(objectOfMetaFile(metaFileOf(path)), path);
    assert.equal(objectOfMetaFile("docs/@@root.json"), undefined);
    assert.equal(objectOfMetaFile("docs/@@meta/@@root.json"), undefined, "only the checkout root has @@root.json");
    assert.equal(objectOfMetaFile("a.txt"), undefined);
  });
});

describe("scanner", () => {
  let root: string;
  let entries: Map<string, Entry>;
  beforeEach(async () => ({ root, entries } = await makeCheckout({ "a.txt": "a\n", "d/b.txt": "b\n", "d/c.txt": "c\n" })));
  afterEach(() => rm(root, { recursive: true, force: true }));

  test("letters for modified, missing, unversioned, obstructed, ignored and metadata changes", async () => {
    await writeFile(join(root, "a.txt"), "changed\n");
    await rm(join(root, "d/b.txt"));
    await writeFile(join(root, "new.txt"), "?");
    await writeFile(join(root, "new.txt~"), "backup, ignored by default");
    await writeFile(join(root, ".zsyncignore"), "*.log\n");
    await writeFile(join(root, "debug.log"), "ignored by .zsyncignore");
    await rm(join(root, "d/c.txt"));
    await mkdir(join(root, "d/c.txt"));
    await mkdir(join(root, "@@meta"));
    await writeFile(join(root, "@@meta/a.txt.json"), JSON.stringify({ extra: { title: "T" } }));
    const { items } = await scanWorkingCopy(root, entries);
    const byPath = Object.fromEntries(items.map((i) => [i.path, i.content + i.meta]));
    assert.deepEqual(byPath, {
      "": "= ",
      ".zsyncignore": "? ",
      "a.txt": "MM",
      d: "= ",
      "d/b.txt": "! ",
      "d/c.txt": "~ ",
      "new.txt": "? ",
    });
    // Plain status asks only for changes: the same items, minus the unchanged ones.
    const changed = await scanWorkingCopy(root, entries, { changedOnly: true });
    assert.deepEqual(
      changed.items.map((i) => i.path),
      items.filter((i) => i.content !== "=" || i.meta !== " ").map((i) => i.path),
    );
  });

  test("an unreadable metadata file is reported with the reason", async () => {
    await mkdir(join(root, "@@meta"));
    await writeFile(join(root, "@@meta/a.txt.json"), "{ broken");
    const { items } = await scanWorkingCopy(root, entries);
    const a = items.find((i) => i.path === "a.txt")!;
    assert.equal(a.meta, "M");
    assert.match(a.metaError!, /@@meta\/a\.txt\.json/);
  });

  test("the stat cache vouches for untouched files and never for changed ones", async () => {
    // Age the files so their stat may be cached, then scan once to fill the cache.
    const past = new Date(Date.now() - 60_000);
    for (const p of ["a.txt", "d/b.txt", "d/c.txt"]) await utimes(join(root, p), past, past);
    const first = await scanWorkingCopy(root, entries);
    assert.equal(first.refreshedCaches.size, 3);
    for (const [path, cache] of first.refreshedCaches) entries.get(path)!.cache = cache;
    const second = await scanWorkingCopy(root, entries);
    assert.equal(second.refreshedCaches.size, 0, "nothing re-hashed");
    // A normal edit changes mtime (and here size), so the cache no longer vouches for the file.
    await writeFile(join(root, "a.txt"), "edited\n");
    const third = await scanWorkingCopy(root, entries);
    assert.equal(third.items.find((i) => i.path === "a.txt")!.content, "M");
    assert.equal(third.items.find((i) => i.path === "d/b.txt")!.content, "=");
  });
});

describe("path arguments", () => {
  test("paths outside the checkout or into .zsync are usage errors", async () => {
    const { root } = await makeCheckout({ "a.txt": "a" });
    assert.deepEqual(toCheckoutPaths(root, ["a.txt", ".", "d/x"], root), ["a.txt", "", "d/x"]);
    for (const bad of ["..", "../x", "/etc/passwd", ".zsync/entries.json"]) {
      assert.throws(() => toCheckoutPaths(root, [bad], root), (e: WcError) => e.exitCode === 2, bad);
    }
    // Opening from a subdirectory finds the checkout root.
    await mkdir(join(root, "sub"));
    const wc = await openWorkingCopy(join(root, "sub"), {});
    assert.equal(wc.root, root);
    await wc.release();
    await rm(root, { recursive: true, force: true });
  });
});
