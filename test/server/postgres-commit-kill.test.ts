/**
 * A zsync-server killed with SIGKILL while it is INSIDE its PostgreSQL commit transaction (not
 * merely uploading): the fault-injection point `ZSYNC_TEST_PAUSE_IN_COMMIT` (see
 * src/server/store/postgres/fault-injection.ts) stops the victim's transaction at a known place
 * — right after BEGIN and the repository lock, or with every row of the revision written but no
 * COMMIT — and says so on stderr; the test kills it there. The database stays at the previous
 * revision, the other server keeps serving (its own commit, queued on the lock the victim held,
 * goes through), and the killed server restarts cleanly and commits.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import type { CommitManifest } from "../../src/protocol/types.js";
import { openStore } from "../../src/server/store/open.js";
import type { Store } from "../../src/server/store/types.js";
import { createZsyncClient } from "../../src/transport/http/client.js";
import { postgresCluster, type PostgresCluster } from "../helpers/postgres.js";
import { DEMO_AUTH, startServer, type TestServer } from "../helpers/server.js";

function serverOn(spec: string, opts: { demo?: boolean; env?: Record<string, string> } = {}): Promise<TestServer> {
  return startServer({ demo: opts.demo ?? false, args: ["--store", spec, "--quiet"], env: opts.env });
}

/** Commits one new file `demo/NAME` through `server`. */
function commitFile(server: TestServer, name: string, content: string) {
  const client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
  const manifest: CommitManifest = { protocol: 1, note: `add ${name}`, changes: [{ path: name, kind: "file", schedule: "added", content: true }] };
  const bytes = Buffer.from(content);
  return client.commit("demo", manifest, [{ kind: "file", path: name, size: bytes.length, body: bytes }]);
}

/** Polls PostgreSQL (no clock involved beyond the poll step) until `sql` returns a row. */
async function until(cluster: PostgresCluster, sql: string): Promise<void> {
  while ((await cluster.query(sql)).length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
}

for (const point of ["locked", "written"] as const) {
  describe(`kill -9 inside the commit transaction (${point})`, () => {
    let cluster: PostgresCluster;
    let spec: string;
    let healthy: TestServer;
    let victim: TestServer | undefined;
    let store: Store;
    before(async () => {
      cluster = await postgresCluster();
      spec = cluster.newSpec(`kill_${point}`);
      healthy = await serverOn(spec, { demo: true });
      store = await openStore(spec);
    });
    after(async () => {
      await Promise.all([healthy?.stop(), victim?.stop()]);
      await store?.close();
    });

    test("previous revision kept, the other server serves and commits, the killed one restarts", { timeout: 180_000 }, async () => {
      const schema = new URL(spec).searchParams.get("schema")!;
      const { head: before } = await store.info();
      victim = await serverOn(spec, { env: { ZSYNC_TEST_PAUSE_IN_COMMIT: point } });
      const attempt = commitFile(victim, "victim.txt", "from the server that dies\n").then(
        () => undefined,
        (e: unknown) => e,
      );
      const paused = await victim.waitForStderr(/zsync-test: paused in commit transaction/, 60_000);
      assert.match(paused, new RegExp(`paused in commit transaction \\(${point}, revision ${before + 1}\\)`));
      // The transaction is open in the database (holding the repository lock) and not committed.
      await until(cluster, "SELECT 1 FROM pg_stat_activity WHERE state = 'idle in transaction' AND datname = 'zsync_test'");
      assert.equal((await store.info()).head, before);

      // The other server reads meanwhile; its commit queues on the lock the victim holds.
      const info = await request(`${healthy.url}/.well-known/zsync`, { headers: { authorization: DEMO_AUTH } });
      assert.equal(info.statusCode, 200);
      assert.equal(((await info.body.json()) as { repository: { revision: number } }).repository.revision, before);
      const queued = commitFile(healthy, "healthy.txt", "from the server that lives\n");
      await until(cluster, "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = 'zsync_test'");

      await victim.kill();
      assert.ok((await attempt) instanceof Error, "the victim's client sees a failure");

      // The victim's transaction died with its connection: the queued commit is the next revision.
      const done = await queued;
      assert.equal(done.revision, before + 1);
      assert.equal((await store.info()).head, before + 1);
      assert.equal(await store.getObject("demo/victim.txt"), undefined);
      assert.ok(await store.getObject("demo/healthy.txt"));
      const [entry] = await store.log("", { limit: 1 });
      assert.deepEqual(entry!.changes, [{ path: "demo/healthy.txt", action: "A" }]);
      const revisions = await cluster.query<{ revision: number }>(`SELECT CAST(revision AS INTEGER) AS revision FROM ${schema}.revisions ORDER BY revision`);
      assert.deepEqual(revisions.map((r) => r.revision), Array.from({ length: before + 2 }, (_, r) => r), "no gap, no half revision");
      const orphans = await cluster.query(`SELECT 1 FROM ${schema}.history WHERE revision > $1 AND path = 'demo/victim.txt'`, [before]);
      assert.deepEqual(orphans, []);

      // Restarted without the fault, the killed server starts cleanly and commits the same file.
      victim = await serverOn(spec);
      const again = await commitFile(victim, "victim.txt", "from the server that dies\n");
      assert.equal(again.revision, before + 2);
      assert.equal((await store.getObject("demo/victim.txt"))?.revision, before + 2);
      assert.doesNotMatch(victim.stderr(), /error|paused/i);
    });
  });
}
