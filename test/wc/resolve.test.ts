/**
 * `resolve` (src/wc/resolve.ts) at the operation level: conflicts are produced by the real update
 * engine (applyRemote) from hand-made server snapshots on checkouts built in temp dirs — no
 * server — and each `--accept` choice is checked byte for byte, with the artifacts, the entry
 * and the status letters afterwards, and the `.orig` copies that keep local bytes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir as mkdirp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { SnarfRecord } from "../../src/protocol/snarf.js";
import type { EntryInfo, ObjectMeta } from "../../src/protocol/types.js";
import { applyRemote, type ApplyResult } from "../../src/wc/apply-remote.js";
import { adminPaths, FORMAT_VERSION, WcError, writeConfig } from "../../src/wc/admin.js";
import { loadEntries, saveEntries, type Entry } from "../../src/wc/entries.js";
import { formatMeta, metaFileOf } from "../../src/wc/meta-files.js";
import { storePristine } from "../../src/wc/pristine.js";
import { remove } from "../../src/wc/remove.js";
import {
  conflictHunks,
  conflictVersion,
  markerLine,
  resolve,
  ResolveRefusedError,
  resolveHunks,
  type Accept,
  type ResolveOptions,
} from "../../src/wc/resolve.js";
import { openWorkingCopy, withWorkingCopy } from "../../src/wc/session.js";
import { status } from "../../src/wc/status.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
type T = { after: (fn: () => Promise<void>) => void };

/** A file (content) or folder (null), with optional metadata. */
interface Spec {
  content: string | Buffer | null;
  meta?: ObjectMeta;
}

const BASE_TEXT = "one\ntwo\nthree\nfour\nfive\n";
const MINE_TEXT = "ONE-mine\ntwo\nthree\nfour\nFIVE-mine\n";
const THEIRS_TEXT = "one\ntwo-theirs\nthree\nfour\nFIVE-theirs\n";

/** A clean checkout of `tree` at revision 1. */
async function makeCheckout(t: T, tree: Record<string, Spec>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "zsync-resolve-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  const paths = adminPaths(root);
  await mkdirp(paths.pristine, { recursive: true });
  await writeFile(paths.format, `${FORMAT_VERSION}\n`);
  await writeConfig(root, { origin: "http://127.0.0.1:9", path: "demo", user: "zsync", repository: "11111111-2222-3333-4444-555555555555", depth: "infinity" });
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
  for (const [path, spec] of Object.entries(tree)) {
    const abs = join(root, path);
    const entry: Entry = { kind: spec.content === null ? "folder" : "file", revision: 1 };
    if (spec.content === null) await mkdirp(abs, { recursive: true });
    else {
      await mkdirp(join(abs, ".."), { recursive: true });
      await writeFile(abs, spec.content);
      const stored = await storePristine(root, once(Buffer.from(spec.content)));
      entry.hash = stored.hash;
      entry.size = stored.size;
    }
    if (spec.meta) {
      entry.meta = spec.meta;
      await mkdirp(join(root, metaFileOf(path), ".."), { recursive: true });
      await writeFile(join(root, metaFileOf(path)), formatMeta(spec.meta));
    }
    entries.set(path, entry);
  }
  await saveEntries(root, { revision: 1, entries });
  return root;
}

async function* once(bytes: Buffer) {
  yield bytes;
}

/** What the server changed, as one revision. */
interface ServerChange {
  /** New or changed files (content), folders (null). */
  files?: Record<string, string | Buffer | null>;
  meta?: Record<string, ObjectMeta | undefined>;
  deleted?: string[];
}

/** Applies a server revision through the real update engine, as `zsync update` does. */
async function serverUpdate(root: string, change: ServerChange, revision = 2): Promise<ApplyResult> {
  const current = (await loadEntries(root)).entries;
  const infos: EntryInfo[] = [];
  const bodies = new Map<string, Buffer>();
  const paths = new Set([...Object.keys(change.files ?? {}), ...Object.keys(change.meta ?? {})]);
  for (const path of [...paths].sort()) {
    const content = change.files && path in change.files ? change.files[path] : undefined;
    const old = current.get(path);
    const meta = change.meta && path in change.meta ? change.meta[path] : old?.meta;
    if (content === null || (content === undefined && old?.kind === "folder")) {
      infos.push({ path, kind: "folder", revision, ...(meta ? { meta } : {}) });
      continue;
    }
    const bytes = content === undefined ? readFileSync(join(root, ".zsync/pristine", old!.hash!.slice(0, 2), old!.hash!)) : Buffer.from(content);
    bodies.set(path, bytes);
    infos.push({ path, kind: "file", revision, hash: sha256(bytes), size: bytes.length, ...(meta ? { meta } : {}) });
  }
  async function* records(): AsyncGenerator<SnarfRecord> {
    for (const [path, bytes] of bodies) yield { kind: "file", path, size: bytes.length, body: once(bytes) };
  }
  return withWorkingCopy(root, { lock: "update" }, (wc) =>
    applyRemote(wc, { manifest: { protocol: 1, root: "/demo", revision, since: 1, entries: infos, deleted: change.deleted ?? [] }, records: records() }, { full: false, command: "update" }),
  );
}

function run(root: string, opts: ResolveOptions) {
  return withWorkingCopy(root, { lock: "resolve" }, (wc) => resolve(wc, opts));
}

/** path → content+meta letters (unchanged paths included). */
async function letters(root: string): Promise<Record<string, string>> {
  const wc = await openWorkingCopy(root);
  const report = await status(wc, { verbose: true });
  return Object.fromEntries(report.items.map((i) => [i.path, i.content + i.meta]));
}

const read = (root: string, path: string) => readFileSync(join(root, path), "utf8");
const exists = (root: string, path: string) => existsSync(join(root, path));

/** A checkout with a two-region text conflict in f.txt (BASE_TEXT → MINE_TEXT locally, THEIRS_TEXT on the server). */
async function textConflict(t: T): Promise<string> {
  const root = await makeCheckout(t, { "f.txt": { content: BASE_TEXT, meta: { contentType: "text/plain" } }, "other.txt": { content: "other\n" } });
  await writeFile(join(root, "f.txt"), MINE_TEXT);
  const up = await serverUpdate(root, { files: { "f.txt": THEIRS_TEXT } });
  assert.equal(up.conflicts, 1);
  assert.match(read(root, "f.txt"), /^<<<<<<< \.mine$/m);
  return root;
}

const ARTIFACTS = ["f.txt.mine", "f.txt.r1", "f.txt.r2"];

async function assertResolved(root: string, expected: string, letter: string) {
  assert.equal(read(root, "f.txt"), expected);
  for (const a of ARTIFACTS) assert.equal(exists(root, a), false, `${a} is removed`);
  const entry = (await loadEntries(root)).entries.get("f.txt")!;
  assert.equal(entry.conflict, undefined);
  assert.equal(entry.revision, 2, "BASE is the server's version");
  assert.equal((await letters(root))["f.txt"], letter);
}

describe("text conflicts: each --accept choice", () => {
  // The last column: whether mine (the file before the update) is kept as f.txt.orig — whenever
  // the result drops some of mine's changes, since the .mine artifact goes.
  const cases: [Accept, string, string, boolean][] = [
    ["base", BASE_TEXT, "M ", true],
    ["mine-full", MINE_TEXT, "M ", false],
    ["theirs-full", THEIRS_TEXT, "= ", true],
    // Region 1 (line 1 mine vs line 2 theirs) and region 2 (line 5) conflict; nothing merges cleanly here.
    ["mine-conflict", "ONE-mine\ntwo\nthree\nfour\nFIVE-mine\n", "M ", false],
    ["theirs-conflict", "one\ntwo-theirs\nthree\nfour\nFIVE-theirs\n", "= ", true],
  ];
  for (const [accept, expected, letter, keepsMine] of cases) {
    test(`--accept ${accept}${keepsMine ? " (mine kept as f.txt.orig)" : ""}`, async (t) => {
      const root = await textConflict(t);
      const r = await run(root, { paths: ["f.txt"], accept });
      assert.deepEqual(r.resolved.map((x) => [x.path, x.accept, x.removedArtifacts.sort()]), [["f.txt", accept, ARTIFACTS]]);
      assert.deepEqual(r.remaining, []);
      await assertResolved(root, expected, letter);
      assert.equal(r.resolved[0].savedAs, keepsMine ? "f.txt.orig" : undefined);
      if (keepsMine) {
        assert.equal(read(root, "f.txt.orig"), MINE_TEXT, "no byte of mine lost");
        assert.equal((await letters(root))["f.txt.orig"], "? ");
      } else assert.equal(exists(root, "f.txt.orig"), false, "mine is in the result: nothing to keep");
    });
  }

  test("a hand-edited conflicted file that the choice replaces is kept too (mine first, then the edits)", async (t) => {
    const root = await textConflict(t);
    await writeFile(join(root, "f.txt.orig"), "taken\n");
    await writeFile(join(root, "f.txt"), "my hand edits\n");
    const r = await run(root, { paths: ["f.txt"], accept: "theirs-full" });
    await assertResolved(root, THEIRS_TEXT, "= ");
    assert.equal(r.resolved[0].savedAs, "f.txt.orig.1");
    assert.match(r.resolved[0].note ?? "", /hand edits saved as f\.txt\.orig\.2/);
    assert.equal(read(root, "f.txt.orig"), "taken\n", "an existing .orig is never overwritten");
    assert.equal(read(root, "f.txt.orig.1"), MINE_TEXT);
    assert.equal(read(root, "f.txt.orig.2"), "my hand edits\n");

    // mine-full keeps mine in the file; only the hand edits need saving.
    const root2 = await textConflict(t);
    await writeFile(join(root2, "f.txt"), "other edits\n");
    const r2 = await run(root2, { paths: ["f.txt"], accept: "mine-full" });
    assert.equal(read(root2, "f.txt"), MINE_TEXT);
    assert.equal(r2.resolved[0].savedAs, "f.txt.orig");
    assert.equal(read(root2, "f.txt.orig"), "other edits\n");
  });

  test("--accept working after a hand merge: mine is kept only when the merge dropped some of its changes", async (t) => {
    const root = await textConflict(t);
    await writeFile(join(root, "f.txt"), "ONE-mine\ntwo-theirs\nthree\nfour\nFIVE-mine\n");
    const kept = await run(root, { paths: ["f.txt"], accept: "working" });
    assert.equal(kept.resolved[0].savedAs, undefined);
    assert.equal(exists(root, "f.txt.orig"), false, "every change of mine is in the file");

    const root2 = await textConflict(t);
    await writeFile(join(root2, "f.txt"), "one\ntwo-theirs\nthree\nfour\nFIVE-theirs and more\n");
    const dropped = await run(root2, { paths: ["f.txt"], accept: "working" });
    assert.equal(dropped.resolved[0].savedAs, "f.txt.orig");
    assert.equal(read(root2, "f.txt.orig"), MINE_TEXT);
    assert.equal(read(root2, "f.txt"), "one\ntwo-theirs\nthree\nfour\nFIVE-theirs and more\n");
  });

  test("mine-conflict/theirs-conflict keep the clean merges and take one side only where it conflicts", async (t) => {
    const base = "a\nb\nc\nd\ne\nf\ng\n";
    const mine = "a\nB-mine\nc\nd\ne\nf\nG-mine\n";
    const theirs = "a\nB-theirs\nc\nd\nE-theirs\nf\ng\n";
    for (const [accept, expected] of [
      ["mine-conflict", "a\nB-mine\nc\nd\nE-theirs\nf\nG-mine\n"],
      ["theirs-conflict", "a\nB-theirs\nc\nd\nE-theirs\nf\nG-mine\n"],
    ] as const) {
      const root = await makeCheckout(t, { "f.txt": { content: base } });
      await writeFile(join(root, "f.txt"), mine);
      await serverUpdate(root, { files: { "f.txt": theirs } });
      await run(root, { paths: ["f.txt"], accept });
      assert.equal(read(root, "f.txt"), expected, accept);
    }
  });

  test("--accept working is refused while markers remain (nothing changes); --force accepts it; an edited file is accepted", async (t) => {
    const root = await textConflict(t);
    const before = read(root, "f.txt");
    const entriesBefore = readFileSync(join(root, ".zsync/index"), "utf8");
    await assert.rejects(run(root, { paths: ["f.txt"], accept: "working" }), (e: unknown) => {
      assert.ok(e instanceof ResolveRefusedError);
      assert.equal(e.exitCode, 1);
      assert.match(e.message, /'f\.txt' still contains conflict markers \(line 1\).*--force/);
      return true;
    });
    assert.equal(read(root, "f.txt"), before);
    assert.equal(readFileSync(join(root, ".zsync/index"), "utf8"), entriesBefore);
    for (const a of ARTIFACTS) assert.ok(exists(root, a));

    const forced = await run(root, { paths: ["f.txt"], accept: "working", force: true });
    assert.equal(forced.resolved.length, 1);
    await assertResolved(root, before, "M ");

    const root2 = await textConflict(t);
    await writeFile(join(root2, "f.txt"), "hand merged\n");
    await run(root2, { paths: ["f.txt"], accept: "working" });
    await assertResolved(root2, "hand merged\n", "M ");
  });

  test("a missing working file: theirs-full writes it back; working leaves it missing", async (t) => {
    const root = await textConflict(t);
    await rm(join(root, "f.txt"));
    await run(root, { paths: ["f.txt"], accept: "theirs-full" });
    await assertResolved(root, THEIRS_TEXT, "= ");
  });

  test("paths: a folder resolves everything conflicted inside; a metadata file or an artifact names its object; others are 'not in conflict'", async (t) => {
    const root = await makeCheckout(t, { d: { content: null }, "d/a.txt": { content: "a\n" }, "d/b.txt": { content: "b\n" }, "c.txt": { content: "c\n" } });
    await writeFile(join(root, "d/a.txt"), "a mine\n");
    await writeFile(join(root, "d/b.txt"), "b mine\n");
    await serverUpdate(root, { files: { "d/a.txt": "a theirs\n", "d/b.txt": "b theirs\n" } });
    const r = await run(root, { paths: ["d", "c.txt", "nope"], accept: "theirs-full" });
    assert.deepEqual(r.resolved.map((x) => x.path), ["d/a.txt", "d/b.txt"]);
    assert.deepEqual(r.notInConflict, ["c.txt", "nope"]);
    assert.equal(read(root, "d/a.txt"), "a theirs\n");

    const root2 = await textConflict(t);
    const viaArtifact = await run(root2, { paths: ["f.txt.r2"], accept: "theirs-full" });
    assert.deepEqual(viaArtifact.resolved.map((x) => x.path), ["f.txt"]);
  });

  test("skipRefused resolves what it can and reports the rest; without it one refusal changes nothing", async (t) => {
    const root = await makeCheckout(t, { "a.txt": { content: "a\n" }, "b.bin": { content: Buffer.from([0, 1, 2]) } });
    await writeFile(join(root, "a.txt"), "a mine\n");
    await writeFile(join(root, "b.bin"), Buffer.from([0, 9, 9]));
    await serverUpdate(root, { files: { "a.txt": "a theirs\n", "b.bin": Buffer.from([0, 7, 7]) } });
    const all = readFileSync(join(root, ".zsync/index"), "utf8");
    await assert.rejects(run(root, { paths: [""], accept: "working" }), ResolveRefusedError);
    assert.equal(readFileSync(join(root, ".zsync/index"), "utf8"), all, "nothing changed");
    const r = await run(root, { paths: ["a.txt", "b.bin"], accept: "working", exact: true, skipRefused: true });
    assert.deepEqual(r.resolved.map((x) => x.path), ["b.bin"]);
    assert.deepEqual(r.refused.map((x) => x.path), ["a.txt"]);
    assert.deepEqual(r.remaining, ["a.txt"]);
  });
});

describe("per-hunk choices", () => {
  test("conflictHunks lists each region with mine/base/theirs; resolveHunks applies a choice per region", async (t) => {
    const root = await textConflict(t);
    const wc = await openWorkingCopy(root);
    const hunks = await conflictHunks(wc, "f.txt");
    assert.deepEqual(
      hunks.map((h) => [h.type, h.label, h.mine, h.base, h.theirs]),
      [
        ["text", "1", "ONE-mine\ntwo\n", "one\ntwo\n", "one\ntwo-theirs\n"],
        ["text", "2", "FIVE-mine\n", "five\n", "FIVE-theirs\n"],
      ],
    );
    const r = await withWorkingCopy(root, { lock: "resolve" }, (w) => resolveHunks(w, "f.txt", ["theirs", "both"]));
    assert.equal(r.resolved[0].accept, "hunks");
    await assertResolved(root, "one\ntwo-theirs\nthree\nfour\nFIVE-mine\nFIVE-theirs\n", "M ");
  });

  test("base for a region; too few choices are refused", async (t) => {
    const root = await textConflict(t);
    await assert.rejects(withWorkingCopy(root, { lock: "resolve" }, (w) => resolveHunks(w, "f.txt", ["mine"])), /2 conflicting regions need a choice each/);
    await withWorkingCopy(root, { lock: "resolve" }, (w) => resolveHunks(w, "f.txt", ["base", "mine"]));
    await assertResolved(root, "one\ntwo\nthree\nfour\nFIVE-mine\n", "M ");
  });

  test("both sides without a final newline are never glued together", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "a\nlast" } });
    await writeFile(join(root, "f.txt"), "a\nmine last");
    await serverUpdate(root, { files: { "f.txt": "a\ntheirs last" } });
    await withWorkingCopy(root, { lock: "resolve" }, (w) => resolveHunks(w, "f.txt", ["both"]));
    assert.equal(read(root, "f.txt"), "a\nmine last\ntheirs last");
  });

  test("CRLF files keep their line endings", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "a\r\nb\r\nc\r\n" } });
    await writeFile(join(root, "f.txt"), "a\r\nB1\r\nc\r\n");
    await serverUpdate(root, { files: { "f.txt": "a\r\nB2\r\nc\r\n" } });
    await withWorkingCopy(root, { lock: "resolve" }, (w) => resolveHunks(w, "f.txt", ["both"]));
    assert.equal(read(root, "f.txt"), "a\r\nB1\r\nB2\r\nc\r\n");
  });
});

describe("binary conflicts", () => {
  const base = Buffer.from([0, 1, 2, 3]);
  const mine = Buffer.from([0, 1, 2, 4]);
  const theirs = Buffer.from([0, 1, 2, 5]);
  const cases: [Accept, Buffer][] = [
    ["base", base],
    ["working", mine],
    ["mine-full", mine],
    ["mine-conflict", mine],
    ["theirs-full", theirs],
    ["theirs-conflict", theirs],
  ];
  for (const [accept, expected] of cases) {
    test(`--accept ${accept}`, async (t) => {
      const root = await makeCheckout(t, { "b.bin": { content: base } });
      await writeFile(join(root, "b.bin"), mine);
      const up = await serverUpdate(root, { files: { "b.bin": theirs } });
      assert.equal(up.lines[0].content, "C");
      const entry = (await loadEntries(root)).entries.get("b.bin")!;
      assert.equal(entry.conflict?.kind, "binary");
      await run(root, { paths: ["b.bin"], accept });
      assert.deepEqual(readFileSync(join(root, "b.bin")), expected);
      for (const a of entry.conflict!.artifacts) assert.equal(exists(root, a), false);
      assert.equal((await letters(root))["b.bin"], expected.equals(theirs) ? "= " : "M ");
      // Whenever the result is not mine, mine (the file before the update) is kept as b.bin.orig.
      if (expected.equals(mine)) assert.equal(exists(root, "b.bin.orig"), false);
      else assert.deepEqual(readFileSync(join(root, "b.bin.orig")), mine, "no byte of mine lost");
    });
  }

  test("per-hunk choices do not apply to binary files", async (t) => {
    const root = await makeCheckout(t, { "b.bin": { content: base } });
    await writeFile(join(root, "b.bin"), mine);
    await serverUpdate(root, { files: { "b.bin": theirs } });
    await assert.rejects(withWorkingCopy(root, { lock: "resolve" }, (w) => resolveHunks(w, "b.bin", [])), /binary/);
  });
});

describe("metadata conflicts, key by key", () => {
  const baseMeta: ObjectMeta = { contentType: "text/plain", extra: { title: "Base", color: "red", keep: 1 } };
  const mineMeta: ObjectMeta = { contentType: "text/plain", extra: { title: "Mine", color: "red", keep: 1, mineOnly: true } };
  const theirsMeta: ObjectMeta = { contentType: "text/markdown", extra: { title: "Theirs", color: "blue", keep: 1 } };

  async function metaConflict(t: T): Promise<string> {
    const root = await makeCheckout(t, { "f.txt": { content: "x\n", meta: baseMeta } });
    await writeFile(join(root, metaFileOf("f.txt")), formatMeta(mineMeta));
    const up = await serverUpdate(root, { meta: { "f.txt": theirsMeta } });
    assert.equal(up.lines[0].meta, "C");
    assert.match(read(root, "@@meta/f.txt.json"), /@@conflict/);
    return root;
  }
  const metaOf = (root: string) => JSON.parse(read(root, "@@meta/f.txt.json"));

  const cases: [Accept, ObjectMeta][] = [
    // Only extra.title conflicts: contentType and color changed on the server only, mineOnly locally only.
    ["base", { contentType: "text/markdown", extra: { title: "Base", color: "blue", keep: 1, mineOnly: true } }],
    ["mine-full", { contentType: "text/markdown", extra: { title: "Mine", color: "blue", keep: 1, mineOnly: true } }],
    ["mine-conflict", { contentType: "text/markdown", extra: { title: "Mine", color: "blue", keep: 1, mineOnly: true } }],
    ["theirs-full", { contentType: "text/markdown", extra: { title: "Theirs", color: "blue", keep: 1, mineOnly: true } }],
    ["theirs-conflict", { contentType: "text/markdown", extra: { title: "Theirs", color: "blue", keep: 1, mineOnly: true } }],
  ];
  for (const [accept, expected] of cases) {
    test(`--accept ${accept}`, async (t) => {
      const root = await metaConflict(t);
      const r = await run(root, { paths: ["f.txt"], accept });
      assert.deepEqual(r.resolved[0].metaKeys, ["extra.title"]);
      assert.deepEqual(metaOf(root), expected);
      assert.equal((await loadEntries(root)).entries.get("f.txt")!.conflict, undefined);
      assert.equal((await letters(root))["f.txt"], "=M");
      // A choice that drops mine's value of a conflicting key keeps mine's metadata as .orig.
      if (accept.startsWith("mine")) assert.equal(exists(root, "@@meta/f.txt.json.orig"), false);
      else {
        assert.equal(r.resolved[0].metaSavedAs, "@@meta/f.txt.json.orig");
        assert.equal(read(root, "@@meta/f.txt.json.orig"), formatMeta(mineMeta));
      }
    });
  }

  test("a hand-edited metadata file that the choice replaces is kept too", async (t) => {
    const root = await metaConflict(t);
    const edited = metaOf(root);
    edited.extra.title = { "@@conflict": { mine: "Mine, edited" } };
    await writeFile(join(root, "@@meta/f.txt.json"), JSON.stringify(edited));
    const r = await run(root, { paths: ["f.txt"], accept: "mine-full" });
    assert.equal(metaOf(root).extra.title, "Mine");
    assert.equal(r.resolved[0].metaSavedAs, "@@meta/f.txt.json.orig");
    assert.equal(read(root, "@@meta/f.txt.json.orig"), JSON.stringify(edited));
  });

  test("--accept working is refused while an @@conflict object remains, even with --force; after editing it is accepted", async (t) => {
    const root = await metaConflict(t);
    await assert.rejects(run(root, { paths: ["@@meta/f.txt.json"], accept: "working", force: true }), /still holds "@@conflict" objects in extra\.title.*cannot be committed/s);
    const edited = metaOf(root);
    edited.extra.title = "By hand";
    await writeFile(join(root, "@@meta/f.txt.json"), JSON.stringify(edited));
    const r = await run(root, { paths: ["f.txt"], accept: "working" });
    assert.equal(metaOf(root).extra.title, "By hand");
    assert.equal((await letters(root))["f.txt"], "=M");
    assert.equal(r.resolved[0].metaSavedAs, "@@meta/f.txt.json.orig", "mine's title is in no file any more: kept");
    assert.equal(read(root, "@@meta/f.txt.json.orig"), formatMeta(mineMeta));
  });

  test("per key: conflictHunks lists the keys with their JSON values; resolveHunks picks per key", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "x\n", meta: baseMeta } });
    await writeFile(join(root, metaFileOf("f.txt")), formatMeta({ contentType: "text/html", extra: { title: "Mine", color: "red", keep: 1 } }));
    await serverUpdate(root, { meta: { "f.txt": theirsMeta } });
    const wc = await openWorkingCopy(root);
    const hunks = await conflictHunks(wc, "f.txt");
    assert.deepEqual(
      hunks.map((h) => [h.type, h.label, h.mine, h.base, h.theirs, h.choices.join()]),
      [
        ["meta", "contentType", '"text/html"', '"text/plain"', '"text/markdown"', "mine,theirs,base"],
        ["meta", "extra.title", '"Mine"', '"Base"', '"Theirs"', "mine,theirs,base"],
      ],
    );
    await withWorkingCopy(root, { lock: "resolve" }, (w) => resolveHunks(w, "f.txt", ["theirs", "base"]));
    assert.deepEqual(metaOf(root), { contentType: "text/markdown", extra: { title: "Base", color: "blue", keep: 1 } });
  });

  test("a key deleted on one side and changed on the other: choosing the deletion removes it", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "x\n", meta: { extra: { title: "Base" } } } });
    await writeFile(join(root, metaFileOf("f.txt")), formatMeta({ extra: { title: "Mine" } }));
    await serverUpdate(root, { meta: { "f.txt": {} } });
    await run(root, { paths: ["f.txt"], accept: "theirs-full" });
    assert.equal(exists(root, "@@meta/f.txt.json"), false, "no metadata left: no metadata file");
    assert.equal(read(root, "@@meta/f.txt.json.orig"), formatMeta({ extra: { title: "Mine" } }));
  });

  test("content and metadata in conflict together: the choice applies to both; working is refused for the metadata", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: BASE_TEXT, meta: baseMeta } });
    await writeFile(join(root, "f.txt"), MINE_TEXT);
    await writeFile(join(root, metaFileOf("f.txt")), formatMeta(mineMeta));
    await serverUpdate(root, { files: { "f.txt": THEIRS_TEXT }, meta: { "f.txt": theirsMeta } });
    assert.equal((await loadEntries(root)).entries.get("f.txt")!.conflict?.kind, "text");
    await writeFile(join(root, "f.txt"), "fixed by hand\n");
    await assert.rejects(run(root, { paths: ["f.txt"], accept: "working" }), /@@conflict/);
    const hunks = await conflictHunks(await openWorkingCopy(root), "f.txt");
    assert.deepEqual(hunks.map((h) => `${h.type}:${h.label}`), ["text:1", "text:2", "meta:extra.title"]);
    const conflictForm = read(root, "@@meta/f.txt.json");
    const r = await run(root, { paths: ["f.txt"], accept: "theirs-conflict" });
    assert.equal(read(root, "f.txt"), THEIRS_TEXT);
    assert.equal(metaOf(root).extra.title, "Theirs");
    // Mine, the hand edits and the metadata file holding mine's values are all kept.
    assert.equal(r.resolved[0].savedAs, "f.txt.orig");
    assert.equal(read(root, "f.txt.orig"), MINE_TEXT);
    assert.equal(read(root, "f.txt.orig.1"), "fixed by hand\n");
    assert.equal(r.resolved[0].metaSavedAs, "@@meta/f.txt.json.orig");
    assert.equal(read(root, "@@meta/f.txt.json.orig"), conflictForm);
    assert.deepEqual(await letters(root).then((l) => l["f.txt"]), "=M");
  });

  test("an unreadable metadata file at update time: theirs-full takes the server's, working needs valid JSON", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "x\n", meta: baseMeta } });
    await writeFile(join(root, metaFileOf("f.txt")), "{ not json");
    await serverUpdate(root, { meta: { "f.txt": theirsMeta } });
    const conflict = (await loadEntries(root)).entries.get("f.txt")!.conflict!;
    assert.equal(conflict.kind, "meta");
    await assert.rejects(run(root, { paths: ["f.txt"], accept: "working" }), /not valid JSON/);
    await assert.rejects(run(root, { paths: ["f.txt"], accept: "base" }), /only your metadata file/);
    const r = await run(root, { paths: ["f.txt"], accept: "theirs-full" });
    assert.deepEqual(metaOf(root), theirsMeta);
    assert.equal(r.resolved[0].metaSavedAs, "@@meta/f.txt.json.orig");
    assert.equal(read(root, "@@meta/f.txt.json.orig"), "{ not json", "the unreadable file was the user's: kept");
    for (const a of conflict.artifacts) assert.equal(exists(root, a), false);
    assert.equal((await letters(root))["f.txt"], "= ");
  });
});

describe("tree conflicts: keep yours, or take the server's with your bytes saved as .orig", () => {
  test("edited locally, deleted on the server: working keeps the file scheduled for addition", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "a\n", meta: { extra: { title: "F" } } } });
    await writeFile(join(root, "f.txt"), "a\nmine\n");
    await serverUpdate(root, { deleted: ["f.txt"] });
    assert.equal((await loadEntries(root)).entries.get("f.txt")!.conflict?.kind, "tree");
    const r = await run(root, { paths: ["f.txt"], accept: "working" });
    assert.equal(r.resolved[0].savedAs, undefined);
    assert.equal(read(root, "f.txt"), "a\nmine\n");
    assert.equal((await letters(root))["f.txt"], "A ");
  });

  test("edited locally, deleted on the server: theirs-full accepts the deletion, the file and its metadata are kept as .orig", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "a\n", meta: { extra: { title: "F" } } } });
    await writeFile(join(root, "f.txt"), "a\nmine\n");
    const metaBytes = read(root, "@@meta/f.txt.json");
    await writeFile(join(root, "f.txt.orig"), "taken");
    await serverUpdate(root, { deleted: ["f.txt"] });
    const r = await run(root, { paths: ["f.txt"], accept: "theirs-full" });
    assert.equal(r.resolved[0].savedAs, "f.txt.orig.1", "an existing .orig is never overwritten");
    assert.equal(r.resolved[0].metaSavedAs, "@@meta/f.txt.json.orig");
    assert.equal(exists(root, "f.txt"), false);
    assert.equal(read(root, "f.txt.orig.1"), "a\nmine\n", "no byte lost");
    assert.equal(read(root, "f.txt.orig"), "taken");
    assert.equal(read(root, "@@meta/f.txt.json.orig"), metaBytes);
    assert.equal(exists(root, "@@meta/f.txt.json"), false);
    assert.equal((await loadEntries(root)).entries.has("f.txt"), false);
    const l = await letters(root);
    assert.equal(l["f.txt"], undefined);
    assert.equal(l["f.txt.orig.1"], "? ");
  });

  test("removed locally (kept on disk, edited), changed on the server: working keeps the removal", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "a\n" } });
    await withWorkingCopy(root, { lock: "rm" }, (wc) => remove(wc, { paths: ["f.txt"], keepLocal: true }));
    await writeFile(join(root, "f.txt"), "a\nstill mine\n");
    await serverUpdate(root, { files: { "f.txt": "a\ntheirs\n" } });
    assert.ok(exists(root, "f.txt.r2"));
    await run(root, { paths: ["f.txt"], accept: "mine-full" });
    assert.equal(exists(root, "f.txt.r2"), false);
    assert.equal(read(root, "f.txt"), "a\nstill mine\n");
    const entry = (await loadEntries(root)).entries.get("f.txt")!;
    assert.equal(entry.schedule, "removed");
    assert.equal(entry.revision, 2, "the removal is now based on the server's latest version");
    assert.equal((await letters(root))["f.txt"], "R ");
  });

  test("removed locally (kept on disk, edited), changed on the server: theirs-full restores the server's file, yours saved as .orig", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "a\n", meta: { extra: { title: "F" } } } });
    await withWorkingCopy(root, { lock: "rm" }, (wc) => remove(wc, { paths: ["f.txt"], keepLocal: true }));
    await writeFile(join(root, "f.txt"), "a\nstill mine\n");
    await serverUpdate(root, { files: { "f.txt": "a\ntheirs\n" } });
    const r = await run(root, { paths: ["f.txt"], accept: "theirs-conflict" });
    assert.equal(r.resolved[0].savedAs, "f.txt.orig");
    assert.equal(read(root, "f.txt.orig"), "a\nstill mine\n");
    assert.equal(read(root, "f.txt"), "a\ntheirs\n");
    assert.deepEqual(JSON.parse(read(root, "@@meta/f.txt.json")), { extra: { title: "F" } });
    assert.equal((await loadEntries(root)).entries.get("f.txt")!.schedule, undefined);
    assert.equal((await letters(root))["f.txt"], "= ");
  });

  test("removed locally (file deleted), changed on the server: theirs-full brings the file back, nothing to save", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "a\n" } });
    await withWorkingCopy(root, { lock: "rm" }, (wc) => remove(wc, { paths: ["f.txt"] }));
    await serverUpdate(root, { files: { "f.txt": "a\ntheirs\n" } });
    const r = await run(root, { paths: ["f.txt"], accept: "theirs-full" });
    assert.equal(r.resolved[0].savedAs, undefined);
    assert.equal(read(root, "f.txt"), "a\ntheirs\n");
    assert.equal((await letters(root))["f.txt"], "= ");
  });

  test("obstructed by an unversioned file: working keeps it as a modification; theirs-full takes the server's, yours as .orig", async (t) => {
    for (const accept of ["working", "theirs-full"] as const) {
      const root = await makeCheckout(t, {});
      await writeFile(join(root, "new.txt"), "my unversioned file\n");
      await serverUpdate(root, { files: { "new.txt": "the server's new file\n" } });
      assert.match((await loadEntries(root)).entries.get("new.txt")!.conflict?.reason ?? "", /obstructed/);
      const r = await run(root, { paths: ["new.txt"], accept });
      assert.equal(exists(root, "new.txt.r2"), false);
      if (accept === "working") {
        assert.equal(read(root, "new.txt"), "my unversioned file\n");
        assert.equal((await letters(root))["new.txt"], "M ");
      } else {
        assert.equal(r.resolved[0].savedAs, "new.txt.orig");
        assert.equal(read(root, "new.txt.orig"), "my unversioned file\n");
        assert.equal(read(root, "new.txt"), "the server's new file\n");
        assert.equal((await letters(root))["new.txt"], "= ");
      }
    }
  });

  test("folder deleted on the server while holding local changes: working keeps it all scheduled for addition", async (t) => {
    const root = await makeCheckout(t, { d: { content: null, meta: { extra: { title: "D" } } }, "d/a.txt": { content: "a\n" }, "d/b.txt": { content: "b\n" } });
    await writeFile(join(root, "d/a.txt"), "a mine\n");
    await serverUpdate(root, { deleted: ["d"] });
    assert.equal((await loadEntries(root)).entries.get("d")!.conflict?.kind, "tree");
    await run(root, { paths: ["d"], accept: "working" });
    const l = await letters(root);
    assert.equal(l["d"], "A ");
    assert.equal(l["d/a.txt"], "A ");
    assert.equal(read(root, "d/a.txt"), "a mine\n");
  });

  test("folder deleted on the server while holding local changes: theirs-full moves everything to DIR.orig/, entries go", async (t) => {
    const root = await makeCheckout(t, { d: { content: null, meta: { extra: { title: "D" } } }, "d/a.txt": { content: "a\n", meta: { extra: { title: "A" } } }, "d/sub": { content: null }, "d/sub/c.txt": { content: "c\n" } });
    await writeFile(join(root, "d/a.txt"), "a mine\n");
    await writeFile(join(root, "d/sub/unversioned.txt"), "mine only\n");
    await writeFile(join(root, "d/a.txt~"), "editor backup\n");
    const before = new Map(["d/a.txt", "d/sub/c.txt", "d/sub/unversioned.txt", "d/a.txt~", "d/@@meta/a.txt.json"].map((p) => [p, read(root, p)]));
    await serverUpdate(root, { deleted: ["d"] });
    const r = await run(root, { paths: ["d"], accept: "theirs-full" });
    assert.equal(r.resolved[0].savedAs, "d.orig");
    assert.equal(r.resolved[0].metaSavedAs, "@@meta/d.json.orig");
    for (const [p, bytes] of before) assert.equal(read(root, p.replace(/^d\//, "d.orig/")), bytes, `${p} kept in d.orig/`);
    assert.equal(exists(root, "d"), false);
    const entries = (await loadEntries(root)).entries;
    assert.deepEqual([...entries.keys()].filter((p) => p.startsWith("d")), []);
    assert.deepEqual(Object.entries(await letters(root)).filter(([p]) => p.startsWith("d")), [["d.orig", "? "]]);
  });

  test("a file the server replaced by a folder: theirs-full saves it as .orig, the next update brings the folder", async (t) => {
    const root = await makeCheckout(t, { x: { content: "x\n" } });
    await writeFile(join(root, "x"), "x mine\n");
    const up = await serverUpdate(root, { files: { x: null } });
    assert.equal(up.lines[0].content, "C");
    const r = await run(root, { paths: ["x"], accept: "theirs-full" });
    assert.equal(read(root, "x.orig"), "x mine\n");
    assert.match(r.resolved[0].note ?? "", /zsync update/);
    const again = await serverUpdate(root, { files: { x: null } }, 3);
    assert.equal(again.conflicts, 0);
    assert.equal((await loadEntries(root)).entries.get("x")!.kind, "folder");
  });

  test("a folder the server replaced by a file: theirs-full moves it to DIR.orig/, the next update brings the file", async (t) => {
    const root = await makeCheckout(t, { d: { content: null }, "d/a.txt": { content: "a\n" } });
    await writeFile(join(root, "d/a.txt"), "a mine\n");
    const up = await serverUpdate(root, { files: { d: "now a file\n" } });
    assert.equal(up.lines[0].content, "C");
    assert.match((await loadEntries(root)).entries.get("d")!.conflict?.reason ?? "", /replaced on the server by a file/);
    const r = await run(root, { paths: ["d"], accept: "theirs-full" });
    assert.equal(r.resolved[0].savedAs, "d.orig");
    assert.equal(read(root, "d.orig/a.txt"), "a mine\n");
    assert.equal((await loadEntries(root)).entries.has("d/a.txt"), false);
    const again = await serverUpdate(root, { files: { d: "now a file\n" } }, 3);
    assert.equal(again.conflicts, 0);
    assert.equal(read(root, "d"), "now a file\n");
  });

  test("--accept base does not apply to a tree conflict", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "a\n" } });
    await writeFile(join(root, "f.txt"), "a\nmine\n");
    await serverUpdate(root, { deleted: ["f.txt"] });
    await assert.rejects(run(root, { paths: ["f.txt"], accept: "base" }), /--accept base does not apply/);
  });
});

describe("helpers", () => {
  test("markerLine finds each kind of marker line and nothing else", () => {
    assert.equal(markerLine("a\n<<<<<<< .mine\n"), 2);
    assert.equal(markerLine("a\nb\n=======\n"), 3);
    assert.equal(markerLine(">>>>>>> .r3\r\n"), 1);
    assert.equal(markerLine("|||||||\n"), 1);
    assert.equal(markerLine("a <<<<<<< b\n========\n<<<<<<<<\n"), undefined);
  });

  test("conflictVersion reads base, mine, theirs and the working file", async (t) => {
    const root = await textConflict(t);
    const wc = await openWorkingCopy(root);
    assert.equal((await conflictVersion(wc, "f.txt", "base"))?.toString(), BASE_TEXT);
    assert.equal((await conflictVersion(wc, "f.txt", "mine"))?.toString(), MINE_TEXT);
    assert.equal((await conflictVersion(wc, "f.txt", "theirs"))?.toString(), THEIRS_TEXT);
    assert.match((await conflictVersion(wc, "f.txt", "working"))!.toString(), /<<<<<<</);
  });

  test("errors are WcErrors with exit code 1", async (t) => {
    const root = await textConflict(t);
    const e = await run(root, { paths: ["f.txt"], accept: "working" }).catch((x: unknown) => x);
    assert.ok(e instanceof WcError);
    assert.equal(e.code, "resolve-refused");
    assert.deepEqual(readdirSync(root).filter((n) => n.startsWith("f.txt")).sort(), ["f.txt", ...ARTIFACTS]);
  });
});
