/**
 * `diff` (src/wc/diff.ts) on checkouts built by hand: no server anywhere, so every case is also
 * a proof that diff is offline.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ObjectMeta } from "../../src/protocol/types.js";
import { adminPaths, FORMAT_VERSION, WcError, writeConfig } from "../../src/wc/admin.js";
import { diff, formatFileDiff, type FileDiff } from "../../src/wc/diff.js";
import { saveEntries, type Entry } from "../../src/wc/entries.js";
import { formatMeta, metaFileOf } from "../../src/wc/meta-files.js";
import { storePristine } from "../../src/wc/pristine.js";
import { openWorkingCopy } from "../../src/wc/session.js";

interface Spec {
  kind?: "file" | "folder";
  /** BASE content (files with a BASE). */
  base?: string | Buffer;
  /** Working content; undefined = same as base; null = absent from disk. */
  working?: string | Buffer | null;
  revision?: number;
  meta?: ObjectMeta;
  /** Text of the working `@@meta` file; undefined = formatMeta(meta) when meta is set. */
  workingMeta?: string | null;
  schedule?: "added" | "removed";
}

/** Writes a checkout whose entries and pristine store describe `specs` (path → spec). */
async function makeCheckout(t: { after: (fn: () => Promise<void>) => void }, specs: Record<string, Spec>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "zsync-diff-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const paths = adminPaths(root);
  await mkdir(paths.pristine, { recursive: true });
  await writeFile(paths.format, `${FORMAT_VERSION}\n`);
  await writeConfig(root, { origin: "http://127.0.0.1:9", path: "demo", repository: "00000000-0000-0000-0000-000000000000", depth: "infinity" });
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
  for (const [path, spec] of Object.entries(specs)) {
    const kind = spec.kind ?? "file";
    const entry: Entry = { kind };
    if (spec.schedule !== "added") entry.revision = spec.revision ?? 3;
    if (spec.schedule) entry.schedule = spec.schedule;
    if (spec.meta && spec.schedule !== "added") entry.meta = spec.meta;
    const abs = join(root, path);
    if (kind === "folder") {
      if (spec.working !== null) await mkdir(abs, { recursive: true });
    } else {
      if (spec.base !== undefined) {
        const stored = await storePristine(root, (async function* () {
          yield Buffer.from(spec.base!);
        })());
        entry.hash = stored.hash;
        entry.size = stored.size;
      }
      const working = spec.working === undefined ? spec.base : spec.working;
      if (working !== null && working !== undefined) {
        await mkdir(join(abs, ".."), { recursive: true });
        await writeFile(abs, working);
      }
    }
    const metaText = spec.workingMeta === undefined ? (spec.meta ? formatMeta(spec.meta) : null) : spec.workingMeta;
    if (metaText !== null) {
      const file = join(root, metaFileOf(path));
      await mkdir(join(file, ".."), { recursive: true });
      await writeFile(file, metaText);
    }
    entries.set(path, entry);
  }
  await saveEntries(root, { revision: 3, entries });
  return root;
}

async function diffOf(root: string, paths?: string[]): Promise<FileDiff[]> {
  const wc = await openWorkingCopy(root);
  try {
    return (await diff(wc, { paths })).files;
  } finally {
    await wc.release();
  }
}

const render = (files: FileDiff[]) => files.map((f) => formatFileDiff(f)).join("");

test("a modified text file gives svn's unified diff, byte for byte", async (t) => {
  const base = "# Guide\n\n1. check out\n2. edit\n3. commit\n4. update\n5. repeat\n6. done\n7. rest\n8. more\n9. end\n";
  const working = "# Guide\n\n1. check out\n2. edit files\n3. commit\n4. update\n5. repeat\n6. done\n7. rest\n8. more\n9. end\n10. really\n";
  const root = await makeCheckout(t, { "docs/guide.md": { base, working, revision: 3 }, docs: { kind: "folder" }, "same.txt": { base: "same\n" } });
  const files = await diffOf(root);
  assert.equal(
    render(files),
    [
      "Index: docs/guide.md",
      "===================================================================",
      "--- docs/guide.md\t(revision 3)",
      "+++ docs/guide.md\t(working copy)",
      "@@ -1,7 +1,7 @@",
      " # Guide",
      " ",
      " 1. check out",
      "-2. edit",
      "+2. edit files",
      " 3. commit",
      " 4. update",
      " 5. repeat",
      "@@ -9,3 +9,4 @@",
      " 7. rest",
      " 8. more",
      " 9. end",
      "+10. really",
      "",
    ].join("\n"),
  );
  assert.deepEqual(files.map((f) => [f.path, f.kind, f.change, f.binary, f.revision]), [["docs/guide.md", "content", "modified", false, 3]]);
  assert.deepEqual(files[0].hunks[0], { oldStart: 1, oldLines: 7, newStart: 1, newLines: 7, lines: [" # Guide", " ", " 1. check out", "-2. edit", "+2. edit files", " 3. commit", " 4. update", " 5. repeat"] });
});

test("one-line ranges are written without a count, like GNU diff and svn", async (t) => {
  const root = await makeCheckout(t, { "a.txt": { base: "hello\n", working: "world\n", revision: 7 } });
  assert.equal(render(await diffOf(root)), "Index: a.txt\n===================================================================\n--- a.txt\t(revision 7)\n+++ a.txt\t(working copy)\n@@ -1 +1 @@\n-hello\n+world\n");
});

test("an added file is compared with nothing", async (t) => {
  const root = await makeCheckout(t, { "new.txt": { working: "one\ntwo\n", schedule: "added" } });
  const files = await diffOf(root);
  assert.equal(render(files), "Index: new.txt\n===================================================================\n--- new.txt\t(nonexistent)\n+++ new.txt\t(working copy)\n@@ -0,0 +1,2 @@\n+one\n+two\n");
  assert.equal(files[0].change, "added");
  assert.equal(files[0].revision, undefined);
});

test("a removed file shows all its lines removed, and so does a file inside a removed folder", async (t) => {
  const root = await makeCheckout(t, {
    "gone.txt": { base: "a\nb\n", working: null, schedule: "removed", revision: 2 },
    old: { kind: "folder", working: null, schedule: "removed" },
    "old/inner.txt": { base: "inner\n", working: null, revision: 2 },
  });
  const files = await diffOf(root);
  assert.equal(
    render(files),
    "Index: gone.txt\n===================================================================\n--- gone.txt\t(revision 2)\n+++ gone.txt\t(nonexistent)\n@@ -1,2 +0,0 @@\n-a\n-b\n" +
      "Index: old/inner.txt\n===================================================================\n--- old/inner.txt\t(revision 2)\n+++ old/inner.txt\t(nonexistent)\n@@ -1 +0,0 @@\n-inner\n",
  );
  assert.deepEqual(files.map((f) => f.change), ["removed", "removed"]);
});

test("binary files are not shown: by content (NUL byte, invalid UTF-8) or by content type", async (t) => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]);
  const root = await makeCheckout(t, {
    "logo.png": { base: png, working: Buffer.concat([png, Buffer.from([1, 2, 3])]) },
    "latin1.txt": { base: "caf\xe9\n", working: Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x21, 0x0a]) },
    "pic.bin": { base: "looks like text\n", working: "still looks like text\n", meta: { contentType: "application/octet-stream" } },
  });
  const files = await diffOf(root);
  assert.deepEqual(files.map((f) => [f.path, f.binary, f.hunks.length]), [["latin1.txt", true, 0], ["logo.png", true, 0], ["pic.bin", true, 0]]);
  assert.equal(formatFileDiff(files[1]), "Index: logo.png\n===================================================================\nCannot display: file marked as a binary type.\n");
  assert.equal(
    formatFileDiff(files[2]),
    "Index: pic.bin\n===================================================================\nCannot display: file marked as a binary type.\ncontent type: application/octet-stream\n",
  );
});

test("a text content type shows the diff even for a file with odd bytes", async (t) => {
  const root = await makeCheckout(t, { "data.csv": { base: "a,b\n", working: "a,b\x01\n", meta: { contentType: "text/csv" } } });
  const [file] = await diffOf(root);
  assert.equal(file.binary, false);
  assert.deepEqual(file.hunks[0].lines, ["-a,b", "+a,b\x01"]);
});

test("a missing final newline is marked on the side that lacks it", async (t) => {
  const root = await makeCheckout(t, {
    "end.txt": { base: "a\nb\n", working: "a\nc" },
    "was.txt": { base: "x", working: "x\n" },
  });
  assert.equal(
    render(await diffOf(root)),
    "Index: end.txt\n===================================================================\n--- end.txt\t(revision 3)\n+++ end.txt\t(working copy)\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n\\ No newline at end of file\n" +
      "Index: was.txt\n===================================================================\n--- was.txt\t(revision 3)\n+++ was.txt\t(working copy)\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n",
  );
});

test("metadata changes are a diff of the @@meta JSON file (BASE formatted as checkout writes it)", async (t) => {
  const meta: ObjectMeta = { contentType: "text/markdown", extra: { title: "A short guide" } };
  const edited = formatMeta({ contentType: "text/markdown", extra: { title: "A long guide", draft: true } });
  const root = await makeCheckout(t, {
    docs: { kind: "folder", meta: { extra: { title: "Docs" } }, workingMeta: '{"extra":{"title":"Docs"}}' }, // same JSON, other layout: no change
    "docs/guide.md": { base: "text\n", meta, workingMeta: edited, revision: 4 },
  });
  const files = await diffOf(root);
  assert.equal(files.length, 1);
  assert.deepEqual([files[0].path, files[0].object, files[0].kind, files[0].change], ["docs/@@meta/guide.md.json", "docs/guide.md", "meta", "modified"]);
  assert.equal(
    formatFileDiff(files[0]),
    [
      "Index: docs/@@meta/guide.md.json",
      "===================================================================",
      "--- docs/@@meta/guide.md.json\t(revision 4)",
      "+++ docs/@@meta/guide.md.json\t(working copy)",
      "@@ -1,6 +1,7 @@",
      " {",
      '   "contentType": "text/markdown",',
      '   "extra": {',
      '-    "title": "A short guide"',
      '+    "draft": true,',
      '+    "title": "A long guide"',
      "   }",
      " }",
      "",
    ].join("\n"),
  );
});

test("metadata added to an object, and removed from one, are diffs against nothing", async (t) => {
  const root = await makeCheckout(t, {
    "plain.txt": { base: "p\n", workingMeta: formatMeta({ extra: { title: "New" } }) },
    "titled.txt": { base: "t\n", meta: { extra: { title: "Old" } }, workingMeta: null },
  });
  const files = await diffOf(root);
  assert.deepEqual(files.map((f) => [f.path, f.change]), [["@@meta/plain.txt.json", "added"], ["@@meta/titled.txt.json", "removed"]]);
  assert.match(formatFileDiff(files[0]), /--- @@meta\/plain\.txt\.json\t\(nonexistent\)\n\+\+\+ @@meta\/plain\.txt\.json\t\(working copy\)\n@@ -0,0 \+1,5 @@\n/);
  assert.match(formatFileDiff(files[1]), /--- @@meta\/titled\.txt\.json\t\(revision 3\)\n\+\+\+ @@meta\/titled\.txt\.json\t\(nonexistent\)\n@@ -1,5 \+0,0 @@\n/);
});

test("content and metadata of one object come out in that order", async (t) => {
  const root = await makeCheckout(t, { "f.txt": { base: "1\n", working: "2\n", meta: { extra: { n: 1 } }, workingMeta: formatMeta({ extra: { n: 2 } }) } });
  assert.deepEqual((await diffOf(root)).map((f) => [f.path, f.kind]), [["f.txt", "content"], ["@@meta/f.txt.json", "meta"]]);
});

test("unchanged, missing and unversioned files show nothing", async (t) => {
  const root = await makeCheckout(t, { "same.txt": { base: "same\n" }, "lost.txt": { base: "lost\n", working: null } });
  await writeFile(join(root, "stray.txt"), "not versioned\n");
  assert.deepEqual(await diffOf(root), []);
});

test("paths limit the diff; a @@meta file path means only that metadata", async (t) => {
  const root = await makeCheckout(t, {
    a: { kind: "folder" },
    "a/x.txt": { base: "x\n", working: "x2\n", meta: { extra: { t: 1 } }, workingMeta: formatMeta({ extra: { t: 2 } }) },
    "b.txt": { base: "b\n", working: "b2\n" },
  });
  assert.deepEqual((await diffOf(root, ["a"])).map((f) => f.path), ["a/x.txt", "a/@@meta/x.txt.json"]);
  assert.deepEqual((await diffOf(root, ["a/@@meta/x.txt.json"])).map((f) => f.path), ["a/@@meta/x.txt.json"]);
  assert.deepEqual((await diffOf(root, ["b.txt"])).map((f) => f.path), ["b.txt"]);
  await assert.rejects(diffOf(root, ["stray.txt"]), (e: WcError) => e instanceof WcError && e.code === "not-versioned");
});

test("diff does not write to the checkout", async (t) => {
  const root = await makeCheckout(t, { "a.txt": { base: "a\n", working: "b\n" } });
  const { readFile } = await import("node:fs/promises");
  const before = await readFile(adminPaths(root).index, "utf8");
  await diffOf(root);
  assert.equal(await readFile(adminPaths(root).index, "utf8"), before);
});
