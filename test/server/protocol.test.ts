/**
 * The protocol against a real zsync-server process, through undici (src/transport/http).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { request as httpRequest } from "node:http";
import { request } from "undici";
import { readRecordBody } from "../../src/protocol/snarf.js";
import { createZsyncClient, ProtocolError, type ZsyncClient } from "../../src/transport/http/client.js";
import { DEMO_SEED_DIR } from "../../src/server/demo.js";
import { DEMO_AUTH, startServer, type TestServer } from "../helpers/server.js";

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

async function snapshotFiles(client: ZsyncClient, path: string, opts: { since?: number; rev?: number } = {}) {
  const { manifest, records } = await client.snapshot(path, opts);
  const files = new Map<string, string>();
  const dirs: string[] = [];
  for await (const record of records) {
    if (record.kind === "dir") dirs.push(record.path);
    else files.set(record.path, (await readRecordBody(record, 1 << 20)).toString("utf8"));
  }
  return { manifest, files, dirs };
}

/** Sends the path verbatim (undici and fetch would normalize `%2e%2e` away before sending). */
function rawRequest(origin: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(origin, { method, path, headers: { authorization: DEMO_AUTH } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("protocol over HTTP", () => {
  let server: TestServer;
  let client: ZsyncClient;
  before(async () => {
    server = await startServer();
    client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
  });
  after(() => server.stop());

  test("every endpoint needs credentials once accounts exist", async () => {
    for (const path of ["/.well-known/zsync", "/demo/@@toFS.snarf", "/demo/@@log", "/demo/index.html/@@cat", "/nothing"]) {
      const anonymous = await request(server.url + path);
      assert.equal(anonymous.statusCode, 401, path);
      assert.match(String(anonymous.headers["www-authenticate"]), /^Basic/);
      await anonymous.body.dump();
    }
    const post = await request(server.url + "/demo/@@fromFS.snarf", { method: "POST", body: "0 x\n", headers: { "content-type": "application/x-snarf" } });
    assert.equal(post.statusCode, 401);
    await post.body.dump();
    const wrong = createZsyncClient({ origin: server.url, user: "zsync", password: "nope" });
    await assert.rejects(wrong.info(), (e: ProtocolError) => e.status === 401 && e.code === "unauthorized");
  });

  test("/.well-known/zsync announces version, features and repository", async () => {
    const info = await client.info();
    assert.deepEqual(info.protocol.versions, [1]);
    for (const feature of ["snapshot", "snapshot-since", "commit", "checkin", "log"]) assert.ok(info.protocol.features.includes(feature), feature);
    assert.match(info.repository.uuid, /^[0-9a-f-]{36}$/);
    assert.ok(info.repository.revision >= 1);
  });

  test("snapshot of /demo carries the seed content, folders and metadata", async () => {
    const { manifest, files, dirs } = await snapshotFiles(client, "demo");
    assert.equal(manifest.root, "/demo");
    assert.deepEqual(dirs.sort(), ["contacts", "docs", "images", "notes"]);
    assert.equal(files.get("README.txt"), await readFile(DEMO_SEED_DIR + "README.txt", "utf8"));
    const index = manifest.entries.find((e) => e.path === "index.html")!;
    assert.equal(index.meta?.contentType, "text/html");
    assert.equal(index.meta?.extra?.title, "Welcome to the zsync demo");
    assert.equal(index.hash, sha256(await readFile(DEMO_SEED_DIR + "index.html")));
    const rootEntry = manifest.entries.find((e) => e.path === "")!;
    assert.equal(rootEntry.kind, "folder");
    assert.equal(manifest.entries[0].path, "", "the object itself comes first");
    // The image arrives byte for byte.
    const { records } = await client.snapshot("demo/images/logo.png");
    let logo: Buffer | undefined;
    for await (const record of records) logo = await readRecordBody(record, 1 << 20);
    assert.deepEqual(logo, await readFile(DEMO_SEED_DIR + "images/logo.png"));
  });

  test("commit, since-deltas, log and cat", async () => {
    const before = await snapshotFiles(client, "demo");
    const index = before.manifest.entries.find((e) => e.path === "index.html")!;
    const notes = before.manifest.entries.find((e) => e.path === "docs/notes.txt")!;
    const result = await client.commit(
      "demo",
      {
        protocol: 1,
        note: "edit, add, remove",
        changes: [
          { path: "index.html", kind: "file", schedule: "modified", baseRevision: index.revision, content: true },
          { path: "new", kind: "folder", schedule: "added", meta: { extra: { title: "New" } } },
          { path: "new/a.txt", kind: "file", schedule: "added", content: true },
          { path: "docs/notes.txt", kind: "file", schedule: "removed", baseRevision: notes.revision },
          { path: "README.txt", kind: "file", schedule: "modified", baseHash: before.manifest.entries.find((e) => e.path === "README.txt")!.hash, meta: { contentType: "text/plain", extra: { title: "Changed" } } },
        ],
      },
      [
        { kind: "file", path: "index.html", size: 6, body: "<p/>\n " },
        { kind: "file", path: "new/a.txt", size: 2, body: "a\n" },
      ],
    );
    assert.equal(result.revision, before.manifest.revision + 1);
    assert.deepEqual(result.deleted, ["docs/notes.txt"]);
    assert.deepEqual(result.entries.map((e) => e.path).sort(), ["README.txt", "index.html", "new", "new/a.txt"]);
    assert.ok(result.entries.every((e) => e.revision === result.revision));

    const delta = await snapshotFiles(client, "demo", { since: before.manifest.revision });
    assert.equal(delta.manifest.since, before.manifest.revision);
    assert.deepEqual(delta.manifest.deleted, ["docs/notes.txt"]);
    assert.deepEqual(delta.manifest.entries.map((e) => e.path).sort(), ["README.txt", "index.html", "new", "new/a.txt"]);
    assert.equal(delta.files.get("index.html"), "<p/>\n ");
    assert.equal(delta.manifest.entries.find((e) => e.path === "README.txt")!.meta?.extra?.title, "Changed");

    const empty = await snapshotFiles(client, "demo", { since: result.revision });
    assert.deepEqual(empty.manifest.entries, []);
    assert.deepEqual(empty.manifest.deleted, []);

    const log = await client.log("demo");
    assert.equal(log[0].revision, result.revision);
    assert.equal(log[0].note, "edit, add, remove");
    assert.equal(log[0].author, "zsync");
    assert.deepEqual(
      log[0].changes.map((c) => `${c.action} ${c.path}`).sort(),
      ["A /demo/new", "A /demo/new/a.txt", "D /demo/docs/notes.txt", "M /demo/README.txt", "M /demo/index.html"],
    );
    const old = await client.cat("demo/index.html", { rev: before.manifest.revision });
    let text = "";
    for await (const chunk of old) text += chunk;
    assert.equal(text, await readFile(DEMO_SEED_DIR + "index.html", "utf8"));
    // Any revision can be served as a snapshot.
    const past = await snapshotFiles(client, "demo", { rev: before.manifest.revision });
    assert.ok(past.files.has("docs/notes.txt"));
  });

  test("a stale base gets 409 with the paths and changes nothing", async () => {
    const { manifest } = await snapshotFiles(client, "demo");
    const guide = manifest.entries.find((e) => e.path === "docs/guide.md")!;
    await client.commit("demo", { protocol: 1, changes: [{ path: "docs/guide.md", kind: "file", schedule: "modified", baseRevision: guide.revision, content: true }] }, [
      { kind: "file", path: "docs/guide.md", size: 3, body: "v2\n" },
    ]);
    const head = (await client.info()).repository.revision;
    await assert.rejects(
      client.commit("demo", { protocol: 1, changes: [{ path: "docs/guide.md", kind: "file", schedule: "modified", baseRevision: guide.revision, content: true }] }, [
        { kind: "file", path: "docs/guide.md", size: 3, body: "v3\n" },
      ]),
      (e: ProtocolError) => e.status === 409 && e.code === "out-of-date" && e.paths?.[0] === "docs/guide.md",
    );
    assert.equal((await client.info()).repository.revision, head);
    assert.equal((await snapshotFiles(client, "demo")).files.get("docs/guide.md"), "v2\n");
  });

  test("checkin imports a tree as a new object; existing and reserved names are refused", async () => {
    const result = await client.checkin(
      "demo",
      "imported",
      (async function* () {
        yield { kind: "dir" as const, path: "imported" };
        yield { kind: "dir" as const, path: "imported/empty" };
        yield { kind: "file" as const, path: "imported/x/y.txt", size: 2, body: "y\n" };
      })(),
      { note: "import", meta: { "imported/x/y.txt": { contentType: "text/plain" } } },
    );
    assert.deepEqual(result.entries.map((e) => e.path).sort(), ["imported", "imported/empty", "imported/x", "imported/x/y.txt"]);
    const { files, manifest } = await snapshotFiles(client, "demo/imported");
    assert.equal(files.get("x/y.txt"), "y\n");
    assert.equal(manifest.entries.find((e) => e.path === "x/y.txt")!.meta?.contentType, "text/plain");
    await assert.rejects(
      client.checkin("demo", "imported", (async function* () { yield { kind: "file" as const, path: "imported", size: 0, body: "" }; })()),
      (e: ProtocolError) => e.status === 409 && e.code === "exists",
    );
    await assert.rejects(
      client.checkin("demo", "@@evil", (async function* () { yield { kind: "file" as const, path: "x", size: 0, body: "" }; })()),
      (e: ProtocolError) => e.status === 400 && e.code === "reserved-name",
    );
    await assert.rejects(
      client.checkin("demo", "other", (async function* () { yield { kind: "file" as const, path: "elsewhere/x", size: 0, body: "" }; })()),
      (e: ProtocolError) => e.status === 400 && e.code === "bad-archive",
    );
  });

  test("unknown objects, views and methods get clear 4xx answers", async () => {
    await assert.rejects(client.snapshot("nothing/here"), (e: ProtocolError) => e.status === 404 && e.code === "not-found");
    for (const [method, path, status] of [
      ["GET", "/demo/@@nope", 404],
      ["DELETE", "/demo/@@toFS.snarf", 405],
      ["GET", "/demo/@@toFS.snarf?since=abc", 400],
      ["GET", "/demo/@@toFS.snarf?since=999999", 400],
      ["GET", "/demo/%2e%2e/@@toFS.snarf", 400],
      ["GET", "/demo/@@x/@@toFS.snarf", 400],
    ] as const) {
      const response = await rawRequest(server.url, method, path);
      assert.equal(response.status, status, `${method} ${path}`);
      const body = JSON.parse(response.body) as { error: { code: string; message: string } };
      assert.ok(body.error.code && body.error.message, "JSON error with code and message");
    }
  });

  test("a snapshot of more files than one batch holds: every body in manifest order, small and large alike", async () => {
    // Sizes cycle through empty, tiny and a few KiB, with 4 x 1 MiB (one chunk each, past the
    // 4 MiB of a batch) and 1 MiB + 1 (two chunks, streamed) among them: 1100 files, three batches.
    const size = (i: number) => (i >= 300 && i <= 303 ? 1 << 20 : i === 700 ? (1 << 20) + 1 : [0, 1, 100, 5000][i % 4]);
    const body = (i: number) => Buffer.alloc(size(i), `file ${i};`);
    const files = Array.from({ length: 1100 }, (_, i) => ({ path: `batch/f${String(i).padStart(4, "0")}`, i }));
    await client.commit(
      "",
      { protocol: 1, changes: [{ path: "batch", kind: "folder", schedule: "added" }, ...files.map((f) => ({ path: f.path, kind: "file" as const, schedule: "added" as const, content: true }))] },
      files.map((f) => ({ kind: "file" as const, path: f.path, size: size(f.i), body: body(f.i) })),
    );
    const { manifest, records } = await client.snapshot("batch");
    const seen: string[] = [];
    for await (const record of records) {
      if (record.kind === "dir") continue;
      const hash = createHash("sha256");
      for await (const chunk of record.body) hash.update(chunk);
      const i = Number(record.path.slice(1));
      assert.equal(hash.digest("hex"), sha256(body(i)), record.path);
      seen.push(record.path);
    }
    assert.deepEqual(seen, manifest.entries.filter((e) => e.kind === "file").map((e) => e.path));
    assert.equal(seen.length, 1100);
  });
});

test("the server starts with the client's ZSYNC_* variables (ZSYNC_PASSWORD) in its environment", async () => {
  const server = await startServer({ env: { ZSYNC_PASSWORD: "zsync", ZSYNC_NON_INTERACTIVE: "1" } });
  try {
    const client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
    assert.equal((await client.info()).server, "zsync-server");
  } finally {
    await server.stop();
  }
});
