/**
 * Accounts, roles and grants against the real zsync-server process: a matrix of principals ×
 * operations × {readable, hidden, missing} path, with the store checked unchanged after every
 * refusal; hidden paths answered exactly like missing ones; the real `zsync` client's message
 * for a reader's commit; account changes on a running server; no password in any log line.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { MANIFEST_RECORD } from "../../src/protocol/types.js";
import { zsync } from "../helpers/cli.js";
import { SERVER_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";

/** Distinctive passwords, searched for in every log afterwards. */
const PASSWORDS: Record<string, string> = {
  rita: "rita-Secret-7Qx",
  ed: "ed-Secret-4Lm",
  mia: "mia-Secret-9Pz",
  nina: "nina-Secret-2Wd",
  rob: "rob-Secret-5Hk",
  lena: "lena-Secret-8Jc",
};
const LENA_NEW_PASSWORD = "lena-Changed-3Tv";
const WRONG_PASSWORD = "wrong-Secret-6Yb";

/** Runs `zsync-server --data-dir DIR ARGS` (with `input` on stdin); fails the test on a non-zero exit. */
function serverCli(dataDir: string, args: string[], input = ""): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_BIN, "--data-dir", dataDir, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`zsync-server ${args.join(" ")} exited ${code}:\n${stdout}\n${stderr}`))));
    child.stdin.end(input);
  });
}

const basic = (user: string, password: string) => "Basic " + Buffer.from(`${user}:${password}`).toString("base64");

interface Answer {
  status: number;
  body: string;
  contentType: string;
}

async function call(url: string, opts: { auth?: string; method?: "GET" | "POST"; body?: Buffer } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (opts.auth) headers.authorization = opts.auth;
  if (opts.body) headers["content-type"] = "application/x-snarf";
  const response = await request(url, { method: opts.method ?? "GET", headers, body: opts.body });
  const body = Buffer.from(await response.body.arrayBuffer()).toString("latin1");
  return { status: response.statusCode, body, contentType: String(response.headers["content-type"] ?? "") };
}

/** A SNARF archive of file records. */
function snarf(records: [string, string][]): Buffer {
  return Buffer.concat(records.map(([path, text]) => Buffer.concat([Buffer.from(`${Buffer.byteLength(text)} ${path}\n`), Buffer.from(text)])));
}

function manifestOf(body: string): { root: string; revision: number; entries: { path: string; revision: number; hash?: string }[]; deleted: string[] } {
  const newline = body.indexOf("\n");
  const [size, path] = body.slice(0, newline).split(" ");
  assert.equal(path, MANIFEST_RECORD);
  return JSON.parse(Buffer.from(body.slice(newline + 1, newline + 1 + Number(size)), "latin1").toString("utf8"));
}

/** Who asks. `read`/`write` are the documented rules for this principal, written out as a model. */
interface Principal {
  key: string;
  auth?: string;
  authenticated: boolean;
  read(path: string): boolean;
  write(path: string): boolean;
}

const under = (path: string, base: string) => path === base || path.startsWith(base + "/");

const PRINCIPALS: Principal[] = [
  { key: "nobody", authenticated: false, read: () => false, write: () => false },
  { key: "wrong", auth: basic("mia", WRONG_PASSWORD), authenticated: false, read: () => false, write: () => false },
  { key: "rita", auth: basic("rita", PASSWORDS.rita), authenticated: true, read: () => true, write: () => false },
  { key: "ed", auth: basic("ed", PASSWORDS.ed), authenticated: true, read: () => true, write: () => true },
  { key: "mia", auth: basic("mia", PASSWORDS.mia), authenticated: true, read: () => true, write: () => true },
  { key: "nina", auth: basic("nina", PASSWORDS.nina), authenticated: true, read: (p) => !under(p, "demo/secret"), write: (p) => !under(p, "demo/secret") },
  { key: "rob", auth: basic("rob", PASSWORDS.rob), authenticated: true, read: () => true, write: (p) => under(p, "demo/docs") },
];
const MANAGER = basic("mia", PASSWORDS.mia);

/** The three kinds of target: readable for most, hidden from nina, missing for everyone. */
const COLUMNS = [
  { kind: "readable", folder: "demo/docs", file: "demo/docs/notes.txt" },
  { kind: "hidden", folder: "demo/secret", file: "demo/secret/plan.txt" },
  { kind: "missing", folder: "demo/nosuch", file: "demo/nosuch/plan.txt" },
] as const;
type Column = (typeof COLUMNS)[number];

/** Revision 1 is the demo seed, 2 adds /demo/secret, 3 changes both /demo/secret and /demo/docs. */
const OLD = 2;
const BASE = 3;

interface Operation {
  name: string;
  writes: boolean;
  /** Only asked once per principal (the column does not matter). */
  global?: boolean;
  run(p: Principal, c: Column, origin: string): Promise<Answer>;
  /** For an allowed write: that it happened, seen by the manager. */
  verify?(p: Principal, c: Column, origin: string): Promise<void>;
}

const OPERATIONS: Operation[] = [
  { name: "info", writes: false, global: true, run: (p, _c, o) => call(`${o}/.well-known/zsync`, { auth: p.auth }) },
  { name: "snapshot head", writes: false, run: (p, c, o) => call(`${o}/${c.folder}/@@toFS.snarf`, { auth: p.auth }) },
  { name: "snapshot ?since", writes: false, run: (p, c, o) => call(`${o}/${c.folder}/@@toFS.snarf?since=1`, { auth: p.auth }) },
  { name: "snapshot ?rev old", writes: false, run: (p, c, o) => call(`${o}/${c.folder}/@@toFS.snarf?rev=${OLD}`, { auth: p.auth }) },
  { name: "log", writes: false, run: (p, c, o) => call(`${o}/${c.folder}/@@log`, { auth: p.auth }) },
  { name: "cat head", writes: false, run: (p, c, o) => call(`${o}/${c.file}/@@cat`, { auth: p.auth }) },
  { name: "cat old rev", writes: false, run: (p, c, o) => call(`${o}/${c.file}/@@cat?rev=${OLD}`, { auth: p.auth }) },
  {
    name: "commit modify",
    writes: true,
    run: (p, c, o) =>
      call(`${o}/${c.folder}/@@fromFS.snarf`, {
        auth: p.auth,
        method: "POST",
        body: snarf([
          [MANIFEST_RECORD, JSON.stringify({ protocol: 1, note: "modify", changes: [{ path: `mod-${p.key}.txt`, kind: "file", schedule: "modified", baseRevision: BASE, content: true }] })],
          [`mod-${p.key}.txt`, `modified by ${p.key}`],
        ]),
      }),
    async verify(p, c, o) {
      assert.equal((await call(`${o}/${c.folder}/mod-${p.key}.txt/@@cat`, { auth: MANAGER })).body, `modified by ${p.key}`);
    },
  },
  {
    name: "commit add",
    writes: true,
    run: (p, c, o) =>
      call(`${o}/${c.folder}/@@fromFS.snarf`, {
        auth: p.auth,
        method: "POST",
        body: snarf([
          [MANIFEST_RECORD, JSON.stringify({ protocol: 1, note: "add", changes: [{ path: `add-${p.key}.txt`, kind: "file", schedule: "added", content: true }] })],
          [`add-${p.key}.txt`, `added by ${p.key}`],
        ]),
      }),
    async verify(p, c, o) {
      assert.equal((await call(`${o}/${c.folder}/add-${p.key}.txt/@@cat`, { auth: MANAGER })).body, `added by ${p.key}`);
    },
  },
  {
    name: "commit delete",
    writes: true,
    run: (p, c, o) =>
      call(`${o}/${c.folder}/@@fromFS.snarf`, {
        auth: p.auth,
        method: "POST",
        body: snarf([[MANIFEST_RECORD, JSON.stringify({ protocol: 1, note: "delete", changes: [{ path: `del-${p.key}.txt`, kind: "file", schedule: "removed", baseRevision: BASE }] })]]),
      }),
    async verify(p, c, o) {
      assert.equal((await call(`${o}/${c.folder}/del-${p.key}.txt/@@cat`, { auth: MANAGER })).status, 404);
    },
  },
  {
    name: "checkin",
    writes: true,
    run: (p, c, o) => call(`${o}/${c.folder}/@@checkin.snarf?name=ci-${p.key}.txt`, { auth: p.auth, method: "POST", body: snarf([[`ci-${p.key}.txt`, `imported by ${p.key}`]]) }),
    async verify(p, c, o) {
      assert.equal((await call(`${o}/${c.folder}/ci-${p.key}.txt/@@cat`, { auth: MANAGER })).body, `imported by ${p.key}`);
    },
  },
];

/** Head revision and the whole repository as the manager sees it. */
async function storeState(origin: string): Promise<{ head: number; entries: string }> {
  const info = JSON.parse((await call(`${origin}/.well-known/zsync`, { auth: MANAGER })).body);
  const snapshot = await call(`${origin}/@@toFS.snarf`, { auth: MANAGER });
  return { head: info.repository.revision, entries: JSON.stringify(manifestOf(snapshot.body).entries) };
}

describe("permissions", () => {
  let dataDir: string;
  let server: TestServer;
  let work: string;
  const cliOutput: string[] = [];

  before(async () => {
    dataDir = await tempDir("zsync-perm-");
    work = await tempDir("zsync-perm-work-");
    const roles: Record<string, string> = { rita: "reader", ed: "editor", mia: "manager", nina: "editor", rob: "reader", lena: "reader" };
    for (const [name, role] of Object.entries(roles)) {
      const out = await serverCli(dataDir, ["user", "add", name, "--role", role, "--password-stdin"], PASSWORDS[name] + "\n");
      cliOutput.push(out.stdout, out.stderr);
    }
    for (const grant of [["nina", "/demo/secret", "none"], ["rob", "demo/docs", "editor"]]) {
      const out = await serverCli(dataDir, ["grant", ...grant]);
      cliOutput.push(out.stdout, out.stderr);
    }
    // The matrix sends dozens of wrong passwords from one address on purpose: lift the failed-login limit.
    server = await startServer({ dataDir, args: ["--max-login-failures", "1000"] });

    // Revision 2: /demo/secret; revision 3: changes in both /demo/secret and /demo/docs.
    const perPrincipal = (prefix: string) => PRINCIPALS.flatMap((p) => [`${prefix}mod-${p.key}.txt`, `${prefix}del-${p.key}.txt`]);
    const checkin = await call(`${server.url}/demo/@@checkin.snarf?name=secret`, {
      auth: MANAGER,
      method: "POST",
      body: snarf([["secret/plan.txt", "plan v1"], ...perPrincipal("secret/").map((path): [string, string] => [path, `seed ${path}`])]),
    });
    assert.equal(checkin.status, 200, checkin.body);
    const changes = [
      { path: "secret/plan.txt", kind: "file", schedule: "modified", baseRevision: OLD, content: true },
      { path: "docs/notes.txt", kind: "file", schedule: "modified", baseRevision: 1, content: true },
      ...perPrincipal("docs/").map((path) => ({ path, kind: "file", schedule: "added", content: true })),
    ];
    const commit = await call(`${server.url}/demo/@@fromFS.snarf`, {
      auth: MANAGER,
      method: "POST",
      body: snarf([
        [MANIFEST_RECORD, JSON.stringify({ protocol: 1, note: "both", changes })],
        ["secret/plan.txt", "plan v2"],
        ["docs/notes.txt", "notes v2"],
        ...perPrincipal("docs/").map((path): [string, string] => [path, `seed ${path}`]),
      ]),
    });
    assert.equal(commit.status, 200, commit.body);
    assert.equal(JSON.parse(commit.body).revision, BASE);
  });

  after(async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  test("the matrix: principals × operations × {readable, hidden, missing}", async () => {
    let allowedWrites = 0;
    let refusedWrites = 0;
    for (const p of PRINCIPALS) {
      for (const op of OPERATIONS) {
        const answers = new Map<string, Answer>();
        for (const c of op.global ? [COLUMNS[0]] : COLUMNS) {
          const where = `${p.key} / ${op.name} / ${c.kind} ${c.folder}`;
          const before = await storeState(server.url);
          const answer = await op.run(p, c, server.url);
          answers.set(c.kind, answer);
          const exists = c.kind !== "missing";
          let expected: number;
          if (!p.authenticated) expected = 401;
          else if (op.global) expected = 200;
          else if (!exists || !p.read(c.folder)) expected = 404;
          else if (op.writes && !p.write(c.folder)) expected = 403;
          else expected = 200;
          assert.equal(answer.status, expected, `${where}: ${answer.body.slice(0, 300)}`);
          if (expected !== 200) {
            const code = { 401: "unauthorized", 403: "forbidden", 404: "not-found" }[expected];
            assert.equal(JSON.parse(answer.body).error.code, code, where);
            assert.deepEqual(await storeState(server.url), before, `${where}: the store changed`);
            if (op.writes) refusedWrites++;
          } else if (op.writes) {
            const afterState = await storeState(server.url);
            assert.equal(afterState.head, before.head + 1, `${where}: one new revision`);
            await op.verify!(p, c, server.url);
            allowedWrites++;
          } else if (op.name.startsWith("snapshot")) {
            assert.equal(manifestOf(answer.body).root, "/" + c.folder, where);
          } else if (op.name.startsWith("cat")) {
            const managers = await call(`${server.url}/${c.file}/@@cat${op.name === "cat old rev" ? `?rev=${OLD}` : ""}`, { auth: MANAGER });
            assert.equal(answer.body, managers.body, where);
          } else if (op.name === "log") {
            assert.ok(JSON.parse(answer.body).revisions.length > 0, where);
          }
          if (expected === 403 && p.key === "rita") assert.match(JSON.parse(answer.body).error.message, /you \(reader\) may not/, where);
        }
        // A path hidden from the principal is indistinguishable from a missing one.
        if (!op.global && p.authenticated && !p.read("demo/secret")) {
          const hidden = answers.get("hidden")!;
          const missing = answers.get("missing")!;
          assert.equal(hidden.status, missing.status, `${p.key} / ${op.name}`);
          assert.equal(hidden.body.replaceAll("/demo/secret", "/demo/nosuch"), missing.body, `${p.key} / ${op.name}: same body`);
          assert.equal(hidden.contentType, missing.contentType);
        }
      }
    }
    assert.ok(allowedWrites >= 4 * 3 && refusedWrites >= 4 * 5, `both kinds happened (${allowedWrites} allowed, ${refusedWrites} refused)`);
  });

  test("hidden paths are absent from listings, deltas, old revisions and logs", async () => {
    const nina = PRINCIPALS.find((p) => p.key === "nina")!.auth;
    for (const query of ["", "?since=1", `?rev=${OLD}`, `?rev=${BASE}`]) {
      const manifest = manifestOf((await call(`${server.url}/demo/@@toFS.snarf${query}`, { auth: nina })).body);
      assert.ok(manifest.entries.some((e) => e.path.startsWith("docs/")), `docs is listed (${query})`);
      assert.ok(!manifest.entries.some((e) => e.path.startsWith("secret")), `secret is not listed (${query})`);
    }
    const rootSnapshot = await call(`${server.url}/@@toFS.snarf`, { auth: nina });
    assert.ok(!rootSnapshot.body.includes("plan v"), "no hidden bytes in the archive");

    // Deleting in the hidden folder after revision BASE: nina's delta shows no deletion.
    const head = (await storeState(server.url)).head;
    const del = await call(`${server.url}/demo/secret/@@fromFS.snarf`, {
      auth: MANAGER,
      method: "POST",
      body: snarf([[MANIFEST_RECORD, JSON.stringify({ protocol: 1, note: "drop plan", changes: [{ path: "plan.txt", kind: "file", schedule: "removed", baseRevision: head }] })]]),
    });
    assert.equal(del.status, 200, del.body);
    const delta = manifestOf((await call(`${server.url}/demo/@@toFS.snarf?since=${head}`, { auth: nina })).body);
    assert.deepEqual(delta.deleted, []);
    assert.deepEqual(manifestOf((await call(`${server.url}/demo/@@toFS.snarf?since=${head}`, { auth: MANAGER })).body).deleted, ["secret/plan.txt"]);

    const log = JSON.parse((await call(`${server.url}/demo/@@log`, { auth: nina })).body).revisions as { revision: number; changes: { path: string }[] }[];
    const revisions = log.map((r) => r.revision);
    assert.ok(!revisions.includes(OLD), "revision 2 changed only hidden paths");
    assert.ok(!revisions.includes(head + 1), "nor did the deletion");
    const both = log.find((r) => r.revision === BASE)!;
    assert.ok(both.changes.length > 0 && both.changes.every((c) => !c.path.startsWith("/demo/secret")), "revision 3 lists only what nina may see");
    const rootLog = await call(`${server.url}/@@log?limit=2`, { auth: nina });
    assert.equal(JSON.parse(rootLog.body).revisions.length, 2);
    assert.ok(!rootLog.body.includes("/demo/secret"));
  });

  test("commit changes and checkins naming hidden paths answer like missing or taken ones, a folder delete over a restricting grant 403", async () => {
    const nina = PRINCIPALS.find((p) => p.key === "nina")!.auth;
    const before = await storeState(server.url);
    const post = (changes: object[], records: [string, string][] = []) =>
      call(`${server.url}/demo/@@fromFS.snarf`, { auth: nina, method: "POST", body: snarf([[MANIFEST_RECORD, JSON.stringify({ protocol: 1, note: "x", changes })], ...records]) });
    const outOfDate = (path: string) => ({ error: { code: "out-of-date", message: `out of date (update first): ${path}`, paths: [path] } });
    const hidden = await post([{ path: "secret/new.txt", kind: "file", schedule: "added", content: true }], [["secret/new.txt", "sneaky"]]);
    assert.equal(hidden.status, 409);
    assert.deepEqual(JSON.parse(hidden.body), outOfDate("secret/new.txt"));
    // Changing or deleting a hidden path answers exactly as for a path that is not there at all.
    for (const schedule of ["modified", "removed"]) {
      const change = (path: string) => [{ path, kind: "file", schedule, baseRevision: before.head, content: schedule === "modified" }];
      const body = (path: string): [string, string][] => (schedule === "modified" ? [[path, "x"]] : []);
      const onHidden = await post(change("secret/plan.txt"), body("secret/plan.txt"));
      const onMissing = await post(change("nothere.txt"), body("nothere.txt"));
      assert.equal(onHidden.status, 409, onHidden.body);
      assert.equal(onMissing.status, 409, onMissing.body);
      assert.deepEqual(JSON.parse(onHidden.body), outOfDate("secret/plan.txt"));
      assert.deepEqual(JSON.parse(onMissing.body), outOfDate("nothere.txt"));
    }
    // A checkin of a hidden name gets what a taken name gets.
    const checkin = (name: string) => call(`${server.url}/demo/@@checkin.snarf?name=${name}`, { auth: nina, method: "POST", body: snarf([[name, "x"]]) });
    const hiddenName = await checkin("secret");
    const takenName = await checkin("docs");
    assert.equal(hiddenName.status, 409);
    assert.deepEqual(JSON.parse(hiddenName.body), { error: { code: "exists", message: "/demo/secret already exists" } });
    assert.deepEqual(JSON.parse(takenName.body), { error: { code: "exists", message: "/demo/docs already exists" } });
    const deleteDemo = await call(`${server.url}/@@fromFS.snarf`, {
      auth: nina,
      method: "POST",
      body: snarf([[MANIFEST_RECORD, JSON.stringify({ protocol: 1, note: "x", changes: [{ path: "demo", kind: "folder", schedule: "removed", baseRevision: before.head }] })]]),
    });
    assert.equal(deleteDemo.status, 403, deleteDemo.body);
    assert.match(JSON.parse(deleteDemo.body).error.message, /may not delete \/demo/);
    assert.deepEqual(await storeState(server.url), before);
  });

  test("a reader's `zsync commit` gets a clear message and changes nothing", async () => {
    const url = `${server.url.replace("://", "://rita@")}/demo`;
    const env = { ZSYNC_PASSWORD: PASSWORDS.rita, HOME: work };
    const co = await zsync(["checkout", url, "rita", "-q"], { cwd: work, env });
    assert.equal(co.code, 0, co.stderr);
    await writeFile(join(work, "rita", "README.txt"), "a reader's edit\n");
    const before = await storeState(server.url);
    const ci = await zsync(["commit", "-m", "try"], { cwd: join(work, "rita"), env });
    assert.equal(ci.code, 1);
    assert.match(ci.stderr, /^zsync: you \(reader\) may not commit to \/demo; nothing was committed\n$/);
    assert.ok(!ci.stderr.includes(" at "), "no stack trace");
    assert.deepEqual(await storeState(server.url), before);
    const status = await zsync(["status"], { cwd: join(work, "rita"), env });
    assert.match(status.stdout, /^M\s+README\.txt$/m, "the edit is still there, still modified");
  });

  test("user passwd, role, grant and remove apply to a running server at once", async () => {
    const oldAuth = basic("lena", PASSWORDS.lena);
    const newAuth = basic("lena", LENA_NEW_PASSWORD);
    const commitAs = (auth: string, name: string) =>
      call(`${server.url}/demo/docs/@@checkin.snarf?name=${name}`, { auth, method: "POST", body: snarf([[name, "lena"]]) });
    assert.equal((await call(`${server.url}/.well-known/zsync`, { auth: oldAuth })).status, 200, "lena's password works (and is now verified and cached)");
    assert.equal((await commitAs(oldAuth, "lena1.txt")).status, 403);

    cliOutput.push(...Object.values(await serverCli(server.dataDir, ["user", "passwd", "lena", "--password-stdin"], LENA_NEW_PASSWORD + "\n")));
    assert.equal((await call(`${server.url}/.well-known/zsync`, { auth: oldAuth })).status, 401, "the old password no longer works");
    assert.equal((await call(`${server.url}/.well-known/zsync`, { auth: newAuth })).status, 200);

    cliOutput.push(...Object.values(await serverCli(server.dataDir, ["user", "role", "lena", "editor"])));
    assert.equal((await commitAs(newAuth, "lena2.txt")).status, 200, "editor now");

    cliOutput.push(...Object.values(await serverCli(server.dataDir, ["grant", "lena", "/demo/docs", "none"])));
    assert.equal((await call(`${server.url}/demo/docs/notes.txt/@@cat`, { auth: newAuth })).status, 404, "hidden now");
    cliOutput.push(...Object.values(await serverCli(server.dataDir, ["grant", "remove", "lena", "/demo/docs"])));
    assert.equal((await call(`${server.url}/demo/docs/notes.txt/@@cat`, { auth: newAuth })).status, 200, "visible again");

    const listed = JSON.parse((await serverCli(server.dataDir, ["user", "list", "--json"])).stdout) as { name: string; role: string; keys: number; grants: unknown[] }[];
    assert.deepEqual(listed.find((a) => a.name === "rob"), { name: "rob", role: "reader", keys: 0, grants: [{ path: "/demo/docs", role: "editor" }] });
    assert.deepEqual(listed.find((a) => a.name === "lena"), { name: "lena", role: "editor", keys: 0, grants: [] });

    cliOutput.push(...Object.values(await serverCli(server.dataDir, ["user", "remove", "lena"])));
    assert.equal((await call(`${server.url}/.well-known/zsync`, { auth: newAuth })).status, 401, "a removed account is refused at once");
  });

  test("no password appears in the server's log or the commands' output", () => {
    const logs = server.stderr() + cliOutput.join("");
    assert.ok(server.stderr().includes("GET /demo/@@toFS.snarf 200 nina"), "the request log was captured");
    for (const password of [...Object.values(PASSWORDS), LENA_NEW_PASSWORD, WRONG_PASSWORD]) {
      assert.ok(!logs.includes(password), `a password is in the logs`);
      assert.ok(!logs.includes(Buffer.from(password).toString("base64").slice(0, 12)), "nor its base64");
    }
  });
});
