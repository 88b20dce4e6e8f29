/**
 * The tree operations (src/wc/{add,mkdir,remove,revert,copy,cleanup,info}.ts) on checkouts built
 * by hand in temp dirs: no server, every case checks the status letters before and after and
 * that refused operations changed nothing at all.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { mkdir as mkdirp, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { ObjectMeta } from "../../src/protocol/types.js";
import { add } from "../../src/wc/add.js";
import { adminPaths, FORMAT_VERSION, WcError, writeConfig } from "../../src/wc/admin.js";
import { cleanup, pendingJournal } from "../../src/wc/cleanup.js";
import { copy } from "../../src/wc/copy.js";
import { decodeIndex } from "../../src/wc/index-file.js";
import { loadEntries, saveEntries, type ConflictRecord, type Entry } from "../../src/wc/entries.js";
import { info } from "../../src/wc/info.js";
import type { Journal } from "../../src/wc/journal.js";
import { formatMeta, metaFileOf } from "../../src/wc/meta-files.js";
import { mkdir } from "../../src/wc/mkdir.js";
import { storePristine } from "../../src/wc/pristine.js";
import { remove, RemoveRefusedError } from "../../src/wc/remove.js";
import { revert } from "../../src/wc/revert.js";
import { openWorkingCopy, withWorkingCopy, type WorkingCopy } from "../../src/wc/session.js";
import { status } from "../../src/wc/status.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

interface Spec {
  /** File content (BASE and working), or null for a folder. */
  content: string | Buffer | null;
  meta?: ObjectMeta;
}

/** The demo-like tree most tests start from. */
const DEMO: Record<string, Spec> = {
  "README.txt": { content: "Read me.\n", meta: { contentType: "text/plain", extra: { title: "Read me" } } },
  "index.html": { content: "<h1>Hello</h1>\n", meta: { contentType: "text/html" } },
  docs: { content: null, meta: { extra: { title: "Documentation" } } },
  "docs/guide.md": { content: "# Guide\n\nline 1\nline 2\n", meta: { contentType: "text/markdown", annotations: { dc: { creator: "zsync" } } } },
  "docs/notes.txt": { content: "notes\n" },
  images: { content: null },
  "images/logo.png": { content: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255, 254, 0]), meta: { contentType: "image/png" } },
};

type T = { after: (fn: () => Promise<void>) => void };

/** Writes a clean checkout of `tree` at revision 1 (entries, pristine copies, metadata files). */
async function makeCheckout(t: T, tree: Record<string, Spec> = DEMO): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "zsync-tree-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const paths = adminPaths(root);
  await mkdirp(paths.pristine, { recursive: true });
  await writeFile(paths.format, `${FORMAT_VERSION}\n`);
  await writeConfig(root, { origin: "http://127.0.0.1:9", path: "demo", user: "zsync", repository: "11111111-2222-3333-4444-555555555555", depth: "infinity" });
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1, meta: { extra: { title: "demo" } } }]]);
  await mkdirp(join(root, "@@meta"), { recursive: true });
  await writeFile(join(root, metaFileOf("")), formatMeta({ extra: { title: "demo" } }));
  for (const [path, spec] of Object.entries(tree)) {
    const abs = join(root, path);
    const entry: Entry = { kind: spec.content === null ? "folder" : "file", revision: 1 };
    if (spec.content === null) await mkdirp(abs, { recursive: true });
    else {
      await mkdirp(join(abs, ".."), { recursive: true });
      await writeFile(abs, spec.content);
      const stored = await storePristine(root, (async function* () {
        yield Buffer.from(spec.content as string | Buffer);
      })());
      entry.hash = stored.hash;
      entry.size = stored.size;
    }
    if (spec.meta) {
      entry.meta = spec.meta;
      const metaFile = join(root, metaFileOf(path));
      await mkdirp(join(metaFile, ".."), { recursive: true });
      await writeFile(metaFile, formatMeta(spec.meta));
    }
    entries.set(path, entry);
  }
  await saveEntries(root, { revision: 1, entries });
  return root;
}

/** Runs `op` with the checkout open and locked, as the CLI does. */
function withWc<R>(root: string, op: (wc: WorkingCopy) => Promise<R>): Promise<R> {
  return withWorkingCopy(root, { lock: "test" }, op);
}

/** path → status letters (content + metadata), unchanged paths included. */
async function letters(root: string): Promise<Map<string, string>> {
  const wc = await openWorkingCopy(root);
  const report = await status(wc, { verbose: true });
  return new Map(report.items.map((i) => [i.path, i.content + i.meta]));
}

/** Everything on disk (files with their hash, folders with a `/`), `.zsync/` excluded unless `admin` (then without the lock and stat caches). */
function snapshot(root: string, admin = false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      if (rel === "" && name === ".zsync" && !admin) continue;
      // The lock comes and goes; the index summary is a cache of the index, rewritten by a status
      // that records caches (like the caches left out of the index below).
      if (path === ".zsync/lock" || path === ".zsync/index-summary") continue;
      const s = lstatSync(join(root, path));
      if (s.isDirectory()) {
        out.set(path + "/", "");
        walk(path);
      } else if (s.isSymbolicLink()) out.set(path, "symlink");
      else if (path === ".zsync/index") {
        // Stat caches are refreshed by any status: compare the entries without them.
        const data = decodeIndex(readFileSync(join(root, path)));
        const entries = [...data.entries].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, entry]) => [p, { ...entry, cache: undefined, metaCache: undefined, listing: undefined }]);
        out.set(path, sha256(JSON.stringify({ revision: data.revision, entries })));
      } else out.set(path, sha256(readFileSync(join(root, path))));
    }
  };
  walk("");
  return out;
}

async function entriesOf(root: string): Promise<Map<string, Entry>> {
  return (await loadEntries(root)).entries;
}

async function rejectsWith(promise: Promise<unknown>, code: string, exitCode = 1): Promise<WcError> {
  let caught: unknown;
  await promise.catch((e) => (caught = e));
  assert.ok(caught instanceof WcError, `expected WcError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.exitCode, exitCode);
  return caught;
}

describe("add", () => {
  test("adds files and folders recursively, with parents, guessed types, ignore rules; skips @@meta and symlinks", async (t) => {
    const root = await makeCheckout(t);
    await mkdirp(join(root, "new/sub/@@meta"), { recursive: true });
    await writeFile(join(root, "new/sub/page.html"), "<p>new</p>\n");
    await writeFile(join(root, "new/sub/data.unknownext"), "??\n");
    await writeFile(join(root, "new/sub/@@meta/stray.json"), "{}\n");
    await writeFile(join(root, "new/sub/backup.txt~"), "old\n");
    await writeFile(join(root, "new/sub/skip.log"), "log\n");
    await writeFile(join(root, "new/.zsyncignore"), "*.log\n");
    await symlink("../../README.txt", join(root, "new/sub/link.txt"));
    await writeFile(join(root, "docs/added.md"), "# added\n");

    const before = await letters(root);
    assert.equal(before.get("new"), "? ");
    assert.equal(before.get("docs/added.md"), "? ");

    const r = await withWc(root, (wc) => add(wc, { paths: ["new/sub", "docs/added.md"] }));
    assert.deepEqual(
      r.added.map((a) => [a.path, a.kind, a.parent === true, a.contentType ?? null]),
      [
        ["new", "folder", true, null],
        ["new/sub", "folder", false, null],
        ["new/sub/data.unknownext", "file", false, null],
        ["new/sub/page.html", "file", false, "text/html"],
        ["docs/added.md", "file", false, "text/markdown"],
      ],
    );
    assert.deepEqual(r.skipped.map((s) => [s.path, s.reason, s.explicit]), [["new/sub/link.txt", "symlink", false]]);
    assert.equal(readFileSync(join(root, "new/sub/@@meta/page.html.json"), "utf8"), formatMeta({ contentType: "text/html" }));
    assert.equal(existsSync(join(root, "new/sub/@@meta/data.unknownext.json")), false, "unknown types write no metadata");

    const after = await letters(root);
    for (const p of ["new", "new/sub", "new/sub/page.html", "new/sub/data.unknownext", "docs/added.md"]) assert.equal(after.get(p), "A ", p);
    assert.equal(after.has("new/sub/skip.log"), false, "ignored by new/.zsyncignore");
    assert.equal(after.has("new/sub/backup.txt~"), false, "ignored by the built-in rules");
    assert.equal(after.get("new/.zsyncignore"), "? ", "a sibling of the named path stays unversioned");
    // No BASE: scheduled for addition, nothing else (the status above may have cached its stat,
    // if it ran 100 ms or more after the file was written).
    const { cache: _statCache, ...added } = (await entriesOf(root)).get("new/sub/page.html")!;
    assert.deepEqual(added, { kind: "file", schedule: "added" });
  });

  test("--type writes (or merges into) the metadata file; a folder with --type is a usage error", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "a.txt"), "a\n");
    await writeFile(join(root, "b.bin"), "b\n");
    await writeFile(join(root, "@@meta/b.bin.json"), JSON.stringify({ extra: { title: "B" } }));
    await mkdirp(join(root, "folder"));
    await rejectsWith(withWc(root, (wc) => add(wc, { paths: ["a.txt", "folder"], contentType: "text/x-a" })), "type-on-folder", 2);
    await rejectsWith(withWc(root, (wc) => add(wc, { paths: ["a.txt"], contentType: "not a type" })), "bad-content-type", 2);
    assert.equal((await entriesOf(root)).has("a.txt"), false, "a refused add changes nothing");

    const r = await withWc(root, (wc) => add(wc, { paths: ["a.txt", "b.bin"], contentType: "text/x-a" }));
    assert.deepEqual(r.added.map((a) => [a.path, a.contentType]), [["a.txt", "text/x-a"], ["b.bin", "text/x-a"]]);
    assert.deepEqual(JSON.parse(readFileSync(join(root, "@@meta/a.txt.json"), "utf8")), { contentType: "text/x-a" });
    assert.deepEqual(JSON.parse(readFileSync(join(root, "@@meta/b.bin.json"), "utf8")), { contentType: "text/x-a", extra: { title: "B" } });
  });

  test("already versioned paths, ignored names and reserved names", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "x.swp"), "swap\n");
    const r = await withWc(root, (wc) => add(wc, { paths: ["README.txt", "docs", "x.swp"] }));
    assert.deepEqual(r.added, []);
    assert.deepEqual(r.skipped.map((s) => [s.path, s.reason, s.explicit]), [["README.txt", "versioned", true], ["docs", "versioned", true], ["x.swp", "ignored", true]]);
    assert.match(r.skipped[0].message, /already under version control/);

    const forced = await withWc(root, (wc) => add(wc, { paths: ["x.swp"], noIgnore: true }));
    assert.deepEqual(forced.added.map((a) => a.path), ["x.swp"]);

    const before = snapshot(root, true);
    await rejectsWith(withWc(root, (wc) => add(wc, { paths: ["docs/@@meta/guide.md.json"] })), "reserved-name");
    await rejectsWith(withWc(root, (wc) => add(wc, { paths: ["nothing-here.txt"] })), "not-found");
    assert.deepEqual(snapshot(root, true), before, "refused adds change nothing");
  });

  test("a named versioned folder is searched for new files (zsync add .)", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "docs/new.txt"), "new\n");
    await writeFile(join(root, "top.txt"), "top\n");
    const r = await withWc(root, (wc) => add(wc, { paths: [""] }));
    assert.deepEqual(r.added.map((a) => a.path), ["docs/new.txt", "top.txt"]);
    assert.deepEqual(r.skipped, []);
    const again = await withWc(root, (wc) => add(wc, { paths: [""] }));
    assert.deepEqual(again.skipped.map((s) => s.reason), ["versioned"]);
  });
});

describe("mkdir", () => {
  test("creates and schedules folders, parents first", async (t) => {
    const root = await makeCheckout(t);
    const r = await withWc(root, (wc) => mkdir(wc, { paths: ["a", "a/b", "docs/c"] }));
    assert.deepEqual(r.created.map((c) => c.path), ["a", "a/b", "docs/c"]);
    const after = await letters(root);
    for (const p of ["a", "a/b", "docs/c"]) {
      assert.equal(after.get(p), "A ", p);
      assert.ok(lstatSync(join(root, p)).isDirectory());
    }
  });

  test("refuses an unversioned parent or an existing path and changes nothing", async (t) => {
    const root = await makeCheckout(t);
    await mkdirp(join(root, "loose"));
    const before = snapshot(root, true);
    await rejectsWith(withWc(root, (wc) => mkdir(wc, { paths: ["ok", "loose/x"] })), "parent-unversioned");
    await rejectsWith(withWc(root, (wc) => mkdir(wc, { paths: ["ok", "nowhere/x"] })), "parent-unversioned");
    await rejectsWith(withWc(root, (wc) => mkdir(wc, { paths: ["docs"] })), "exists");
    await rejectsWith(withWc(root, (wc) => mkdir(wc, { paths: ["loose"] })), "exists");
    assert.deepEqual(snapshot(root, true), before);
  });
});

describe("remove", () => {
  test("schedules a file and a folder for removal and deletes them with their metadata files", async (t) => {
    const root = await makeCheckout(t);
    assert.equal((await letters(root)).get("README.txt"), "= ");
    const r = await withWc(root, (wc) => remove(wc, { paths: ["README.txt", "docs"] }));
    assert.deepEqual(
      r.removed.map((x) => [x.path, x.action, x.deleted]),
      [["README.txt", "scheduled", true], ["docs", "scheduled", true], ["docs/guide.md", "scheduled", true], ["docs/notes.txt", "scheduled", true]],
    );
    assert.deepEqual(r.kept, []);
    for (const p of ["README.txt", "@@meta/README.txt.json", "docs", "@@meta/docs.json"]) assert.equal(existsSync(join(root, p)), false, p);
    const after = await letters(root);
    for (const p of ["README.txt", "docs", "docs/guide.md", "docs/notes.txt"]) assert.equal(after.get(p), "R ", p);
    assert.equal((await entriesOf(root)).get("README.txt")?.schedule, "removed");
  });

  test("refuses modified content, modified metadata, unversioned and added files, changing nothing; --force removes", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "docs/guide.md"), "# Guide\n\nmy edit\n");
    await writeFile(join(root, "docs/loose.txt"), "mine only\n");
    await writeFile(join(root, "@@meta/index.html.json"), formatMeta({ contentType: "text/plain" }));
    await writeFile(join(root, "fresh.txt"), "fresh\n");
    await withWc(root, (wc) => add(wc, { paths: ["fresh.txt"] }));
    const beforeDisk = snapshot(root, true);
    const beforeLetters = await letters(root);

    const error = (await rejectsWith(withWc(root, (wc) => remove(wc, { paths: ["docs", "index.html", "fresh.txt", "README.txt"] })), "local-modifications")) as RemoveRefusedError;
    assert.deepEqual(
      error.offenders.map((o) => [o.path, o.status]),
      [["docs/guide.md", "M "], ["docs/loose.txt", "? "], ["fresh.txt", "AM"], ["index.html", " M"]],
    );
    assert.deepEqual(snapshot(root, true), beforeDisk, "nothing changed on disk or in .zsync");
    assert.deepEqual(await letters(root), beforeLetters);
    await rejectsWith(withWc(root, (wc) => remove(wc, { paths: ["docs/loose.txt"] })), "local-modifications");
    assert.deepEqual(snapshot(root, true), beforeDisk);

    const forced = await withWc(root, (wc) => remove(wc, { paths: ["docs", "fresh.txt"], force: true }));
    assert.deepEqual(forced.removed.map((x) => [x.path, x.action]), [["docs", "scheduled"], ["docs/guide.md", "scheduled"], ["docs/notes.txt", "scheduled"], ["fresh.txt", "forgotten"]]);
    assert.equal(existsSync(join(root, "docs")), false);
    assert.equal(existsSync(join(root, "fresh.txt")), false);
    assert.equal((await entriesOf(root)).has("fresh.txt"), false, "an added path just loses its entry");
  });

  test("--keep-local keeps the files; an added file becomes unversioned", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "index.html"), "<h1>edited</h1>\n");
    await writeFile(join(root, "fresh.txt"), "fresh\n");
    await withWc(root, (wc) => add(wc, { paths: ["fresh.txt"] }));
    const r = await withWc(root, (wc) => remove(wc, { paths: ["index.html", "fresh.txt"], keepLocal: true }));
    assert.deepEqual(r.removed.map((x) => [x.path, x.action, x.deleted]), [["fresh.txt", "forgotten", false], ["index.html", "scheduled", false]]);
    assert.equal(readFileSync(join(root, "index.html"), "utf8"), "<h1>edited</h1>\n");
    assert.ok(existsSync(join(root, "@@meta/index.html.json")));
    const after = await letters(root);
    assert.equal(after.get("index.html"), "R ");
    assert.equal(after.get("fresh.txt"), "? ");
  });

  test("a folder holding ignored files is scheduled but stays on disk with them", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "docs/guide.md~"), "editor backup\n");
    const r = await withWc(root, (wc) => remove(wc, { paths: ["docs"] }));
    assert.deepEqual(r.kept, [{ path: "docs", remaining: ["docs/guide.md~"] }]);
    assert.equal(readFileSync(join(root, "docs/guide.md~"), "utf8"), "editor backup\n");
    assert.equal(existsSync(join(root, "docs/guide.md")), false);
    assert.equal((await letters(root)).get("docs"), "R ");
  });

  test("refuses a conflicted path even with --keep-local", async (t) => {
    const root = await makeCheckout(t);
    const entries = await loadEntries(root);
    entries.entries.get("README.txt")!.conflict = { kind: "text", artifacts: [] };
    await saveEntries(root, entries);
    await rejectsWith(withWc(root, (wc) => remove(wc, { paths: ["README.txt"], keepLocal: true })), "local-modifications");
    assert.equal((await entriesOf(root)).get("README.txt")?.schedule, undefined);
  });
});

describe("revert", () => {
  test("keeps the user's modified content in FILE.orig, byte for byte, and restores BASE", async (t) => {
    const root = await makeCheckout(t);
    const mine = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    await writeFile(join(root, "images/logo.png"), mine);
    assert.equal((await letters(root)).get("images/logo.png"), "M ");

    const r = await withWc(root, (wc) => revert(wc, { paths: ["images/logo.png"] }));
    assert.deepEqual(r.reverted.map((x) => [x.path, x.previous, x.content, x.savedAs]), [["images/logo.png", "M", true, "images/logo.png.orig"]]);
    assert.deepEqual(readFileSync(join(root, "images/logo.png.orig")), mine);
    assert.deepEqual(readFileSync(join(root, "images/logo.png")), DEMO["images/logo.png"].content);
    const after = await letters(root);
    assert.equal(after.get("images/logo.png"), "= ");
    assert.equal(after.get("images/logo.png.orig"), "? ");

    // .orig is taken: the next save goes to .orig.1, and the first one is untouched.
    await writeFile(join(root, "images/logo.png"), "second edit");
    const again = await withWc(root, (wc) => revert(wc, { paths: ["images/logo.png"] }));
    assert.equal(again.reverted[0].savedAs, "images/logo.png.orig.1");
    assert.equal(readFileSync(join(root, "images/logo.png.orig.1"), "utf8"), "second edit");
    assert.deepEqual(readFileSync(join(root, "images/logo.png.orig")), mine);
  });

  test("an unchanged file reports nothing; an unversioned path is skipped", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "loose.txt"), "x");
    const before = snapshot(root, true);
    const r = await withWc(root, (wc) => revert(wc, { paths: ["README.txt", "loose.txt"] }));
    assert.deepEqual(r.reverted, []);
    assert.deepEqual(r.skipped.map((s) => s.path), ["loose.txt"]);
    assert.deepEqual(snapshot(root, true), before);
  });

  test("brings a removed file and a removed folder back from BASE, with metadata", async (t) => {
    const root = await makeCheckout(t);
    await withWc(root, (wc) => remove(wc, { paths: ["README.txt", "docs"] }));
    const r = await withWc(root, (wc) => revert(wc, { paths: ["README.txt", "docs"] }));
    assert.deepEqual(r.reverted.map((x) => [x.path, x.previous, x.unscheduled]), [
      ["README.txt", "R", "removed"],
      ["docs", "R", "removed"],
      ["docs/guide.md", "R", "removed"],
      ["docs/notes.txt", "R", "removed"],
    ]);
    assert.equal(readFileSync(join(root, "README.txt"), "utf8"), "Read me.\n");
    assert.equal(readFileSync(join(root, "docs/guide.md"), "utf8"), DEMO["docs/guide.md"].content);
    assert.equal(readFileSync(join(root, "docs/@@meta/guide.md.json"), "utf8"), formatMeta(DEMO["docs/guide.md"].meta!));
    assert.equal(readFileSync(join(root, "@@meta/docs.json"), "utf8"), formatMeta(DEMO.docs.meta!));
    const after = await letters(root);
    for (const p of ["README.txt", "docs", "docs/guide.md", "docs/notes.txt"]) assert.equal(after.get(p), "= ", p);
  });

  test("an added file becomes unversioned and stays on disk", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "new.txt"), "new\n");
    await withWc(root, (wc) => add(wc, { paths: ["new.txt"] }));
    assert.equal((await letters(root)).get("new.txt"), "A ");
    const r = await withWc(root, (wc) => revert(wc, { paths: ["new.txt"] }));
    assert.deepEqual(r.reverted.map((x) => [x.path, x.unscheduled]), [["new.txt", "added"]]);
    assert.equal(readFileSync(join(root, "new.txt"), "utf8"), "new\n");
    assert.equal((await letters(root)).get("new.txt"), "? ");
  });

  test("clears a conflict, deletes its artifacts and keeps the conflicted file as .orig", async (t) => {
    const root = await makeCheckout(t);
    const marked = "# Guide\n\n<<<<<<< .mine\nmine\n||||||| .r1\nline 1\n=======\ntheirs\n>>>>>>> .r2\nline 2\n";
    await writeFile(join(root, "docs/guide.md"), marked);
    await writeFile(join(root, "docs/guide.md.mine"), "mine version\n");
    await writeFile(join(root, "docs/guide.md.r1"), "base version\n");
    await writeFile(join(root, "docs/guide.md.r2"), "their version\n");
    const conflict: ConflictRecord = { kind: "text", artifacts: ["docs/guide.md.mine", "docs/guide.md.r1", "docs/guide.md.r2"] };
    const entries = await loadEntries(root);
    entries.entries.get("docs/guide.md")!.conflict = conflict;
    await saveEntries(root, entries);
    assert.equal((await letters(root)).get("docs/guide.md"), "C ");

    const r = await withWc(root, (wc) => revert(wc, { paths: ["docs/guide.md"] }));
    assert.deepEqual(r.reverted.map((x) => [x.path, x.previous, x.conflictCleared, x.removedArtifacts, x.savedAs]), [
      ["docs/guide.md", "C", true, conflict.artifacts, "docs/guide.md.orig"],
    ]);
    for (const a of conflict.artifacts) assert.equal(existsSync(join(root, a)), false, a);
    assert.equal(readFileSync(join(root, "docs/guide.md.orig"), "utf8"), marked);
    assert.equal(readFileSync(join(root, "docs/guide.md"), "utf8"), DEMO["docs/guide.md"].content);
    assert.equal((await entriesOf(root)).get("docs/guide.md")?.conflict, undefined);
    assert.equal((await letters(root)).get("docs/guide.md"), "= ");
  });

  test("restores modified metadata (keeping the user's as .orig); a folder without -R reverts only itself", async (t) => {
    const root = await makeCheckout(t);
    const myMeta = formatMeta({ extra: { title: "My docs" } });
    await writeFile(join(root, "@@meta/docs.json"), myMeta);
    await writeFile(join(root, "docs/notes.txt"), "edited notes\n");
    await rm(join(root, "docs/@@meta/guide.md.json"));
    const before = await letters(root);
    assert.deepEqual([before.get("docs"), before.get("docs/notes.txt"), before.get("docs/guide.md")], ["=M", "M ", "=M"]);

    const r = await withWc(root, (wc) => revert(wc, { paths: ["docs"] }));
    assert.deepEqual(r.reverted.map((x) => [x.path, x.meta, x.metaSavedAs]), [["docs", true, "@@meta/docs.json.orig"]]);
    assert.equal(readFileSync(join(root, "@@meta/docs.json.orig"), "utf8"), myMeta);
    const mid = await letters(root);
    assert.deepEqual([mid.get("docs"), mid.get("docs/notes.txt"), mid.get("docs/guide.md")], ["= ", "M ", "=M"]);

    const rr = await withWc(root, (wc) => revert(wc, { paths: ["docs"], recursive: true }));
    assert.deepEqual(rr.reverted.map((x) => [x.path, x.content, x.meta]), [["docs/guide.md", false, true], ["docs/notes.txt", true, false]]);
    assert.equal(readFileSync(join(root, "docs/notes.txt.orig"), "utf8"), "edited notes\n");
    const after = await letters(root);
    assert.deepEqual([after.get("docs"), after.get("docs/notes.txt"), after.get("docs/guide.md")], ["= ", "= ", "= "]);
  });

  test("restores a missing file", async (t) => {
    const root = await makeCheckout(t);
    await rm(join(root, "index.html"));
    assert.equal((await letters(root)).get("index.html"), "! ");
    const r = await withWc(root, (wc) => revert(wc, { paths: ["index.html"] }));
    assert.deepEqual(r.reverted.map((x) => [x.path, x.previous, x.savedAs]), [["index.html", "!", undefined]]);
    assert.equal((await letters(root)).get("index.html"), "= ");
  });
});

describe("copy", () => {
  test("copies a file with its metadata file (working content) and schedules the copy", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "docs/guide.md"), "# Guide, edited\n");
    const r = await withWc(root, (wc) => copy(wc, { src: "docs/guide.md", dst: "guide-copy.md" }));
    assert.deepEqual(r.copied, [{ path: "guide-copy.md", kind: "file", from: "docs/guide.md", metaFile: "@@meta/guide-copy.md.json" }]);
    assert.equal(readFileSync(join(root, "guide-copy.md"), "utf8"), "# Guide, edited\n");
    assert.equal(readFileSync(join(root, "@@meta/guide-copy.md.json"), "utf8"), formatMeta(DEMO["docs/guide.md"].meta!));
    const after = await letters(root);
    assert.equal(after.get("guide-copy.md"), "A ");
    assert.equal(after.get("docs/guide.md"), "M ", "the source is untouched");
    assert.deepEqual((await entriesOf(root)).get("guide-copy.md"), { kind: "file", schedule: "added" });
  });

  test("copies a folder with its versioned contents only; into an existing folder under the same name", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "docs/unversioned.txt"), "not copied\n");
    const r = await withWc(root, (wc) => copy(wc, { src: "docs", dst: "images" }));
    assert.equal(r.destination, "images/docs");
    assert.deepEqual(r.copied.map((c) => [c.path, c.from, c.metaFile ?? null]), [
      ["images/docs", "docs", "images/@@meta/docs.json"],
      ["images/docs/guide.md", "docs/guide.md", "images/docs/@@meta/guide.md.json"],
      ["images/docs/notes.txt", "docs/notes.txt", null],
    ]);
    assert.equal(existsSync(join(root, "images/docs/unversioned.txt")), false);
    const after = await letters(root);
    for (const p of ["images/docs", "images/docs/guide.md", "images/docs/notes.txt"]) assert.equal(after.get(p), "A ", p);
  });

  test("refuses an existing destination, an unversioned parent, an unversioned source, and copying into itself", async (t) => {
    const root = await makeCheckout(t);
    await mkdirp(join(root, "loose"));
    const before = snapshot(root, true);
    await rejectsWith(withWc(root, (wc) => copy(wc, { src: "README.txt", dst: "index.html" })), "exists");
    await rejectsWith(withWc(root, (wc) => copy(wc, { src: "README.txt", dst: "loose/r.txt" })), "parent-unversioned");
    await rejectsWith(withWc(root, (wc) => copy(wc, { src: "nothing", dst: "x" })), "unversioned");
    await rejectsWith(withWc(root, (wc) => copy(wc, { src: "docs", dst: "docs/inner" })), "copy-into-itself");
    assert.deepEqual(snapshot(root, true), before);
  });
});

describe("cleanup", () => {
  test("takes over a dead process's lock, completes its journal and removes temp files", async (t) => {
    const root = await makeCheckout(t);
    // A revert killed half-way: the journal is written, nothing carried out yet.
    const base = DEMO["README.txt"].content as string;
    await writeFile(join(root, "README.txt"), "interrupted edit\n");
    const mine = await storePristine(root, (async function* () {
      yield Buffer.from("interrupted edit\n");
    })());
    const entries = await entriesOf(root);
    const journal: Journal = {
      command: "revert",
      steps: [
        { do: "write", path: "README.txt.orig", hash: mine.hash, expect: "absent" },
        { do: "write", path: "README.txt", hash: sha256(base), expect: { hash: mine.hash } },
      ],
      entries: { "README.txt": { ...entries.get("README.txt")! } },
    };
    await writeFile(adminPaths(root).journal, JSON.stringify(journal));
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    await writeFile(adminPaths(root).lock, JSON.stringify({ pid: dead, command: "revert", started: new Date().toISOString() }));
    await writeFile(join(root, "docs/.notes.txt.zsync-tmp-0a1b2c3d4e5f"), "half a file");
    await mkdirp(adminPaths(root).tmp, { recursive: true });
    await writeFile(join(adminPaths(root).tmp, "in-0011223344556677"), "half a download");

    assert.equal(await pendingJournal(root), "revert");
    const r = await withWc(root, (wc) => cleanup(wc, { interrupted: "revert" }));
    assert.equal(r.finished, "revert");
    assert.deepEqual(r.removed, [".zsync/tmp/in-0011223344556677", "docs/.notes.txt.zsync-tmp-0a1b2c3d4e5f"]);
    assert.equal(readFileSync(join(root, "README.txt"), "utf8"), base);
    assert.equal(readFileSync(join(root, "README.txt.orig"), "utf8"), "interrupted edit\n");
    assert.equal(existsSync(adminPaths(root).journal), false);
    assert.equal(existsSync(adminPaths(root).lock), false, "the lock is released");
    assert.equal(await pendingJournal(root), undefined);
    assert.equal((await letters(root)).get("README.txt"), "= ");
  });

  test("a lock held by a live process is respected", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(adminPaths(root).lock, JSON.stringify({ pid: process.pid === 1 ? 2 : 1, command: "update" }));
    // No wait: the wait itself is lock.test.ts's (with a fake clock); this one waited 60 s of CI.
    await rejectsWith(withWorkingCopy(root, { lock: "test", lockWaitMs: 0 }, (wc) => cleanup(wc)), "locked");
  });
});

describe("info", () => {
  test("describes versioned paths without credentials; unversioned paths are errors", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "loose.txt"), "x");
    const wc = await openWorkingCopy(root);
    const r = await info(wc, { paths: ["docs/guide.md", "", "loose.txt"] });
    assert.deepEqual(r.errors.map((e) => e.path), ["loose.txt"]);
    const [guide, top] = r.items;
    assert.equal(guide.url, "http://127.0.0.1:9/demo/docs/guide.md");
    assert.equal(guide.repositoryUuid, "11111111-2222-3333-4444-555555555555");
    assert.equal(guide.kind, "file");
    assert.equal(guide.schedule, "normal");
    assert.equal(guide.lastChangedRevision, 1);
    assert.equal(guide.checksum, sha256(DEMO["docs/guide.md"].content as string));
    assert.equal(guide.contentType, "text/markdown");
    assert.equal(guide.metaFile, "docs/@@meta/guide.md.json");
    assert.equal(top.url, "http://127.0.0.1:9/demo");
    assert.equal(top.kind, "folder");
    assert.ok(!JSON.stringify(r).includes("zsync@"), "no user in URLs");
  });

  test("shows schedule and conflict", async (t) => {
    const root = await makeCheckout(t);
    await writeFile(join(root, "my file.txt"), "x");
    await withWc(root, (wc) => add(wc, { paths: ["my file.txt"] }));
    const entries = await loadEntries(root);
    entries.entries.get("index.html")!.conflict = { kind: "meta", artifacts: [], reason: "title changed on both sides" };
    await saveEntries(root, entries);
    const wc = await openWorkingCopy(root);
    const r = await info(wc, { paths: ["my file.txt", "index.html"] });
    assert.equal(r.items[0].schedule, "added");
    assert.equal(r.items[0].url, "http://127.0.0.1:9/demo/my%20file.txt");
    assert.equal(r.items[0].lastChangedRevision, undefined);
    assert.equal(r.items[0].contentType, "text/plain");
    assert.deepEqual(r.items[1].conflict, { kind: "meta", artifacts: [], reason: "title changed on both sides" });
    // A metadata conflict shows in the metadata column; the content is untouched.
    assert.equal(r.items[1].status, "=");
    assert.equal(r.items[1].metaStatus, "conflict");
  });
});

test("metadata of removed-then-reverted paths and journal ordering survive a re-read", async (t) => {
  // remove → revert round trip leaves entries exactly as they were (minus stat caches).
  const root = await makeCheckout(t);
  const strip = (m: Map<string, Entry>) => new Map([...m].map(([p, e]) => [p, { ...e, cache: undefined, metaCache: undefined, listing: undefined }]));
  const before = strip(await entriesOf(root));
  const disk = snapshot(root);
  await withWc(root, (wc) => remove(wc, { paths: ["docs", "images/logo.png", "index.html"] }));
  await withWc(root, (wc) => revert(wc, { paths: [""], recursive: true }));
  assert.deepEqual(strip(await entriesOf(root)), before);
  assert.deepEqual(snapshot(root), disk);
});
