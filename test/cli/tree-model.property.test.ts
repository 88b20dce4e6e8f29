/**
 * A model-based test of the tree (issue 10): fast-check `commands` over three checkouts (A, B, C)
 * of one server folder and the real zsync-server process. Commands run through the operations the
 * CLI calls (in-process, for speed; the binary path of each operation is covered by the e2e
 * files): write/append a file, create a folder, delete from disk, `add`, `rm --force`, `mkdir`,
 * `revert`, `commit` (all or one path), `update`, `merge X Y`, `resolve --accept` (each choice),
 * file↔folder replacement, metadata edits, on the paths `x`, `y`, `d`, `d/z`.
 *
 * Invariants:
 * - after every command: no byte lost — every token line the test wrote is in some file of some
 *   checkout (artifacts and `.orig` copies included) or was on the server at some revision,
 *   except tokens the user's own deletion destroyed;
 * - at the end of every run, no stuck state: in each checkout in turn, resolving every conflict
 *   (one choice per run), one `update` and `commit` succeed; then, after one more update each,
 *   `status` shows no change of a versioned path and the versioned files and entries equal those
 *   of a fresh checkout.
 *
 * Seeded and replayable: the seed is printed; `ZSYNC_MODEL_SEED` replays it (with
 * `ZSYNC_MODEL_PATH` for the shrunk path fast-check prints). `ZSYNC_MODEL_RUNS` (default 20) and
 * `ZSYNC_MODEL_COMMANDS` (default 25) bound the run; `npm run soak` sets `ZSYNC_SOAK_SECONDS` to
 * run for that long. `ZSYNC_MODEL_VERBOSE` prints every command and its outcome.
 */
import assert from "node:assert/strict";
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { readRecordBody } from "../../src/protocol/snarf.js";
import { ProtocolError } from "../../src/transport/http/client.js";
import { add } from "../../src/wc/add.js";
import { WcError } from "../../src/wc/admin.js";
import { checkout } from "../../src/wc/checkout.js";
import { commit } from "../../src/wc/commit.js";
import { loadEntries } from "../../src/wc/entries.js";
import { merge, openSource } from "../../src/wc/merge.js";
import { mkdir } from "../../src/wc/mkdir.js";
import { remove } from "../../src/wc/remove.js";
import { ACCEPT_CHOICES, resolve, type Accept } from "../../src/wc/resolve.js";
import { revert } from "../../src/wc/revert.js";
import { scanWorkingCopy } from "../../src/wc/scan.js";
import { withWorkingCopy } from "../../src/wc/session.js";
import { update } from "../../src/wc/update.js";
import { readTree, Remote } from "../helpers/scenario.js";
import { startServer, type TestServer } from "../helpers/server.js";

const env = { ...process.env };
// zsync-server reads ZSYNC_* variables as options and inherits ours: drop the test's own.
for (const name of Object.keys(process.env)) if (name.startsWith("ZSYNC_MODEL_") || name === "ZSYNC_SOAK_SECONDS") delete process.env[name];
const SOAK_SECONDS = Number(env.ZSYNC_SOAK_SECONDS ?? 0);
const RUNS = Number(env.ZSYNC_MODEL_RUNS ?? (SOAK_SECONDS > 0 ? 1_000_000 : 20));
const MAX_COMMANDS = Number(env.ZSYNC_MODEL_COMMANDS ?? 25);
const SEED = env.ZSYNC_MODEL_SEED !== undefined ? Number(env.ZSYNC_MODEL_SEED) : Date.now() ^ (process.pid << 8);
const VERBOSE = env.ZSYNC_MODEL_VERBOSE !== undefined;

let server: TestServer;
let remote: Remote;
let folders = 0;
before(async () => {
  server = await startServer({ demo: true });
  remote = new Remote(server);
});
after(async () => {
  await server.stop();
});

const PATHS = ["x", "y", "d", "d/z"] as const;
const NAMES = ["A", "B", "C"] as const;
type Wc = 0 | 1 | 2;
const TOKEN = /<tok-(\d+)>/g;

/** Every file of a checkout but its admin area (metadata files included), as path → text. */
const filesOf = (root: string): Map<string, string> =>
  existsSync(root) ? new Map([...readTree(root)].map(([path, bytes]) => [path, bytes.toString("utf8")])) : new Map();

/** A metadata file's JSON, formatting aside (the user's own formatting is kept). */
const canonical = (text: string): string => {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
};
const tokensIn = (text: string) => [...text.matchAll(TOKEN)].map((m) => m[0]);
const expectedError = (error: unknown) => error instanceof WcError || (error instanceof ProtocolError && error.status >= 400 && error.status < 500);
const kindOnDisk = (absolute: string): "file" | "folder" | "none" => {
  try {
    const s = lstatSync(absolute);
    return s.isDirectory() ? "folder" : "file";
  } catch {
    return "none";
  }
};

/** The system under test: the server folder, three checkouts, and where every token was seen. */
class World {
  readonly roots: string[];
  readonly onServer = new Set<string>();
  readonly written = new Set<string>();
  readonly exempt = new Set<string>();
  readonly log: string[] = [];
  private tokens = 0;
  commands = 0;

  private constructor(
    readonly parent: string,
    readonly folder: string,
  ) {
    this.roots = NAMES.map((n) => join(parent, n));
  }

  static async create(): Promise<World> {
    const folder = `model${++folders}`;
    const world = new World(await mkdtemp(join(tmpdir(), "zsync-model-")), folder);
    await remote.createFolder(folder, { x: "x\n", d: null, "d/z": "z\n" });
    for (const dir of world.roots) await checkout({ client: remote.client, origin: server.url, path: folder, user: "zsync", dir });
    return world;
  }

  dispose(): void {
    rmSync(this.parent, { recursive: true, force: true });
  }

  token(): string {
    const t = `<tok-${++this.tokens}>`;
    this.written.add(t);
    return t;
  }

  /** Tokens present in the checkouts now. */
  present(): Set<string> {
    const found = new Set<string>();
    for (const root of this.roots) for (const text of filesOf(root).values()) for (const t of tokensIn(text)) found.add(t);
    return found;
  }

  async readServer(): Promise<void> {
    const snapshot = await remote.client.snapshot(this.folder);
    for await (const record of snapshot.records) {
      if (record.kind !== "file") continue;
      for (const t of tokensIn((await readRecordBody(record, 1 << 20)).toString("utf8"))) this.onServer.add(t);
    }
    for (const e of snapshot.manifest.entries) if (e.meta) for (const t of tokensIn(JSON.stringify(e.meta))) this.onServer.add(t);
  }

  /** Runs one command; user-destroying commands exempt the tokens they made vanish. */
  async step(label: string, destroys: boolean, body: () => Promise<string | void>): Promise<void> {
    this.commands++;
    const before = this.present();
    let outcome: string;
    try {
      outcome = (await body()) || "ok";
    } catch (error) {
      if (!expectedError(error)) throw new Error(`${label} failed unexpectedly: ${(error as Error).stack}\n${this.log.join("\n")}`);
      outcome = `refused: ${(error as Error).message.split("\n")[0]}`;
    }
    this.log.push(`${label} → ${outcome}`);
    if (VERBOSE) console.log(`  ${label} → ${outcome}`);
    const after = this.present();
    for (const t of before) {
      if (after.has(t) || this.onServer.has(t)) continue;
      if (destroys) this.exempt.add(t);
      else assert.fail(`${label} lost ${t} (it is in no checkout and was never on the server)\n${this.log.join("\n")}`);
    }
  }

  wc<T>(i: Wc, lock: string, work: Parameters<typeof withWorkingCopy<T>>[2]): Promise<T> {
    return withWorkingCopy(this.roots[i], { lock }, work);
  }

  /** The end-of-run check: nothing stuck, and every checkout agrees with a fresh one. */
  async settle(accept: Accept): Promise<void> {
    // One round settles each checkout; a round can leave another checkout a new conflict (an
    // unversioned file in the way of what was just committed), so rounds repeat until all are clean.
    for (let round = 1; ; round++) {
      await this.settleRound(accept, round);
      const dirty = await this.dirty();
      if (dirty.length === 0) break;
      if (round === 4) assert.fail(`still not clean after ${round} rounds: ${dirty.join("; ")}\n${this.log.join("\n")}`);
    }
    await this.agreeWithFreshCheckout();
  }

  /** Updates every checkout; returns the versioned changes left (status letters). */
  private async dirty(): Promise<string[]> {
    const left: string[] = [];
    for (let i = 0; i < this.roots.length; i++) {
      await this.wc(i as Wc, "update", (wc) => update(wc, { client: remote.client }));
      const entries = (await loadEntries(this.roots[i])).entries;
      const scan = await scanWorkingCopy(this.roots[i], entries, { changedOnly: true });
      for (const x of scan.items) if (x.content !== "?" && (x.content !== "=" || x.meta !== " ")) left.push(`${NAMES[i]}: ${x.content}${x.meta} ${x.path}`);
    }
    return left;
  }

  private async settleRound(accept: Accept, round: number): Promise<void> {
    for (let i = 0; i < this.roots.length; i++) {
      const w = i as Wc;
      const at = `settling ${NAMES[w]}, round ${round} (resolve --accept ${accept}, update, commit)`;
      // The issue's rule: resolve every conflict (any choice), one update, then commit must succeed.
      // An update that brings new conflicts (the server moved on) starts the same again.
      for (let pass = 1; ; pass++) {
        await this.wc(w, "resolve", (wc) => resolve(wc, { paths: [""], accept, skipRefused: true })).catch((e) => this.refusal(e, at));
        // A choice may be refused for some conflict (e.g. `base` on a tree conflict): `working` then ends it.
        await this.wc(w, "resolve", (wc) => resolve(wc, { paths: [""], accept: "working", force: true })).catch((e) => this.refusal(e, at));
        const up = await this.wc(w, "update", (wc) => update(wc, { client: remote.client }));
        this.log.push(`${at}: update → ${up.lines.map((l) => `${l.content}${l.meta} ${l.path}${l.reason ? ` (${l.reason})` : ""}`).join(", ") || "nothing"}`);
        if (up.conflicts === 0) break;
        if (pass === 3) assert.fail(`${at}: every update brings new conflicts\n${this.log.join("\n")}`);
      }
      // An addition the user deleted by hand (`!` and scheduled `added`) has no bytes to restore:
      // as in svn, only `revert` ends it — the user's own state, not one zsync left behind.
      const lost = (await scanWorkingCopy(this.roots[w], (await loadEntries(this.roots[w])).entries, { changedOnly: true })).items
        .filter((x) => x.content === "!" && x.entry?.schedule === "added")
        .map((x) => x.path);
      if (lost.length > 0) {
        await this.wc(w, "revert", (wc) => revert(wc, { paths: lost }));
        this.log.push(`${at}: revert ${lost.join(" ")} (additions deleted by hand)`);
      }
      try {
        const ci = await this.wc(w, "commit", (wc) => commit(wc, { client: remote.client, message: "settle" }));
        this.log.push(`${at}: commit → ${ci.revision ?? "nothing"}`);
      } catch (error) {
        assert.fail(`${at}: commit failed — the checkout is stuck: ${(error as Error).message}\n${this.log.join("\n")}`);
      }
      await this.readServer();
    }
  }

  private async agreeWithFreshCheckout(): Promise<void> {
    const fresh = join(this.parent, "fresh");
    await checkout({ client: remote.client, origin: server.url, path: this.folder, user: "zsync", dir: fresh });
    const freshEntries = (await loadEntries(fresh)).entries;
    const freshFiles = filesOf(fresh);
    for (let i = 0; i < this.roots.length; i++) {
      const w = i as Wc;
      const entries = (await loadEntries(this.roots[w])).entries;
      const shape = (m: typeof entries) => [...m].map(([p, e]) => `${p}:${e.kind}:${e.hash ?? ""}:${JSON.stringify(e.meta ?? null)}`).sort();
      assert.deepEqual(shape(entries), shape(freshEntries), `${NAMES[w]}: entries equal a fresh checkout's\n${this.log.join("\n")}`);
      const files = filesOf(this.roots[w]);
      for (const [path, text] of freshFiles) {
        const mine = files.get(path);
        const same = path.includes("@@") && mine !== undefined ? canonical(mine) === canonical(text) : mine === text;
        assert.ok(same, `${NAMES[w]}: ${path} equals the fresh checkout's (${JSON.stringify(mine)} vs ${JSON.stringify(text)})\n${this.log.join("\n")}`);
      }
    }
    rmSync(fresh, { recursive: true, force: true });
  }

  private refusal(error: unknown, at: string): void {
    if (!expectedError(error)) throw error;
    this.log.push(`${at}: ${(error as Error).message.split("\n")[0]}`);
  }
}

type Model = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, World>;

/** A command made of a label and a body (all commands are always allowed; refusals are outcomes). */
function command(label: string, destroys: boolean, body: (w: World) => Promise<string | void>): Cmd {
  return {
    check: () => true,
    run: async (_m, w) => w.step(label, destroys, () => body(w)),
    toString: () => label,
  };
}

const wcArb = fc.constantFrom<Wc>(0, 1, 2);
const pathArb = fc.constantFrom(...PATHS);

const write = (i: Wc, path: string) =>
  command(`${NAMES[i]}: write ${path}`, false, async (w) => {
    const abs = join(w.roots[i], path);
    const kind = kindOnDisk(abs);
    if (kindOnDisk(dirname(abs)) !== "folder") return "no parent folder";
    if (kind === "file") writeFileSync(abs, readFileSync(abs, "utf8") + `${w.token()}\n`);
    else if (kind === "folder") {
      const inner = join(abs, "f.txt");
      writeFileSync(inner, (kindOnDisk(inner) === "file" ? readFileSync(inner, "utf8") : "") + `${w.token()}\n`);
    }
    else {
      const entries = (await loadEntries(w.roots[i])).entries;
      if (entries.has(path)) return "versioned and missing: left alone";
      writeFileSync(abs, `${w.token()}\n`);
    }
  });
const makeFolder = (i: Wc, path: string) =>
  command(`${NAMES[i]}: mkdir -p ${path} (by hand, with a file)`, false, async (w) => {
    const abs = join(w.roots[i], path);
    if (kindOnDisk(abs) !== "none" || kindOnDisk(dirname(abs)) !== "folder") return "in the way";
    if ((await loadEntries(w.roots[i])).entries.has(path)) return "versioned and missing: left alone";
    mkdirSync(abs);
    writeFileSync(join(abs, "in.txt"), `${w.token()}\n`);
  });
const deleteDisk = (i: Wc, path: string) =>
  command(`${NAMES[i]}: rm -rf ${path} (by hand)`, true, async (w) => {
    const abs = join(w.roots[i], path);
    if (kindOnDisk(abs) === "none") return "nothing there";
    rmSync(abs, { recursive: true, force: true });
  });
const addCmd = (i: Wc, path: string) => command(`${NAMES[i]}: zsync add ${path}`, false, (w) => w.wc(i, "add", async (wc) => void (await add(wc, { paths: [path] }))));
const rmCmd = (i: Wc, path: string) => command(`${NAMES[i]}: zsync rm --force ${path}`, true, (w) => w.wc(i, "remove", async (wc) => void (await remove(wc, { paths: [path], force: true }))));
const mkdirCmd = (i: Wc, path: string) => command(`${NAMES[i]}: zsync mkdir ${path}`, false, (w) => w.wc(i, "mkdir", async (wc) => void (await mkdir(wc, { paths: [path] }))));
const revertCmd = (i: Wc, path: string, recursive: boolean) =>
  command(`${NAMES[i]}: zsync revert ${recursive ? "-R " : ""}${path}`, false, (w) => w.wc(i, "revert", async (wc) => void (await revert(wc, { paths: [path], recursive }))));
const commitCmd = (i: Wc, path: string | undefined) =>
  command(`${NAMES[i]}: zsync commit${path ? ` ${path}` : ""}`, false, async (w) => {
    try {
      const r = await w.wc(i, "commit", (wc) => commit(wc, { client: remote.client, message: "model", paths: path ? [path] : undefined }));
      return r.revision === undefined ? "nothing to commit" : `r${r.revision}`;
    } finally {
      await w.readServer();
    }
  });
const updateCmd = (i: Wc) =>
  command(`${NAMES[i]}: zsync update`, false, async (w) => {
    const r = await w.wc(i, "update", (wc) => update(wc, { client: remote.client }));
    return r.lines.map((l) => `${l.content}${l.meta} ${l.path}`).join(", ") || "nothing";
  });
const mergeCmd = (from: Wc, to: Wc) =>
  command(`${NAMES[to]}: zsync merge ${NAMES[from]}`, false, async (w) => {
    if (from === to) return "same checkout";
    const source = await openSource(w.roots[from]);
    const r = await w.wc(to, "merge", (wc) => merge(wc, source, { connect: async () => remote.client }));
    return r.lines.map((l) => `${l.content}${l.meta} ${l.path}`).join(", ") || "nothing";
  });
const resolveCmd = (i: Wc, accept: Accept) =>
  command(`${NAMES[i]}: zsync resolve --accept ${accept}`, false, async (w) => {
    const r = await w.wc(i, "resolve", (wc) => resolve(wc, { paths: [""], accept, skipRefused: true }));
    return r.resolved.map((x) => x.path).join(", ") || "nothing";
  });
const replaceCmd = (i: Wc, path: string) =>
  command(`${NAMES[i]}: replace ${path} by the other kind (zsync rm --force, create, zsync add)`, true, async (w) => {
    const abs = join(w.roots[i], path);
    const kind = kindOnDisk(abs);
    if (kind === "none") return "nothing there";
    await w.wc(i, "remove", (wc) => remove(wc, { paths: [path], force: true })).catch((e) => {
      if (!expectedError(e)) throw e;
    });
    rmSync(abs, { recursive: true, force: true });
    if (kind === "file") {
      mkdirSync(abs);
      writeFileSync(join(abs, "in.txt"), `${w.token()}\n`);
    } else writeFileSync(abs, `${w.token()}\n`);
    await w.wc(i, "add", (wc) => add(wc, { paths: [path] }));
  });
const metaCmd = (i: Wc, path: string) =>
  command(`${NAMES[i]}: edit @@meta of ${path}`, false, async (w) => {
    const abs = join(w.roots[i], path);
    if (kindOnDisk(abs) === "none") return "nothing there";
    const dir = join(dirname(abs), "@@meta");
    mkdirSync(dir, { recursive: true });
    // A key is added (the others kept): the user's earlier metadata edits stay.
    const file = join(dir, `${path.split("/").pop()}.json`);
    let meta: { extra?: Record<string, unknown> } = {};
    try {
      meta = JSON.parse(readFileSync(file, "utf8"));
    } catch {
      // absent or unreadable: start afresh (an unreadable file holds no token of ours)
    }
    const token = w.token();
    meta.extra = { ...(meta.extra ?? {}), [`note${token.replace(/\D/g, "")}`]: token };
    writeFileSync(file, JSON.stringify(meta) + "\n");
  });

const commandArbs = [
  fc.tuple(wcArb, pathArb).map(([i, p]) => write(i, p)),
  fc.tuple(wcArb, pathArb).map(([i, p]) => write(i, p)),
  fc.tuple(wcArb, pathArb).map(([i, p]) => makeFolder(i, p)),
  fc.tuple(wcArb, pathArb).map(([i, p]) => deleteDisk(i, p)),
  fc.tuple(wcArb, pathArb).map(([i, p]) => addCmd(i, p)),
  fc.tuple(wcArb, pathArb).map(([i, p]) => rmCmd(i, p)),
  fc.tuple(wcArb, pathArb).map(([i, p]) => mkdirCmd(i, p)),
  fc.tuple(wcArb, fc.constantFrom<string>(...PATHS, ""), fc.boolean()).map(([i, p, r]) => revertCmd(i, p, r)),
  fc.tuple(wcArb, fc.option(pathArb, { nil: undefined })).map(([i, p]) => commitCmd(i, p)),
  fc.tuple(wcArb, fc.option(pathArb, { nil: undefined })).map(([i, p]) => commitCmd(i, p)),
  wcArb.map((i) => updateCmd(i)),
  wcArb.map((i) => updateCmd(i)),
  fc.tuple(wcArb, wcArb).map(([a, b]) => mergeCmd(a, b)),
  fc.tuple(wcArb, fc.constantFrom(...ACCEPT_CHOICES)).map(([i, a]) => resolveCmd(i, a)),
  fc.tuple(wcArb, pathArb).map(([i, p]) => replaceCmd(i, p)),
  fc.tuple(wcArb, pathArb).map(([i, p]) => metaCmd(i, p)),
];

test(`tree model: ${SOAK_SECONDS > 0 ? `soak for ${SOAK_SECONDS} s` : `${RUNS} runs of up to ${MAX_COMMANDS} commands`} on three checkouts (seed ${SEED})`, { timeout: SOAK_SECONDS > 0 ? (SOAK_SECONDS + 600) * 1000 : 600_000 }, async (t) => {
  t.diagnostic(`seed ${SEED}; replay with ZSYNC_MODEL_SEED=${SEED}`);
  let runs = 0;
  let commands = 0;
  const property = fc.asyncProperty(fc.commands(commandArbs, { maxCommands: MAX_COMMANDS, size: "max" }), fc.constantFrom(...ACCEPT_CHOICES), async (cmds, accept) => {
    const world = await World.create();
    try {
      await fc.asyncModelRun(() => ({ model: {} as Model, real: world }), cmds);
      await world.settle(accept);
    } finally {
      runs++;
      commands += world.commands;
      world.dispose();
    }
  });
  try {
    await fc.assert(property, {
      seed: SEED,
      numRuns: RUNS,
      path: env.ZSYNC_MODEL_PATH,
      endOnFailure: SOAK_SECONDS > 0,
      includeErrorInReport: true,
      ...(SOAK_SECONDS > 0 ? { interruptAfterTimeLimit: SOAK_SECONDS * 1000, markInterruptAsFailure: false } : {}),
    });
  } finally {
    t.diagnostic(`${runs} runs, ${commands} commands (seed ${SEED})`);
    console.log(`tree model: ${runs} runs, ${commands} commands, seed ${SEED}`);
  }
});
