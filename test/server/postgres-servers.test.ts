/**
 * Several zsync-server processes on one PostgreSQL database, driven by the real `zsync` client:
 * concurrent commits through all of them decide one winner per base with gap-free revision
 * numbers; a server killed in the middle of a large commit leaves the database whole; a database
 * that goes away under a running server gives 503 JSON answers and recovers by itself.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { openStore } from "../../src/server/store/open.js";
import type { Store } from "../../src/server/store/types.js";
import type { CommitManifest } from "../../src/protocol/types.js";
import { createZsyncClient } from "../../src/transport/http/client.js";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { postgresCluster, type PostgresCluster } from "../helpers/postgres.js";
import { DEMO_AUTH, peakRssGrowthDuring, startServer, tempDir, type TestServer } from "../helpers/server.js";

/** Client processes in the concurrency test (the issue asks for 50; ZSYNC_TEST_COMMITTERS overrides). */
const COMMITTERS = Number(process.env.ZSYNC_TEST_COMMITTERS ?? 50);

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Starts a server on the shared database (the first one seeds the demo account and content). */
function serverOn(spec: string, opts: { demo?: boolean } = {}): Promise<TestServer> {
  return startServer({ demo: opts.demo ?? false, args: ["--store", spec, "--quiet"] });
}

/** Every revision number in the log, oldest first: must be 0..head with no gap or duplicate. */
async function revisionNumbers(store: Store): Promise<number[]> {
  return (await store.log("")).map((r) => r.revision).reverse();
}

describe("three servers on one database", () => {
  let cluster: PostgresCluster;
  let spec: string;
  let servers: TestServer[] = [];
  let store: Store;
  before(async () => {
    cluster = await postgresCluster();
    spec = cluster.newSpec("servers");
    servers.push(await serverOn(spec, { demo: true }));
    servers.push(...(await Promise.all([serverOn(spec), serverOn(spec)])));
    store = await openStore(spec);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await store?.close();
  });

  test(`${COMMITTERS} concurrent zsync commits over three servers: one winner per base, no lost or torn commit, no gap`, async () => {
    const work = await tempDir("zsync-pg-commits-");
    // One checkout through each server, then copies of it (a checkout per process would cost 50 more processes).
    const origins = servers.map((s) => s.url.replace("://", "://zsync@"));
    for (let i = 0; i < 3; i++) {
      const co = await zsync(["checkout", `${origins[i]}/demo`, `base${i}`, "-q"], { cwd: work });
      assert.equal(co.code, 0, co.stderr);
    }
    const jobs = Array.from({ length: COMMITTERS }, (_, k) => {
      const shared = k % 2 === 0;
      const path = shared ? "shared.txt" : `own-${k}.txt`;
      return { k, shared, path, content: `committer ${k} via server ${k % 3}\n`, dir: join(work, `wc${k}`) };
    });
    // One revision adds the shared file and every committer's own file; each committer then edits one.
    const paths = [...new Set(jobs.map((j) => j.path))];
    for (const path of paths) await writeFile(join(work, "base0", path), `${path}, as first committed\n`);
    const add = await zsync(["add", ...paths], { cwd: join(work, "base0") });
    assert.equal(add.code, 0, add.stderr);
    const first = await zsyncJson<{ revision: number }>(["commit", "-m", "files to edit"], { cwd: join(work, "base0") });
    assert.equal(first.code, 0, first.stderr);
    for (let i = 1; i < 3; i++) assert.equal((await zsync(["update", "-q"], { cwd: join(work, `base${i}`) })).code, 0);
    const base = first.json.revision;
    for (const job of jobs) {
      await cp(join(work, `base${job.k % 3}`), job.dir, { recursive: true });
      await writeFile(join(job.dir, job.path), job.content);
    }
    const results = await Promise.all(
      jobs.map(async (job) => ({ job, result: await zsync(["commit", "-m", `commit ${job.k}`, "--json"], { cwd: job.dir }) })),
    );

    const wins: { revision: number; path: string; content: string }[] = [];
    let sharedWins = 0;
    for (const { job, result } of results) {
      if (result.code === 0) {
        const revision = (JSON.parse(result.stdout) as { revision: number }).revision;
        wins.push({ revision, path: job.path, content: job.content });
        if (job.shared) sharedWins++;
      } else {
        // Only an edit of the shared file may lose, and only as out of date.
        assert.ok(job.shared, `committer ${job.k} (own file) failed: ${result.stderr}`);
        assert.match(result.stderr + result.stdout, /out of date|out-of-date/i, `committer ${job.k}: ${result.stderr}`);
      }
    }
    assert.equal(sharedWins, 1, "exactly one edit of the shared file wins its base");
    assert.equal(wins.length, COMMITTERS / 2 + 1);
    const { head } = await store.info();
    assert.equal(head, base + wins.length);
    assert.deepEqual(await revisionNumbers(store), Array.from({ length: head + 1 }, (_, r) => r));
    assert.deepEqual(wins.map((w) => w.revision).sort((a, b) => a - b), Array.from({ length: wins.length }, (_, i) => base + 1 + i));
    for (const win of wins) {
      const object = await store.getObject(`demo/${win.path}`, { revision: win.revision });
      assert.ok(object?.hash, `revision ${win.revision} has demo/${win.path}`);
      assert.equal((await readAll(store.readBlob(object.hash))).toString(), win.content);
      const [entry] = await store.log(`demo/${win.path}`, { from: win.revision, limit: 1 });
      assert.equal(entry!.revision, win.revision, `revision ${win.revision} changed demo/${win.path}`);
    }
  });

  test("kill -9 of a server while it writes a large commit: whole commit or none; the others serve; it restarts", async () => {
    const size = 96 * 1024 * 1024;
    const block = Buffer.alloc(1024 * 1024, "zsync ");
    const hash = createHash("sha256");
    for (let sent = 0; sent < size; sent += block.length) hash.update(block);
    const bigHash = hash.digest("hex");
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let sent = 0; sent < size; sent += block.length) yield block;
    }
    const victim = servers[2]!;
    const { head: before } = await store.info();
    const client = createZsyncClient({ origin: victim.url, user: "zsync", password: "zsync" });
    const manifest: CommitManifest = { protocol: 1, note: "big", changes: [{ path: "big.bin", kind: "file", schedule: "added", content: true }] };
    const attempt = client.commit("demo", manifest, [{ kind: "file", path: "big.bin", size, body }]).catch((e: unknown) => e);
    // The body has arrived and the server is writing the blob into PostgreSQL: kill it there.
    for (;;) {
      const writing = await cluster.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'INSERT INTO blob_chunks%' AND state = 'active'");
      if (writing.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await victim.kill();
    assert.ok((await attempt) instanceof Error, "the client sees a failure");

    // The other servers keep serving, and the database is at the previous revision.
    for (const s of servers.slice(0, 2)) {
      const info = await request(`${s.url}/.well-known/zsync`, { headers: { authorization: DEMO_AUTH } });
      assert.equal(info.statusCode, 200);
      assert.equal(((await info.body.json()) as { repository: { revision: number } }).repository.revision, before);
    }
    assert.equal((await store.info()).head, before);
    assert.equal(await store.getObject("demo/big.bin"), undefined);
    // Its blob transaction died with its connection: no chunk of it is left once PostgreSQL notices.
    for (;;) {
      const busy = await cluster.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'INSERT INTO blob_chunks%' AND state <> 'idle'");
      if (busy.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const chunks = await cluster.query<{ n: number }>(`SELECT CAST(COUNT(*) AS INTEGER) AS n FROM ${new URL(spec).searchParams.get("schema")}.blob_chunks WHERE hash = $1`, [bigHash]);
    assert.equal(chunks[0]!.n, 0);

    // Restarted on the same database, it takes the same commit whole.
    const restarted = await serverOn(spec);
    servers[2] = restarted;
    const again = createZsyncClient({ origin: restarted.url, user: "zsync", password: "zsync" });
    const result = await again.commit("demo", manifest, [{ kind: "file", path: "big.bin", size, body }]);
    assert.equal(result.revision, before + 1);
    const object = await store.getObject("demo/big.bin");
    assert.equal(object?.size, size);
    assert.equal(object?.hash, bigHash);
  });

  test("a large file is committed through PostgreSQL and read back with bounded server memory", async () => {
    const size = Number(process.env.ZSYNC_TEST_BIG_BYTES ?? 1024 ** 3);
    const server = servers[1]!;
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let sent = 0; sent < size; sent += block.length) yield sent + block.length <= size ? block : block.subarray(0, size - sent);
    }
    const expected = createHash("sha256");
    for await (const chunk of body()) expected.update(chunk);
    const client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
    // A 2-chunk commit and read first: what the server loads and caches on its first upload and
    // blob read is not growth that comes with the size of a file.
    await client.commit("demo", { protocol: 1, changes: [{ path: "warm.bin", kind: "file", schedule: "added", content: true }] }, [
      { kind: "file", path: "warm.bin", size: 2 * block.length, body: Buffer.concat([block, block]) },
    ]);
    for await (const chunk of await client.cat("demo/warm.bin")) void chunk;
    const { baseline, peak, growth } = await peakRssGrowthDuring(server.process.pid!, async () => {
      await client.commit("demo", { protocol: 1, changes: [{ path: "huge.bin", kind: "file", schedule: "added", content: true }] }, [
        { kind: "file", path: "huge.bin", size, body },
      ]);
      const hash = createHash("sha256");
      let received = 0;
      for await (const chunk of await client.cat("demo/huge.bin")) {
        hash.update(chunk);
        received += chunk.length;
      }
      assert.equal(received, size);
      assert.equal(hash.digest("hex"), expected.digest("hex"));
    });
    console.log(`# server peak RSS (VmHWM) on PostgreSQL: baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak ${(peak / 2 ** 20).toFixed(1)} MiB, growth ${(growth / 2 ** 20).toFixed(1)} MiB for ${size} bytes`);
    assert.ok(growth < 100 * 1024 * 1024, `peak RSS (VmHWM) grew by ${growth} bytes`);
  });

  test("PostgreSQL stopped under running servers: 503 JSON, nothing half-written, recovery without a restart", async () => {
    const { head: before } = await store.info();
    const work = await tempDir("zsync-pg-down-");
    const origin = servers[0]!.url.replace("://", "://zsync@");
    assert.equal((await zsync(["checkout", `${origin}/demo`, "wc", "-q"], { cwd: work })).code, 0);
    await writeFile(join(work, "wc", "during-outage.txt"), "written while the database was down\n");
    assert.equal((await zsync(["add", "during-outage.txt"], { cwd: join(work, "wc") })).code, 0);

    cluster.stopServer();
    try {
      for (const s of servers) {
        const answer = await request(`${s.url}/.well-known/zsync`, { headers: { authorization: DEMO_AUTH } });
        assert.equal(answer.statusCode, 503);
        assert.equal(answer.headers["retry-after"], "5", "a 503 says when to try again");
        assert.match(String(answer.headers["content-type"]), /application\/json/);
        assert.equal(((await answer.body.json()) as { error: { code: string } }).error.code, "store-unavailable");
      }
      const failed = await zsync(["commit", "-m", "during the outage"], { cwd: join(work, "wc") });
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr, /unavailable|503/i);
    } finally {
      cluster.startServer();
    }
    // The same servers answer again (their pools reconnect), and the failed commit left nothing.
    for (const s of servers) {
      const answer = await request(`${s.url}/.well-known/zsync`, { headers: { authorization: DEMO_AUTH } });
      assert.equal(answer.statusCode, 200, await answer.body.text());
    }
    assert.equal((await store.info()).head, before);
    const retried = await zsyncJson<{ revision: number }>(["commit", "-m", "after the outage"], { cwd: join(work, "wc") });
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal(retried.json.revision, before + 1);
    assert.equal(await readFile(join(work, "wc", "during-outage.txt"), "utf8"), "written while the database was down\n");
  });
});
