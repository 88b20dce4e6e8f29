/**
 * The real `zsync` binary against a malicious server: an in-test node:http server that speaks
 * just enough of the protocol (`/.well-known/zsync`, `@@toFS.snarf`) to send crafted manifests
 * and archives — `..` and absolute paths, backslashes, NUL, `.zsync` names, over-long names,
 * records that disagree with the manifest, files where folders go, and paths through a symlink
 * the user has in the checkout. Whatever it sends, nothing is written outside the checkout, the
 * command fails with a clear message, and an existing checkout is left exactly as it was.
 *
 * Also: crafted `.zsync/` files (config, entries, journal) are refused when read.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { decodeIndex } from "../../src/wc/index-file.js";
import { zsync } from "../helpers/cli.js";
import { tempDir } from "../helpers/server.js";

const UUID = "7f1c2a52-0000-4000-8000-hostile00001";

interface FileSpec {
  path: string;
  body: string;
}

/** What the fake server answers for `@@toFS.snarf`: a manifest (object or raw text) and raw records. */
interface Scenario {
  revision: number;
  manifest: unknown;
  /** Raw SNARF records after the manifest (see {@link rec} and {@link dirRec}). */
  records: Buffer[];
  /** Send the first `after` records, then wait for `until` before sending the rest. */
  pause?: { after: number; until: () => Promise<void> };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A raw SNARF file record; no validation, so any path can be sent. */
function rec(path: string, body: string | Buffer): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([Buffer.from(`${bytes.length} ${path}\n`, "utf8"), bytes]);
}

function dirRec(path: string): Buffer {
  return Buffer.from(`0 ${path}/\n`, "utf8");
}

/** A well-formed scenario for files and folders, which the hostile ones then bend. */
function scenario(revision: number, files: FileSpec[], folders: string[] = [], opts: { since?: number } = {}): Scenario {
  return {
    revision,
    manifest: {
      protocol: 1,
      root: "/demo",
      revision,
      ...(opts.since === undefined ? {} : { since: opts.since }),
      entries: [
        { path: "", kind: "folder", revision },
        ...folders.map((path) => ({ path, kind: "folder", revision })),
        ...files.map((f) => ({ path: f.path, kind: "file", revision, hash: sha256(f.body), size: Buffer.byteLength(f.body) })),
      ],
      deleted: [],
    },
    records: [...folders.map(dirRec), ...files.map((f) => rec(f.path, f.body))],
  };
}

/** The fake server. `current` is what it serves next. */
class HostileServer {
  current: Scenario = scenario(1, [{ path: "a.txt", body: "hello\n" }]);
  private server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/.well-known/zsync") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ server: "zsync-server", version: "0", protocol: { versions: [1], features: [] }, repository: { uuid: UUID, revision: this.current.revision }, auth: ["basic"] }));
      return;
    }
    if (path.endsWith("/@@toFS.snarf")) {
      const manifest = typeof this.current.manifest === "string" ? this.current.manifest : JSON.stringify(this.current.manifest);
      res.writeHead(200, { "content-type": "application/x-snarf", "zsync-revision": String(this.current.revision), "zsync-repository": UUID });
      const { records, pause } = this.current;
      if (!pause) {
        res.end(Buffer.concat([rec("@@zsync/manifest.json", manifest), ...records]));
        return;
      }
      res.write(Buffer.concat([rec("@@zsync/manifest.json", manifest), ...records.slice(0, pause.after)]));
      void pause.until().then(() => res.end(Buffer.concat(records.slice(pause.after))));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "not-found", message: "no" } }));
  });
  url = "";
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/demo`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Resolves once `done()` holds (checked every 10 ms; the test's timeout ends a wait that never does). */
async function waitFor(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Every path under `dir` (symlinks not followed) with what it is: a file's hash, `dir`, or `-> target`. */
function picture(dir: string, opts: { skip?: (rel: string) => boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      if (opts.skip?.(path)) continue;
      const s = lstatSync(join(dir, path));
      if (s.isSymbolicLink()) out.set(path, `-> ${readlinkSync(join(dir, path))}`);
      else if (s.isDirectory()) {
        out.set(path, "dir");
        walk(path);
      } else out.set(path, createHash("sha256").update(readFileSync(join(dir, path))).digest("hex"));
    }
  };
  walk("");
  return out;
}

describe("a malicious server never writes outside the checkout", () => {
  const server = new HostileServer();
  let work: string;
  let outside: string;
  let n = 0;
  const env = () => ({ HOME: work, ZSYNC_PASSWORD: undefined });

  before(async () => {
    await server.start();
    work = await tempDir("zsync-hostile-");
    outside = await tempDir("zsync-outside-");
    await writeFile(join(outside, "precious.txt"), "do not touch\n");
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  /** Checks out the current scenario into a fresh dir; asserts failure, no dir left, nothing outside changed. */
  async function checkoutRefused(why: RegExp): Promise<string> {
    const dir = `co${++n}`;
    const beforeWork = picture(work);
    const beforeOutside = picture(outside);
    const result = await zsync(["checkout", server.url, dir], { cwd: work, env: env() });
    assert.notEqual(result.code, 0, `checkout should fail:\n${result.stdout}${result.stderr}`);
    assert.match(result.stderr, why);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    assert.deepEqual(picture(work), beforeWork, "nothing written next to the checkout");
    assert.deepEqual(picture(outside), beforeOutside, "nothing written outside");
    assert.equal(existsSync(join(work, dir)), false, "no half checkout left");
    return result.stderr;
  }

  const hostilePaths: [string, string, RegExp][] = [
    ["parent directory", "../evil.txt", /'\.\.' components are not allowed/],
    ["nested parent directory", "sub/../../evil.txt", /'\.\.' components are not allowed/],
    ["absolute path", "/ABS/evil.txt", /absolute paths are not allowed/],
    ["backslash", "..\\evil.txt", /backslash is not allowed/],
    ["NUL", "a\0b.txt", /NUL is not allowed/],
    ["the admin folder itself", ".zsync", /reserved for the checkout's admin folder/],
    ["a file in the admin folder", ".zsync/entries.json", /reserved for the checkout's admin folder/],
    ["the admin folder in other case", ".ZSync/config.json", /reserved for the checkout's admin folder/],
    ["the admin folder with a zero-width joiner", ".zs\u200cync/config.json", /reserved for the checkout's admin folder/],
    ["a nested admin folder", "sub/.zsync/config.json", /reserved for the checkout's admin folder/],
    ["a @@ name", "@@meta/x.json", /reserved '@@'/],
    ["an over-long name", "n".repeat(256), /component longer than 255 UTF-8 bytes/],
    ["an over-long path", Array.from({ length: 20 }, () => "d".repeat(250)).join("/"), /longer than 4096 UTF-8 bytes/],
  ];

  for (const [what, bad, why] of hostilePaths) {
    // `outside` exists only once `before` ran.
    const hostile = () => bad.replace("/ABS", outside);
    test(`manifest entry: ${what}`, async () => {
      const path = hostile();
      server.current = scenario(1, [{ path: "a.txt", body: "ok\n" }, { path, body: "evil\n" }]);
      const stderr = await checkoutRefused(why);
      assert.match(stderr, /sent an invalid snapshot, refused before anything was written/);
    });
    test(`archive record only: ${what}`, async () => {
      const path = hostile();
      // The manifest is clean; the path appears only as a record header.
      server.current = scenario(1, [{ path: "a.txt", body: "ok\n" }]);
      server.current.records.push(rec(path, "evil\n"));
      await checkoutRefused(/the server sent a malformed archive/);
    });
  }

  test("a deleted path with '..' is refused", async () => {
    server.current = scenario(1, [{ path: "a.txt", body: "ok\n" }]);
    (server.current.manifest as { deleted: string[] }).deleted.push("../precious.txt");
    await checkoutRefused(/'\.\.' components are not allowed/);
  });

  test("a record for a path the manifest does not list is never written", async () => {
    server.current = scenario(1, [{ path: "a.txt", body: "ok\n" }]);
    server.current.records.push(rec("stowaway.txt", "unlisted\n"));
    const result = await zsync(["checkout", server.url, "stow", "-q"], { cwd: work, env: env() });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual([...picture(join(work, "stow"), { skip: (p) => p.startsWith(".zsync") }).keys()], ["a.txt"]);
  });

  test("a record whose bytes disagree with the manifest's hash", async () => {
    server.current = scenario(1, [{ path: "a.txt", body: "announced\n" }]);
    server.current.records = [rec("a.txt", "different\n")]; // same length, other bytes
    await checkoutRefused(/sent other bytes for a\.txt than its manifest announced/);
  });

  // A checkout of many files creates them on a worker as their bodies arrive
  // (src/wc/early-writes.ts): a bad record after some of them are on disk still leaves no half
  // checkout behind. The server holds the last record back until the first file is there.
  const manyFiles = () => {
    const scene = scenario(1, Array.from({ length: 150 }, (_, i) => ({ path: `many/f${i}.txt`, body: `${i}\n`.repeat(4000) })), ["many"]);
    const first = join(work, `co${n + 1}`, "many", "f0.txt");
    scene.pause = { after: scene.records.length - 1, until: () => waitFor(() => existsSync(first)) };
    return scene;
  };
  test("many files, then a record whose bytes disagree with the manifest's hash", async () => {
    server.current = manyFiles();
    const last = server.current.records.length - 1;
    server.current.records[last] = rec("many/f149.txt", "X".repeat(Buffer.byteLength("149\n".repeat(4000))));
    await checkoutRefused(/sent other bytes for many\/f149\.txt than its manifest announced/);
  });
  test("many files, then one the archive lacks", async () => {
    server.current = manyFiles();
    server.current.records[server.current.records.length - 1] = Buffer.alloc(0);
    await checkoutRefused(/archive lacks the content of many\/f149\.txt/);
  });
  test("many files, then an archive cut off in a record", async () => {
    server.current = manyFiles();
    const last = server.current.records.length - 1;
    server.current.records[last] = server.current.records[last].subarray(0, 100);
    await checkoutRefused(/the server sent a malformed archive|archive lacks|interrupted|ended/);
  });

  test("a file the manifest lists but the archive lacks", async () => {
    server.current = scenario(1, [{ path: "a.txt", body: "ok\n" }, { path: "b.txt", body: "missing\n" }]);
    server.current.records.pop();
    await checkoutRefused(/archive lacks the content of b\.txt/);
  });

  test("a file where a folder goes (x is a file, x/y below it)", async () => {
    server.current = scenario(1, [{ path: "x", body: "file\n" }, { path: "x/y", body: "below a file\n" }]);
    await checkoutRefused(/"x\/y" lies below the file "x"/);
  });

  test("the same path twice in the manifest", async () => {
    server.current = scenario(1, [{ path: "a.txt", body: "one\n" }, { path: "a.txt", body: "two\n" }]);
    await checkoutRefused(/"a\.txt" appears twice/);
  });

  test("metadata nested too deep, or with too many keys", async () => {
    let deep: Record<string, unknown> = {};
    const top = deep;
    for (let i = 0; i < 40; i++) deep = (deep.x = {}) as Record<string, unknown>;
    server.current = scenario(1, [{ path: "a.txt", body: "ok\n" }]);
    (server.current.manifest as { entries: { meta?: unknown }[] }).entries[1].meta = { extra: top };
    await checkoutRefused(/metadata nested deeper than 16 levels/);
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    (server.current.manifest as { entries: { meta?: unknown }[] }).entries[1].meta = { extra: many };
    await checkoutRefused(/metadata with more than 4096 keys and items/);
  });

  test("a manifest that is not JSON", async () => {
    server.current = { revision: 1, manifest: "{not json", records: [] };
    await checkoutRefused(/sent an invalid snapshot/);
  });

  test("names differing only by case or Unicode normalization are distinct objects, each written inside the checkout", async () => {
    // Decision (docs/CLI.md): the protocol keeps them apart, as Linux does; on a case-insensitive
    // volume the journal finds the second name occupied and saves it aside instead of overwriting.
    const nfc = "caf\u00e9.txt";
    const nfd = "cafe\u0301.txt";
    server.current = scenario(1, [
      { path: "README", body: "upper\n" },
      { path: "readme", body: "lower\n" },
      { path: nfc, body: "nfc\n" },
      { path: nfd, body: "nfd\n" },
    ]);
    const beforeOutside = picture(outside);
    const result = await zsync(["checkout", server.url, "cases", "-q"], { cwd: work, env: env() });
    assert.equal(result.code, 0, result.stderr);
    const files = picture(join(work, "cases"), { skip: (p) => p.startsWith(".zsync") });
    assert.deepEqual([...files.keys()].sort(), ["README", nfd, nfc, "readme"].sort());
    assert.equal(await readFile(join(work, "cases", "readme"), "utf8"), "lower\n");
    assert.deepEqual(picture(outside), beforeOutside);
  });
});

describe("a symlink in the user's checkout is never followed by an update", () => {
  const server = new HostileServer();
  let work: string;
  let outside: string;
  let co: string;
  const env = () => ({ HOME: work, ZSYNC_PASSWORD: undefined });
  const base = () => scenario(1, [{ path: "a.txt", body: "hello\n" }, { path: "docs/d.txt", body: "doc\n" }], ["docs"]);

  before(async () => {
    await server.start();
    work = await tempDir("zsync-symlink-");
    outside = await tempDir("zsync-outside-");
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await rm(join(work, "co"), { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
    await mkdir(outside);
    await writeFile(join(outside, "precious.txt"), "do not touch\n");
    server.current = base();
    co = join(work, "co");
    const result = await zsync(["checkout", server.url, "co", "-q"], { cwd: work, env: env() });
    assert.equal(result.code, 0, result.stderr);
  });

  /** Runs `zsync ARGS` in the checkout; asserts it fails with `why` and changes nothing, inside or out. */
  async function refused(args: string[], why: RegExp): Promise<void> {
    const skipLock = { skip: (p: string) => p === ".zsync/lock" };
    const beforeCo = picture(co, skipLock);
    const beforeOutside = picture(outside);
    const result = await zsync(args, { cwd: co, env: env() });
    assert.notEqual(result.code, 0, `zsync ${args.join(" ")} should fail:\n${result.stdout}${result.stderr}`);
    assert.match(result.stderr, why);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    assert.deepEqual(picture(outside), beforeOutside, "nothing written outside the checkout");
    assert.deepEqual(picture(co, skipLock), beforeCo, "the checkout's files and .zsync/ are unchanged");
  }

  test("the server sends link/evil where the user has link -> outside (folder entry and file)", async () => {
    await symlink(outside, join(co, "link"));
    server.current = scenario(2, [{ path: "link/evil", body: "pwned\n" }], ["link"], { since: 1 });
    await refused(["update"], /"link\/evil" lies beyond the symbolic link "link", which zsync never follows; refused, nothing was written/);
  });

  test("the server sends only link/evil (no folder entry)", async () => {
    await symlink(outside, join(co, "link"));
    server.current = scenario(2, [{ path: "link/evil", body: "pwned\n" }], [], { since: 1 });
    await refused(["update"], /lies beyond the symbolic link "link"/);
  });

  test("a versioned folder replaced by a symlink: a change inside it is not written through", async () => {
    await rm(join(co, "docs"), { recursive: true });
    await symlink(outside, join(co, "docs"));
    server.current = scenario(2, [{ path: "docs/d.txt", body: "doc v2\n" }, { path: "docs/precious.txt", body: "overwritten\n" }], ["docs"], { since: 1 });
    await refused(["update"], /lies beyond the symbolic link "docs"/);
  });

  test("a versioned folder replaced by a symlink: a deletion inside it is not carried out", async () => {
    await rm(join(co, "docs"), { recursive: true });
    await symlink(outside, join(co, "docs"));
    await writeFile(join(outside, "d.txt"), "doc\n"); // same bytes as the BASE: a plain update would delete it
    server.current = scenario(2, [], [], { since: 1 });
    (server.current.manifest as { deleted: string[] }).deleted.push("docs/d.txt");
    await refused(["update"], /lies beyond the symbolic link "docs"/);
  });

  test("revert does not restore a file through a symlinked folder", async () => {
    await rm(join(co, "docs"), { recursive: true });
    await symlink(outside, join(co, "docs"));
    await refused(["revert", "docs/d.txt"], /lies beyond the symbolic link "docs"/);
  });

  test("the server sends .zsync/ content in an update", async () => {
    server.current = scenario(2, [{ path: ".zsync/entries.json", body: "{}" }], [], { since: 1 });
    await refused(["update"], /reserved for the checkout's admin folder/);
  });

  test("an update that deletes the checkout root itself", async () => {
    server.current = scenario(2, [], [], { since: 1 });
    (server.current.manifest as { deleted: string[] }).deleted.push("");
    await refused(["update"], /sent an invalid snapshot, refused before anything was written: deleted: the checkout's root "" cannot be deleted/);
  });

  test("a path listed both as changed and as deleted", async () => {
    server.current = scenario(2, [{ path: "a.txt", body: "changed\n" }], [], { since: 1 });
    (server.current.manifest as { deleted: string[] }).deleted.push("a.txt");
    await refused(["update"], /"a\.txt" is listed both as changed and as deleted/);
  });

  test("an update answered with a revision lower than the checkout's", async () => {
    server.current = scenario(3, [{ path: "a.txt", body: "three\n" }], [], { since: 1 });
    const up = await zsync(["update", "-q"], { cwd: co, env: env() });
    assert.equal(up.code, 0, up.stderr);
    server.current = scenario(2, [{ path: "a.txt", body: "two\n" }], [], { since: 3 });
    await refused(["update"], /answered with revision 2, but the checkout is already at revision 3; refused, nothing in the checkout was changed/);
    server.current = scenario(2, [{ path: "a.txt", body: "two\n" }], [], { since: 3 });
    await refused(["update", "-r", "4"], /answered with revision 2, but revision 4 was asked for/);
  });

  test("a file whose declared size differs from its body", async () => {
    server.current = scenario(2, [{ path: "a.txt", body: "longer body\n" }], [], { since: 1 });
    (server.current.manifest as { entries: { path: string; size?: number }[] }).entries.find((e) => e.path === "a.txt")!.size = 3;
    await refused(["update"], /sent 12 bytes for a\.txt but its manifest declared 3; nothing in the checkout was changed/);
  });

  test("a symlinked file in the checkout is never versioned (add skips it)", async () => {
    await symlink(join(outside, "precious.txt"), join(co, "secret.txt"));
    const result = await zsync(["add", "secret.txt"], { cwd: co, env: env() });
    assert.match(result.stderr + result.stdout, /is a symbolic link; symlinks are not versioned/);
    const status = await zsync(["status", "--json"], { cwd: co, env: env() });
    assert.equal(JSON.parse(status.stdout).items.some((i: { path: string }) => i.path === "secret.txt"), false);
  });
});

describe("crafted .zsync/ files are refused when read", () => {
  const server = new HostileServer();
  let work: string;
  let co: string;
  let outside: string;
  const env = () => ({ HOME: work, ZSYNC_PASSWORD: undefined });

  before(async () => {
    await server.start();
    work = await tempDir("zsync-admin-");
    outside = await tempDir("zsync-outside-");
  });
  after(async () => {
    await server.stop();
    await rm(work, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await rm(join(work, "co"), { recursive: true, force: true });
    server.current = scenario(1, [{ path: "a.txt", body: "hello\n" }]);
    co = join(work, "co");
    assert.equal((await zsync(["checkout", server.url, "co", "-q"], { cwd: work, env: env() })).code, 0);
  });

  async function corruptRefused(file: string, edit: (value: any) => unknown, why: RegExp, command: string[] = ["update"]): Promise<void> {
    const path = join(co, ".zsync", file);
    let value = existsSync(path) ? JSON.parse(await readFile(path, "utf8")) : undefined;
    if (file === "entries.json" && value === undefined) {
      // A checkout in the previous format: entries.json is validated as it is upgraded.
      const index = decodeIndex(readFileSync(join(co, ".zsync/index")));
      value = { format: 1, revision: index.revision, entries: Object.fromEntries(index.entries) };
      await rm(join(co, ".zsync/index"));
    }
    await writeFile(path, JSON.stringify(edit(value)));
    const beforeCo = picture(co, { skip: (p) => p === ".zsync/lock" });
    const beforeOutside = picture(outside);
    const result = await zsync(command, { cwd: co, env: env() });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, why);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.deepEqual(picture(co, { skip: (p) => p === ".zsync/lock" }), beforeCo, "nothing changed in the checkout");
    assert.deepEqual(picture(outside), beforeOutside, "nothing written outside");
  }

  const configCases: [string, (c: any) => unknown, RegExp][] = [
    ["credentials in the origin", (c) => ({ ...c, origin: c.origin.replace("://", "://u:secret@") }), /origin must not carry credentials/],
    ["a path in the origin", (c) => ({ ...c, origin: c.origin + "/elsewhere" }), /origin must be a bare scheme:\/\/host\[:port\], without a path/],
    ["an unsupported scheme", (c) => ({ ...c, origin: "file:///etc" }), /only http, https and zsync\+ssh servers/],
    ["'..' in the repository path", (c) => ({ ...c, path: "demo/../other" }), /path: invalid archive path/],
    ["an unknown depth", (c) => ({ ...c, depth: "bottomless" }), /depth must be/],
    ["a relative CA path", (c) => ({ ...c, ca: "ca.pem" }), /ca must be an absolute file path/],
    ["not an object", () => [1, 2], /not a JSON object/],
  ];
  for (const [what, edit, why] of configCases) {
    test(`config.json: ${what}`, async () => corruptRefused("config.json", edit, why));
  }

  test("entries.json: a path with '..'", async () => {
    await corruptRefused("entries.json", (e) => ({ ...e, entries: { ...e.entries, "../outside.txt": e.entries["a.txt"] } }), /entries\.json is corrupt \(bad path/);
  });

  test("entries.json: a path into .zsync", async () => {
    await corruptRefused("entries.json", (e) => ({ ...e, entries: { ...e.entries, ".zsync/config.json": e.entries["a.txt"] } }), /entries\.json is corrupt \(bad path/);
  });

  test("entries.json: a conflict artifact outside the checkout (revert would delete it)", async () => {
    await writeFile(join(outside, "victim.txt"), "keep me\n");
    const rel = join("..", "..", outside, "victim.txt");
    await corruptRefused(
      "entries.json",
      (e) => ({ ...e, entries: { ...e.entries, "a.txt": { ...e.entries["a.txt"], conflict: { kind: "text", artifacts: [rel] } } } }),
      /bad conflict artifact of "a\.txt"/,
      ["revert", "a.txt"],
    );
    assert.equal(await readFile(join(outside, "victim.txt"), "utf8"), "keep me\n");
  });

  test("journal.json: a step aimed outside the checkout is never carried out", async () => {
    const target = join(outside, "journal-victim.txt");
    await writeFile(target, "keep me\n");
    await corruptRefused(
      "journal.json",
      () => ({ command: "update", steps: [{ do: "delete", path: `../../..${outside}/journal-victim.txt`, expect: "any" }], entries: {} }),
      /journal\.json is not a valid journal \(.*'\.\.' component\); nothing was done/,
      ["status"],
    );
    assert.equal(await readFile(target, "utf8"), "keep me\n");
  });
});
