/**
 * `zsync resolve` and `zsync update --accept` end to end: the built binary against a real
 * zsync-server. Every case makes a real conflict (a local edit, another user's commit, `zsync
 * update` → `C` with markers and artifacts), resolves it, checks the exact bytes, the artifacts
 * and status, then commits and checks what the server holds. The interactive resolver runs
 * under a pseudo-terminal (node-pty), as a user at a terminal would see it.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as pty from "node-pty";
import { cliEnv, zsync, zsyncJson } from "../helpers/cli.js";
import { checkoutInProcess, Remote, run, statusOf, type Content } from "../helpers/scenario.js";
import { CLIENT_BIN, startServer, type TestServer } from "../helpers/server.js";

let server: TestServer;
let remote: Remote;
let counter = 0;
const made: string[] = [];

before(async () => {
  server = await startServer({ demo: false });
  remote = new Remote(server);
});
after(async () => {
  await server.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const BASE = "a\nb\nc\nd\ne\nf\ng\n";
const MINE = "a\nB-mine\nc\nd\ne\nf\nG-mine\n";
const THEIRS = "a\nB-theirs\nc\nd\nE-theirs\nf\ng\n";
/** What each choice leaves in f.txt: region b conflicts, e (theirs) and g (mine) merge cleanly. */
const EXPECTED = {
  base: BASE,
  "mine-full": MINE,
  "theirs-full": THEIRS,
  "mine-conflict": "a\nB-mine\nc\nd\nE-theirs\nf\nG-mine\n",
  "theirs-conflict": "a\nB-theirs\nc\nd\nE-theirs\nf\nG-mine\n",
} as const;
/** The choices whose result drops some of MINE's lines: MINE is then kept as f.txt.orig. */
const KEEPS_MINE = new Set(["base", "theirs-full", "theirs-conflict"]);

interface Case {
  folder: string;
  dir: string;
  /** The revision of the other user's change (the `.rN` label of THEIRS). */
  theirsRev: number;
  baseRev: number;
  read(path: string): string | undefined;
  write(path: string, content: Content): void;
  /** The server's current bytes of `path` in the folder. */
  serverFile(path: string): Promise<string>;
}

/** A folder with `tree` on the server, checked out, with `local` edits and the other user's `remoteEdit` committed meanwhile. */
async function setup(tree: Record<string, Content | null>, meta: Parameters<Remote["createFolder"]>[2] = {}): Promise<Case> {
  const folder = `resolve${++counter}`;
  const baseRev = await remote.createFolder(folder, { "other.txt": "other\n", ...tree }, meta);
  const dir = await checkoutInProcess(remote, folder, "zsync-resolve-");
  made.push(join(dir, ".."));
  return {
    folder,
    dir,
    baseRev,
    theirsRev: baseRev,
    read: (path) => (existsSync(join(dir, path)) ? readFileSync(join(dir, path), "utf8") : undefined),
    write: (path, content) => writeFileSync(join(dir, path), content),
    async serverFile(path) {
      const chunks: Buffer[] = [];
      for await (const chunk of await remote.client.cat(`${folder}/${path}`)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
  };
}

/** The standard text conflict: f.txt edited here and by the other user; `zsync update` reports C. */
async function textConflict(): Promise<Case> {
  const c = await setup({ "f.txt": BASE });
  c.write("f.txt", MINE);
  c.theirsRev = await remote.change(c.folder, { modify: { "f.txt": THEIRS } });
  const up = await zsync(["update"], { cwd: c.dir });
  assert.equal(up.code, 1, up.stderr);
  assert.match(up.stdout, /^C  f\.txt/m);
  assert.equal(
    c.read("f.txt"),
    `a\n<<<<<<< .mine\nB-mine\n||||||| .r${c.baseRev}\nb\n=======\nB-theirs\n>>>>>>> .r${c.theirsRev}\nc\nd\nE-theirs\nf\nG-mine\n`,
  );
  for (const a of artifacts(c)) assert.ok(existsSync(join(c.dir, a)), a);
  return c;
}

const artifacts = (c: Case) => ["f.txt.mine", `f.txt.r${c.baseRev}`, `f.txt.r${c.theirsRev}`];

/** Status letters of the paths that have any (`{"f.txt": "M "}`). */
async function letters(dir: string): Promise<Record<string, string>> {
  const st = await statusOf(dir);
  return Object.fromEntries(st.items.map((i) => [i.path, i.status + (i.meta === "modified" ? "M" : i.meta === "conflict" ? "C" : " ")]));
}

interface ResolveJson {
  resolved: { path: string; accept: string; removedArtifacts: string[]; savedAs: string | null; metaSavedAs: string | null }[];
  remaining: string[];
  notInConflict: string[];
}

describe("zsync resolve --accept: each choice gives the expected file, and the commit succeeds", { concurrency: 3 }, () => {
  for (const [accept, expected] of Object.entries(EXPECTED)) {
    test(`--accept ${accept}`, async () => {
      const c = await textConflict();
      const r = await zsyncJson<ResolveJson>(["resolve", "--accept", accept, "f.txt"], { cwd: c.dir });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.json.resolved.map((x) => [x.path, x.accept, [...x.removedArtifacts].sort()]), [["f.txt", accept, artifacts(c).sort()]]);
      assert.deepEqual(r.json.remaining, []);
      assert.equal(c.read("f.txt"), expected);
      for (const a of artifacts(c)) assert.equal(existsSync(join(c.dir, a)), false, `${a} removed`);
      // Never a lost byte: when the result drops some of mine's lines, mine stays as f.txt.orig.
      const orig: Record<string, string> = KEEPS_MINE.has(accept) ? { "f.txt.orig": "? " } : {};
      assert.equal(r.json.resolved[0].savedAs, KEEPS_MINE.has(accept) ? "f.txt.orig" : null);
      assert.equal(c.read("f.txt.orig"), KEEPS_MINE.has(accept) ? MINE : undefined);
      assert.deepEqual(await letters(c.dir), expected === THEIRS ? orig : { "f.txt": "M ", ...orig });
      const ci = await zsync(["commit", "-m", `resolved with ${accept}`], { cwd: c.dir });
      assert.equal(ci.code, 0, ci.stderr);
      assert.equal(await c.serverFile("f.txt"), expected);
      assert.deepEqual(await letters(c.dir), orig);
    });
  }

  test("--accept working: refused while markers remain (exit 1, nothing changed), accepted once edited", async () => {
    const c = await textConflict();
    const conflicted = c.read("f.txt");
    const refused = await zsync(["resolve", "--accept", "working", "f.txt"], { cwd: c.dir });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /'f\.txt' still contains conflict markers \(line 2\).*--force/);
    assert.equal(c.read("f.txt"), conflicted);
    for (const a of artifacts(c)) assert.ok(existsSync(join(c.dir, a)));
    assert.equal((await letters(c.dir))["f.txt"], "C ");
    // svn's `resolved` is `resolve --accept working`: refused the same way.
    assert.equal((await zsync(["resolved", "f.txt"], { cwd: c.dir })).code, 1);

    c.write("f.txt", "a\nmerged by hand\n");
    const ok = await zsyncJson<ResolveJson>(["resolve", "--accept", "working", "f.txt"], { cwd: c.dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(c.read("f.txt"), "a\nmerged by hand\n");
    for (const a of artifacts(c)) assert.equal(existsSync(join(c.dir, a)), false);
    assert.equal(c.read("f.txt.orig"), MINE, "the hand merge dropped mine's lines: mine is kept");
    await run(["commit", "-m", "by hand"], c.dir);
    assert.equal(await c.serverFile("f.txt"), "a\nmerged by hand\n");
  });

  test("--accept working --force marks a file with markers resolved (the markers are then yours to commit)", async () => {
    const c = await textConflict();
    const conflicted = c.read("f.txt");
    const r = await zsync(["resolve", "--accept", "working", "--force", "f.txt"], { cwd: c.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Resolved conflicted state of 'f\.txt'/);
    assert.equal(c.read("f.txt"), conflicted);
    assert.deepEqual(await letters(c.dir), { "f.txt": "M " }, "the markers hold every line of mine: no .orig");
  });
});

describe("zsync resolve: paths, output, errors", { concurrency: 3 }, () => {
  test("without a terminal and without --accept: a usage error that names --accept (exit 2), nothing changes", async () => {
    const c = await textConflict();
    for (const args of [["resolve"], ["resolve", "f.txt"]]) {
      const r = await zsync(args, { cwd: c.dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--accept/);
    }
    const j = await zsyncJson<{ error: { code: string } }>(["resolve"], { cwd: c.dir });
    assert.equal(j.json.error.code, "accept-needed");
    assert.equal((await letters(c.dir))["f.txt"], "C ");
  });

  test("a path not in conflict is reported without error (exit 0); conflicts elsewhere are left alone", async () => {
    const c = await textConflict();
    const notIn = await zsyncJson<ResolveJson>(["resolve", "--accept", "theirs-full", "other.txt"], { cwd: c.dir });
    assert.equal(notIn.code, 0);
    assert.match(notIn.stderr, /'other\.txt' is not in conflict/);
    assert.deepEqual(notIn.json.notInConflict, ["other.txt"]);
    assert.deepEqual(notIn.json.resolved, []);
    assert.deepEqual(notIn.json.remaining, [], "nothing remains within the named paths");
    assert.equal((await letters(c.dir))["f.txt"], "C ");
  });

  test("--accept postpone changes nothing and exits 1 while conflicts remain; a bare `resolve --accept` takes every conflict", async () => {
    const c = await textConflict();
    const postponed = await zsyncJson<ResolveJson>(["resolve", "--accept", "postpone"], { cwd: c.dir });
    assert.equal(postponed.code, 1);
    assert.deepEqual(postponed.json.remaining, ["f.txt"]);
    assert.deepEqual(postponed.json.resolved, []);
    const all = await zsync(["resolve", "--accept", "theirs-full"], { cwd: c.dir });
    assert.equal(all.code, 0, all.stderr);
    assert.equal(c.read("f.txt"), THEIRS);
    const again = await zsync(["resolve", "--accept", "theirs-full", "."], { cwd: c.dir });
    assert.equal(again.code, 0);
    assert.match(again.stderr, /'\.' is not in conflict/);
  });

  test("a bad --accept value is a usage error (exit 2)", async () => {
    const c = await setup({ "f.txt": BASE });
    assert.equal((await zsync(["resolve", "--accept", "yours", "f.txt"], { cwd: c.dir })).code, 2);
    assert.equal((await zsync(["update", "--accept", "yours"], { cwd: c.dir })).code, 2);
  });
});

describe("zsync update --accept", { concurrency: 3 }, () => {
  async function beforeUpdate(): Promise<Case> {
    const c = await setup({ "f.txt": BASE });
    c.write("f.txt", MINE);
    c.theirsRev = await remote.change(c.folder, { modify: { "f.txt": THEIRS } });
    return c;
  }

  for (const accept of ["theirs-full", "mine-conflict", "base"] as const) {
    test(`--accept ${accept}: the conflict is resolved during the update (exit 0), then the commit succeeds`, async () => {
      const c = await beforeUpdate();
      const up = await zsyncJson<{ conflicts: number; accept: string; resolved: { path: string; accept: string }[]; changes: { path: string; content: string }[] }>(["update", "--accept", accept], { cwd: c.dir });
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(up.json.changes.map((x) => [x.path, x.content]), [["f.txt", "C"]]);
      assert.deepEqual(up.json.resolved.map((x) => [x.path, x.accept]), [["f.txt", accept]]);
      assert.equal(c.read("f.txt"), EXPECTED[accept]);
      for (const a of artifacts(c)) assert.equal(existsSync(join(c.dir, a)), false);
      assert.equal(c.read("f.txt.orig"), KEEPS_MINE.has(accept) ? MINE : undefined);
      const ci = await zsync(["commit", "-m", accept], { cwd: c.dir });
      assert.equal(ci.code, 0, ci.stderr);
      assert.equal(await c.serverFile("f.txt"), EXPECTED[accept]);
    });
  }

  test("plain output: the C line, then what was resolved; no 'Conflicts:' line", async () => {
    const c = await beforeUpdate();
    const up = await zsync(["update", "--accept", "theirs-conflict"], { cwd: c.dir });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /^C  f\.txt.*\n(.*\n)*Resolved conflicted state of 'f\.txt' \(your version saved as f\.txt\.orig\)\n/m);
    assert.doesNotMatch(up.stdout, /Conflicts:/);
  });

  test("without --accept (no terminal) and with --accept postpone: conflicts stay postponed, exit 1", async () => {
    for (const args of [[], ["--accept", "postpone"]]) {
      const c = await beforeUpdate();
      const up = await zsync(["update", ...args], { cwd: c.dir });
      assert.equal(up.code, 1);
      assert.match(up.stdout, /Conflicts: 1\./);
      assert.equal((await letters(c.dir))["f.txt"], "C ");
      for (const a of artifacts(c)) assert.ok(existsSync(join(c.dir, a)));
    }
  });

  test("--accept working cannot take a file with markers: a warning, the conflict stays, exit 1", async () => {
    const c = await beforeUpdate();
    const up = await zsync(["update", "--accept", "working"], { cwd: c.dir });
    assert.equal(up.code, 1);
    assert.match(up.stderr, /not resolved: 'f\.txt' still contains conflict markers/);
    assert.equal((await letters(c.dir))["f.txt"], "C ");
  });
});

describe("metadata conflicts, resolved key by key", { concurrency: 3 }, () => {
  const baseMeta = { contentType: "text/plain", extra: { title: "Base", color: "red" } };
  async function metaConflict(): Promise<Case> {
    const c = await setup({ "f.txt": "x\n" }, { "f.txt": baseMeta });
    c.write("@@meta/f.txt.json", JSON.stringify({ contentType: "text/plain", extra: { title: "Mine", color: "red" } }, null, 2) + "\n");
    await remote.change(c.folder, { meta: { "f.txt": { contentType: "text/plain", extra: { title: "Theirs", color: "blue" } } } });
    const up = await zsyncJson<{ changes: { path: string; meta: string }[] }>(["update"], { cwd: c.dir });
    assert.equal(up.code, 1);
    assert.deepEqual(up.json.changes.map((x) => [x.path, x.meta]), [["f.txt", "C"]]);
    assert.match(c.read("@@meta/f.txt.json")!, /"@@conflict": \{\s*"base": "Base",\s*"mine": "Mine",\s*"theirs": "Theirs"/);
    const st = await statusOf(c.dir);
    assert.equal(st.byPath.get("f.txt")?.conflict?.kind, "meta");
    assert.equal((await zsync(["commit", "-m", "x"], { cwd: c.dir })).code, 1, "a metadata conflict blocks the commit");
    return c;
  }

  for (const [accept, title] of [["mine-conflict", "Mine"], ["theirs-conflict", "Theirs"], ["base", "Base"]] as const) {
    test(`--accept ${accept}: the conflicting key takes that side, the server's clean change stays, the commit succeeds`, async () => {
      const c = await metaConflict();
      await run(["resolve", "--accept", accept, "f.txt"], c.dir);
      const meta = JSON.parse(c.read("@@meta/f.txt.json")!);
      assert.deepEqual(meta, { contentType: "text/plain", extra: { title, color: "blue" } });
      // Mine's title dropped: mine's metadata is kept beside it (not an object's metadata file).
      const orig = c.read("@@meta/f.txt.json.orig");
      assert.deepEqual(orig === undefined ? undefined : JSON.parse(orig), title === "Mine" ? undefined : { contentType: "text/plain", extra: { title: "Mine", color: "red" } });
      await run(["commit", "-m", accept], c.dir);
      const server = (await remote.entries(c.folder)).get("f.txt")!;
      assert.deepEqual(server.meta, { contentType: "text/plain", extra: { title, color: "blue" } });
    });
  }

  test("--accept working is refused while an @@conflict object remains, even with --force", async () => {
    const c = await metaConflict();
    const r = await zsync(["resolve", "--accept", "working", "--force", "@@meta/f.txt.json"], { cwd: c.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /@@conflict.*extra\.title.*cannot be committed/s);
  });
});

describe("tree conflicts: keep yours, or take the server's — your bytes saved as .orig", { concurrency: 3 }, () => {
  test("edited here, deleted on the server: --accept theirs-full accepts the deletion, the edit survives as f.txt.orig", async () => {
    const c = await setup({ "f.txt": "a\n" });
    c.write("f.txt", "a\nmy edit\n");
    await remote.change(c.folder, { remove: ["f.txt"] });
    assert.equal((await zsync(["update"], { cwd: c.dir })).code, 1);
    const st = await zsync(["status"], { cwd: c.dir });
    assert.match(st.stdout, /^C  f\.txt\n {6}> tree conflict: edited locally, deleted on the server$/m);
    const info = await zsync(["info", "f.txt"], { cwd: c.dir });
    assert.match(info.stdout, /^Conflict: tree \(edited locally, deleted on the server\)$/m);

    const r = await zsyncJson<ResolveJson>(["resolve", "--accept", "theirs-full", "f.txt"], { cwd: c.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.resolved[0].savedAs, "f.txt.orig");
    assert.equal(c.read("f.txt"), undefined);
    assert.equal(c.read("f.txt.orig"), "a\nmy edit\n", "no byte lost");
    assert.deepEqual(await letters(c.dir), { "f.txt.orig": "? " });
    assert.match((await run(["commit", "-m", "nothing"], c.dir)).stdout, /Nothing to commit/);
  });

  test("edited here, deleted on the server: --accept working keeps the file as an addition; the commit brings it back", async () => {
    const c = await setup({ "f.txt": "a\n" });
    c.write("f.txt", "a\nmy edit\n");
    await remote.change(c.folder, { remove: ["f.txt"] });
    await zsync(["update"], { cwd: c.dir });
    await run(["resolve", "--accept", "working", "f.txt"], c.dir);
    assert.deepEqual(await letters(c.dir), { "f.txt": "A " });
    await run(["commit", "-m", "keep it"], c.dir);
    assert.equal(await c.serverFile("f.txt"), "a\nmy edit\n");
  });

  test("removed here (kept on disk and edited), changed on the server: --accept theirs-full restores the server's file, yours as .orig", async () => {
    const c = await setup({ "f.txt": "a\n" });
    await run(["rm", "--keep-local", "f.txt"], c.dir);
    c.write("f.txt", "a\nstill mine\n");
    const rev = await remote.change(c.folder, { modify: { "f.txt": "a\ntheirs\n" } });
    await zsync(["update"], { cwd: c.dir });
    assert.equal(c.read(`f.txt.r${rev}`), "a\ntheirs\n");
    await run(["resolve", "--accept", "theirs-full", "f.txt"], c.dir);
    assert.equal(c.read("f.txt"), "a\ntheirs\n");
    assert.equal(c.read("f.txt.orig"), "a\nstill mine\n");
    assert.equal(c.read(`f.txt.r${rev}`), undefined);
    assert.deepEqual(await letters(c.dir), { "f.txt.orig": "? " });
  });

  test("removed here, changed on the server: --accept mine-full keeps the removal; the commit deletes it on the server", async () => {
    const c = await setup({ "f.txt": "a\n" });
    await run(["rm", "f.txt"], c.dir);
    await remote.change(c.folder, { modify: { "f.txt": "a\ntheirs\n" } });
    await zsync(["update"], { cwd: c.dir });
    await run(["resolve", "--accept", "mine-full", "f.txt"], c.dir);
    assert.deepEqual(await letters(c.dir), { "f.txt": "R " });
    await run(["commit", "-m", "remove"], c.dir);
    assert.equal((await remote.entries(c.folder)).has("f.txt"), false);
  });

  test("a folder deleted on the server while holding local work: --accept theirs-full moves it all to DIR.orig/", async () => {
    const c = await setup({ d: null, "d/a.txt": "a\n", "d/b.txt": "b\n" });
    c.write("d/a.txt", "a mine\n");
    c.write("d/new.txt", "unversioned\n");
    await remote.change(c.folder, { remove: ["d"] });
    assert.equal((await zsync(["update"], { cwd: c.dir })).code, 1);
    const r = await zsyncJson<ResolveJson>(["resolve", "--accept", "theirs-full", "d"], { cwd: c.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.resolved[0].savedAs, "d.orig");
    assert.equal(c.read("d.orig/a.txt"), "a mine\n");
    assert.equal(c.read("d.orig/b.txt"), "b\n");
    assert.equal(c.read("d.orig/new.txt"), "unversioned\n");
    assert.equal(existsSync(join(c.dir, "d")), false);
    assert.deepEqual(await letters(c.dir), { "d.orig": "? " });
  });
});

/** Runs the binary in a pseudo-terminal and answers its prompts. */
class PtySession {
  private raw = "";
  private mark = 0;
  readonly exited: Promise<number>;
  private readonly proc: pty.IPty;
  constructor(args: string[], cwd: string, env: Record<string, string> = {}) {
    this.proc = pty.spawn(process.execPath, [CLIENT_BIN, ...args], {
      cwd,
      cols: 120,
      rows: 40,
      env: cliEnv({ TERM: "xterm", ...env }),
    });
    this.proc.onData((d) => (this.raw += d));
    this.exited = new Promise((resolve) => this.proc.onExit((e) => resolve(e.exitCode)));
  }
  get text(): string {
    return this.raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
  }
  /**
   * Waits until `re` matches what the terminal showed since the last answer: re-checked on each
   * output event (never on a timer); the process ending first fails with the transcript. A hang
   * is caught by the per-test timeout.
   */
  private async waitFor(re: RegExp): Promise<RegExpExecArray> {
    for (;;) {
      const found = re.exec(this.text.slice(this.mark));
      if (found) return found;
      const ended = await new Promise<boolean>((resolve) => {
        const data = this.proc.onData(() => {
          data.dispose();
          resolve(false);
        });
        void this.exited.then(() => {
          data.dispose();
          resolve(true);
        });
      });
      if (ended) {
        // The pty can deliver the last output just after the exit event: let it drain once.
        await new Promise((r) => setImmediate(r));
        const last = re.exec(this.text.slice(this.mark));
        if (last) return last;
        throw new Error(`no ${re} on the terminal before zsync exited:\n${this.text}`);
      }
    }
  }
  /** Waits for a prompt, types the answer, waits until it is taken; returns what the terminal showed since the last answer. */
  async answer(message: RegExp, keys: string): Promise<string> {
    const found = await this.waitFor(new RegExp(`\\? ${message.source}`));
    const shown = this.text.slice(this.mark);
    this.mark += found.index;
    this.proc.write(keys);
    const done = await this.waitFor(/[✔√][^\n]*\n/);
    this.mark += done.index + done[0].length;
    return shown;
  }
}

describe("the interactive resolver in a pseudo-terminal", { concurrency: 2 }, () => {
  test("`zsync resolve` on a terminal: per-hunk choice (theirs for the conflict), exit 0, the commit succeeds", async () => {
    const c = await textConflict();
    const session = new PtySession(["resolve"], c.dir);
    const menu = await session.answer(/Select for 'f\.txt':/, "h\r");
    assert.match(menu, /Conflict in 'f\.txt': both sides changed the text \(1 conflicting region\)/);
    const hunk = await session.answer(/Keep which side of conflict 1\?/, "t\r");
    assert.match(hunk, /<<<<<<< mine\nB-mine\n\|\|\|\|\|\|\| base \.r\d+\nb\n=======\nB-theirs\n>>>>>>> theirs/);
    assert.equal(await session.exited, 0, session.text);
    assert.match(session.text, /Resolved conflicted state of 'f\.txt'/);
    assert.equal(c.read("f.txt"), EXPECTED["theirs-conflict"]);
    for (const a of artifacts(c)) assert.equal(existsSync(join(c.dir, a)), false);
    await run(["commit", "-m", "per hunk"], c.dir);
    assert.equal(await c.serverFile("f.txt"), EXPECTED["theirs-conflict"]);
  });

  test("`zsync update` on a terminal runs the resolver: edit in $EDITOR, mark resolved, exit 0", async () => {
    const c = await setup({ "f.txt": BASE });
    c.write("f.txt", MINE);
    await remote.change(c.folder, { modify: { "f.txt": THEIRS } });
    const scripts = await mkdtemp(join(tmpdir(), "zsync-editor-"));
    made.push(scripts);
    const editor = join(scripts, "editor.sh");
    writeFileSync(editor, `#!/bin/sh\nprintf 'edited on a terminal\\n' > "$1"\n`);
    chmodSync(editor, 0o755);
    const session = new PtySession(["update"], c.dir, { EDITOR: editor });
    const first = await session.answer(/Select for 'f\.txt':/, "e\r");
    assert.match(first, /^C  f\.txt/m);
    await session.answer(/Select for 'f\.txt':/, "r\r");
    assert.equal(await session.exited, 0, session.text);
    assert.equal(c.read("f.txt"), "edited on a terminal\n");
    assert.match(session.text, /Updated to revision \d+\./);
    await run(["commit", "-m", "edited"], c.dir);
    assert.equal(await c.serverFile("f.txt"), "edited on a terminal\n");
  });

  test("postpone on a terminal: the conflict stays, exit 1", async () => {
    const c = await textConflict();
    const session = new PtySession(["resolve", "f.txt"], c.dir);
    await session.answer(/Select for 'f\.txt':/, "p\r");
    assert.equal(await session.exited, 1);
    assert.match(session.text, /1 conflict remains: f\.txt/);
    assert.equal((await letters(c.dir))["f.txt"], "C ");
  });
});
