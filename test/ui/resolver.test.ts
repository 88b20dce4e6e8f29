/**
 * The interactive resolver (src/ui/resolver.ts) driven through inquirer's input/output streams:
 * keystrokes go into a PassThrough, the prompts are read back from another. Conflicts come from
 * the real update engine on checkouts built in temp dirs. Covers the diff, per-hunk, edit,
 * merge-tool, postpone and quit paths, arrow-key navigation, and the binary, metadata and tree menus.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir as mkdirp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import type { SnarfRecord } from "../../src/protocol/snarf.js";
import type { EntryInfo, ObjectMeta } from "../../src/protocol/types.js";
import { runResolver, type ResolverOptions, type ResolverResult } from "../../src/ui/resolver.js";
import { applyRemote } from "../../src/wc/apply-remote.js";
import { adminPaths, FORMAT_VERSION, writeConfig } from "../../src/wc/admin.js";
import { loadEntries, saveEntries, type Entry } from "../../src/wc/entries.js";
import { formatMeta, metaFileOf } from "../../src/wc/meta-files.js";
import { storePristine } from "../../src/wc/pristine.js";
import { withWorkingCopy } from "../../src/wc/session.js";

type T = { after: (fn: () => Promise<void>) => void };
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

async function* once(bytes: Buffer) {
  yield bytes;
}

/** A checkout at revision 1 holding `files` (path → content, or {content, meta}). */
async function makeCheckout(t: T, files: Record<string, string | Buffer | { content: string; meta: ObjectMeta }>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "zsync-resolver-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdirp(adminPaths(root).pristine, { recursive: true });
  await writeFile(adminPaths(root).format, `${FORMAT_VERSION}\n`);
  await writeConfig(root, { origin: "http://127.0.0.1:9", path: "demo", repository: "11111111-2222-3333-4444-555555555555", depth: "infinity" });
  const entries = new Map<string, Entry>([["", { kind: "folder", revision: 1 }]]);
  for (const [path, spec] of Object.entries(files)) {
    const content = typeof spec === "object" && !Buffer.isBuffer(spec) ? spec.content : spec;
    const meta = typeof spec === "object" && !Buffer.isBuffer(spec) ? spec.meta : undefined;
    await writeFile(join(root, path), content);
    const stored = await storePristine(root, once(Buffer.from(content)));
    entries.set(path, { kind: "file", revision: 1, hash: stored.hash, size: stored.size, ...(meta ? { meta } : {}) });
    if (meta) {
      await mkdirp(join(root, "@@meta"), { recursive: true });
      await writeFile(join(root, metaFileOf(path)), formatMeta(meta));
    }
  }
  await saveEntries(root, { revision: 1, entries });
  return root;
}

/** The server's revision 2: new contents (and metadata) for some files, deletions for others. */
async function serverUpdate(root: string, files: Record<string, string | Buffer>, opts: { meta?: Record<string, ObjectMeta>; deleted?: string[] } = {}) {
  const current = (await loadEntries(root)).entries;
  const infos: EntryInfo[] = [];
  const bodies: [string, Buffer][] = [];
  for (const path of new Set([...Object.keys(files), ...Object.keys(opts.meta ?? {})])) {
    const bytes = path in files ? Buffer.from(files[path]) : readFileSync(join(root, ".zsync/pristine", current.get(path)!.hash!.slice(0, 2), current.get(path)!.hash!));
    const meta = opts.meta?.[path] ?? current.get(path)?.meta;
    bodies.push([path, bytes]);
    infos.push({ path, kind: "file", revision: 2, hash: sha256(bytes), size: bytes.length, ...(meta ? { meta } : {}) });
  }
  async function* records(): AsyncGenerator<SnarfRecord> {
    for (const [path, bytes] of bodies) yield { kind: "file", path, size: bytes.length, body: once(bytes) };
  }
  const manifest = { protocol: 1, root: "/demo", revision: 2, since: 1, entries: infos, deleted: opts.deleted ?? [] };
  return withWorkingCopy(root, { lock: "update" }, (wc) => applyRemote(wc, { manifest, records: records() }, { full: false, command: "update" }));
}

const BASE = "one\ntwo\nthree\nfour\nfive\n";
const MINE = "ONE-mine\ntwo\nthree\nfour\nFIVE-mine\n";
const THEIRS = "one\ntwo-theirs\nthree\nfour\nFIVE-theirs\n";

async function textConflict(t: T, extra: Record<string, string> = {}): Promise<string> {
  const root = await makeCheckout(t, { "f.txt": BASE, ...extra });
  await writeFile(join(root, "f.txt"), MINE);
  for (const path of Object.keys(extra)) await writeFile(join(root, path), `${path} mine\n`);
  const up = await serverUpdate(root, { "f.txt": THEIRS, ...Object.fromEntries(Object.keys(extra).map((p) => [p, `${p} theirs\n`])) });
  assert.equal(up.conflicts, 1 + Object.keys(extra).length);
  return root;
}

const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

/** A fake terminal: answers prompts as they appear, one at a time, and keeps the transcript. */
class Terminal {
  readonly input = new PassThrough();
  readonly output = new PassThrough();
  private raw = "";
  private mark = 0;
  private waiters: (() => void)[] = [];
  constructor() {
    this.output.on("data", (chunk) => {
      this.raw += chunk;
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  get text(): string {
    return strip(this.raw);
  }
  /** Waits until `re` matches the text after the last answer; a hang fails with the transcript. */
  private async waitFor(re: RegExp): Promise<RegExpExecArray> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = re.exec(this.text.slice(this.mark));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${re} in the resolver's output:\n${this.text}`);
      // A referenced timer: the prompt waiting for input keeps nothing else alive.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  /**
   * Waits for the prompt whose message matches `message`, types `keys`, and waits until it is
   * answered. Returns what was printed since the previous answer, this prompt included.
   */
  async answer(message: RegExp, keys: string | string[]): Promise<string> {
    const found = await this.waitFor(new RegExp(`\\? ${message.source}`));
    const shown = this.text.slice(this.mark);
    this.mark += found.index;
    // Separate chunks are separate keypresses, one event-loop turn apart.
    for (const chunk of typeof keys === "string" ? [keys] : keys) {
      this.input.write(chunk);
      await new Promise((r) => setImmediate(r));
    }
    const done = await this.waitFor(/[✔√][^\n]*\n/);
    this.mark += done.index + done[0].length;
    return shown;
  }
}

function driven(term: Terminal, env: NodeJS.ProcessEnv = {}): ResolverOptions {
  return { input: term.input, output: term.output, env: { PATH: process.env.PATH, ...env } };
}

async function resolver(root: string, paths: string[], term: Terminal, env?: NodeJS.ProcessEnv): Promise<ResolverResult> {
  return withWorkingCopy(root, { lock: "resolve" }, (wc) => runResolver(wc, paths, driven(term, env)));
}

const MENU = /Select for 'f\.txt':/;
const read = (root: string, path: string) => readFileSync(join(root, path), "utf8");

/** An executable script in a temp dir. */
async function script(t: T, body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "zsync-script-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "tool.sh");
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

describe("the interactive resolver", () => {
  test("diff: shows the conflicted file against theirs, and mine against theirs; postpone leaves everything as it was", async (t) => {
    const root = await textConflict(t);
    const before = read(root, "f.txt");
    const term = new Terminal();
    const run = resolver(root, ["f.txt"], term);
    const menu = await term.answer(MENU, "d\r");
    assert.match(menu, /d\) show diff[\s\S]*h\) choose per conflicting hunk[\s\S]*p\) postpone[\s\S]*q\) quit/);
    const working = await term.answer(MENU, "dm\r");
    assert.match(working, /^--- f\.txt \(working file\)$/m);
    assert.match(working, /^\+\+\+ f\.txt\.r2 \(theirs\)$/m);
    assert.match(working, /^-<<<<<<< \.mine$/m);
    const mine = await term.answer(MENU, "p\r");
    assert.match(mine, /^--- f\.txt\.mine \(mine\)$/m);
    assert.match(mine, /^-ONE-mine$/m);
    assert.match(mine, /^\+two-theirs$/m);
    assert.match(mine, /^\+FIVE-theirs$/m);
    const result = await run;
    assert.deepEqual(result.postponed, ["f.txt"]);
    assert.deepEqual(result.resolved, []);
    assert.equal(read(root, "f.txt"), before);
    assert.ok(existsSync(join(root, "f.txt.mine")));
    assert.ok((await loadEntries(root)).entries.get("f.txt")!.conflict);
  });

  test("per hunk: each conflicting region is shown with mine, base and theirs and takes the chosen side", async (t) => {
    const root = await textConflict(t);
    const term = new Terminal();
    const run = resolver(root, ["f.txt"], term);
    await term.answer(MENU, "h\r");
    const first = await term.answer(/Keep which side of conflict 1\?/, "m\r");
    assert.match(first, /Conflict 1 of 2:\n<<<<<<< mine\nONE-mine\ntwo\n\|\|\|\|\|\|\| base \.r1\none\ntwo\n=======\none\ntwo-theirs\n>>>>>>> theirs \.r2/);
    assert.match(first, /m\) mine[\s\S]*t\) theirs[\s\S]*mt\) both: mine, then theirs[\s\S]*b\) base/);
    await term.answer(/Keep which side of conflict 2\?/, "mt\r");
    const result = await run;
    assert.equal(read(root, "f.txt"), "ONE-mine\ntwo\nthree\nfour\nFIVE-mine\nFIVE-theirs\n");
    assert.deepEqual(result.resolved.map((r) => [r.path, r.accept]), [["f.txt", "hunks"]]);
    assert.deepEqual(result.postponed, []);
    assert.equal(existsSync(join(root, "f.txt.mine")), false);
    assert.equal(existsSync(join(root, "f.txt.orig")), false, "every line of mine is in the result: nothing to keep");
    assert.match(term.text, /Resolved conflicted state of 'f\.txt'/);
  });

  test("edit: $EDITOR edits the working file; mark resolved is refused while markers remain, accepted after the edit", async (t) => {
    const root = await textConflict(t);
    const editor = await script(t, `printf 'merged by hand\\n' > "$1"`);
    const term = new Terminal();
    const run = resolver(root, ["f.txt"], term, { EDITOR: editor });
    await term.answer(MENU, "r\r");
    const refused = await term.answer(MENU, "e\r");
    assert.match(refused, /Not resolved: 'f\.txt' still contains conflict markers \(line 1\)/);
    await term.answer(MENU, "r\r");
    const result = await run;
    assert.deepEqual(result.resolved.map((r) => [r.path, r.accept]), [["f.txt", "working"]]);
    assert.equal(read(root, "f.txt"), "merged by hand\n");
    assert.equal(read(root, "f.txt.orig"), MINE, "the edit dropped mine's lines: mine is kept as .orig");
    assert.match(term.text, /Resolved conflicted state of 'f\.txt' \(your version saved as f\.txt\.orig\)/);
    assert.equal((await loadEntries(root)).entries.get("f.txt")!.conflict, undefined);
  });

  test("arrow keys move through the menu (the first ↓ selects d, two more reach e, Enter takes it)", async (t) => {
    const root = await textConflict(t);
    const editor = await script(t, `printf 'via arrows\\n' > "$1"`);
    const term = new Terminal();
    const run = resolver(root, ["f.txt"], term, { EDITOR: editor });
    // The first arrow selects the first choice, each next one moves down.
    await term.answer(MENU, ["\x1b[B", "\x1b[B", "\x1b[B", "\r"]);
    await term.answer(MENU, "p\r");
    await run;
    assert.equal(read(root, "f.txt"), "via arrows\n");
  });

  test("merge tool: run with BASE MINE THEIRS MERGED; exit 0 without markers offers to mark resolved", async (t) => {
    const root = await textConflict(t);
    const log = join(root, "..", `tool-args-${process.pid}-${Date.now()}`);
    t.after(() => rm(log, { force: true }));
    const tool = await script(t, `cat "$1" "$2" "$3" > "${log}"; cat "$3" > "$4"`);
    const term = new Terminal();
    const run = resolver(root, ["f.txt"], term, { ZSYNC_MERGE_TOOL: tool });
    await term.answer(MENU, "l\r");
    await term.answer(/The merge tool finished\. Mark 'f\.txt' resolved\?/, "y\r");
    const result = await run;
    assert.equal(read(root, "f.txt"), THEIRS);
    assert.equal(read(root, "f.txt.orig"), MINE, "the tool's result dropped mine's lines: mine is kept");
    assert.equal(readFileSync(log, "utf8"), BASE + MINE + THEIRS, "BASE, MINE and THEIRS were given in that order");
    assert.deepEqual(result.resolved.map((r) => r.accept), ["working"]);
    assert.deepEqual(readdirSync(join(root, ".zsync/tmp")).filter((n) => n.startsWith("merge-")), [], "temp files cleaned");
  });

  test("merge tool: without ZSYNC_MERGE_TOOL it says how to set one; a failing tool leaves the conflict", async (t) => {
    const root = await textConflict(t);
    const term = new Terminal();
    const failing = await script(t, "exit 3");
    const run = resolver(root, ["f.txt"], term);
    await term.answer(MENU, "l\r");
    assert.match(await term.answer(MENU, "p\r"), /set ZSYNC_MERGE_TOOL/);
    await run;
    const term2 = new Terminal();
    const run2 = resolver(root, ["f.txt"], term2, { ZSYNC_MERGE_TOOL: failing });
    await term2.answer(MENU, "l\r");
    assert.match(await term2.answer(MENU, "p\r"), /exited with 3; 'f\.txt' stays in conflict/);
    assert.deepEqual((await run2).postponed, ["f.txt"]);
  });

  test("mine/theirs for all conflicts, whole files, and quit (postpones the rest)", async (t) => {
    const root = await textConflict(t, { "g.txt": "g\n", "h.txt": "h\n" });
    const term = new Terminal();
    const run = resolver(root, ["f.txt", "g.txt", "h.txt"], term);
    await term.answer(MENU, "tc\r");
    await term.answer(/Select for 'g\.txt':/, "mf\r");
    await term.answer(/Select for 'h\.txt':/, "q\r");
    const result = await run;
    assert.equal(read(root, "f.txt"), THEIRS);
    assert.equal(read(root, "f.txt.orig"), MINE, "theirs for every conflict: mine kept as .orig");
    assert.equal(read(root, "g.txt"), "g.txt mine\n");
    assert.equal(existsSync(join(root, "g.txt.orig")), false);
    assert.deepEqual(result.resolved.map((r) => [r.path, r.accept]), [["f.txt", "theirs-conflict"], ["g.txt", "mine-full"]]);
    assert.deepEqual(result.postponed, ["h.txt"]);
  });

  test("binary conflicts offer only whole-file choices", async (t) => {
    const root = await makeCheckout(t, { "b.bin": Buffer.from([0, 1, 2]) });
    await writeFile(join(root, "b.bin"), Buffer.from([0, 1, 3]));
    await serverUpdate(root, { "b.bin": Buffer.from([0, 1, 4]) });
    const term = new Terminal();
    const run = resolver(root, ["b.bin"], term);
    const menu = await term.answer(/Select for 'b\.bin':/, "tf\r");
    assert.match(menu, /mf\) mine[\s\S]*tf\) theirs[\s\S]*r\) mark resolved[\s\S]*p\) postpone/);
    assert.doesNotMatch(menu, /\bh\)|\be\)|show diff/);
    await run;
    assert.deepEqual(readFileSync(join(root, "b.bin")), Buffer.from([0, 1, 4]));
    assert.deepEqual(readFileSync(join(root, "b.bin.orig")), Buffer.from([0, 1, 3]), "mine kept as .orig");
  });

  test("metadata conflicts: the conflicting keys are shown and chosen per key", async (t) => {
    const root = await makeCheckout(t, { "f.txt": { content: "x\n", meta: { contentType: "text/plain", extra: { title: "Base" } } } });
    await writeFile(join(root, metaFileOf("f.txt")), formatMeta({ contentType: "text/html", extra: { title: "Mine" } }));
    await serverUpdate(root, {}, { meta: { "f.txt": { contentType: "text/markdown", extra: { title: "Theirs" } } } });
    const term = new Terminal();
    const run = resolver(root, ["f.txt"], term);
    const menu = await term.answer(MENU, "d\r");
    assert.doesNotMatch(menu, /mf\)|launch the merge tool/);
    const keys = await term.answer(MENU, "h\r");
    assert.match(keys, /Metadata key contentType \(1 of 2\):\n {2}mine: {3}"text\/html"\n {2}base: {3}"text\/plain"\n {2}theirs: "text\/markdown"/);
    await term.answer(/Keep which side of contentType\?/, "t\r");
    await term.answer(/Keep which side of extra\.title\?/, "m\r");
    await run;
    assert.deepEqual(JSON.parse(read(root, "@@meta/f.txt.json")), { contentType: "text/markdown", extra: { title: "Mine" } });
    assert.deepEqual(JSON.parse(read(root, "@@meta/f.txt.json.orig")), { contentType: "text/html", extra: { title: "Mine" } }, "mine's contentType was dropped: mine kept");
  });

  test("tree conflicts: the menu names both sides; theirs saves your file as .orig", async (t) => {
    const root = await makeCheckout(t, { "f.txt": "a\n" });
    await writeFile(join(root, "f.txt"), "a\nmine\n");
    await serverUpdate(root, {}, { deleted: ["f.txt"] });
    const term = new Terminal();
    const run = resolver(root, ["f.txt"], term);
    const menu = await term.answer(MENU, "tf\r");
    assert.match(menu, /tree conflict: edited locally, deleted on the server/);
    assert.match(menu, /mf\) mine: keep your file[\s\S]*tf\) theirs: accept the deletion/);
    const result = await run;
    assert.equal(result.resolved[0].savedAs, "f.txt.orig");
    assert.equal(read(root, "f.txt.orig"), "a\nmine\n");
    assert.equal(existsSync(join(root, "f.txt")), false);
  });

  test("Ctrl-C postpones what is left", async (t) => {
    const root = await textConflict(t);
    const term = new Terminal();
    const run = resolver(root, ["f.txt"], term);
    await new Promise((r) => setImmediate(r));
    term.input.write("\x03");
    const result = await run;
    assert.deepEqual(result.postponed, ["f.txt"]);
  });
});
