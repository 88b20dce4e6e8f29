/**
 * `@@events` with two zsync-server processes on one PostgreSQL database: a commit through server 1
 * reaches an event stream of server 2 (LISTEN/NOTIFY, no polling), and when server 2's LISTEN
 * connection is killed — and cannot come back at once — the commit made meanwhile still reaches
 * the stream, without a gap, once the connection is back; the same after PostgreSQL restarts.
 * The tests wait for events and log lines, never for the clock.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ZsyncClient } from "../../src/transport/http/client.js";
import { createZsyncClient } from "../../src/transport/http/client.js";
import type { ServerEvent } from "../../src/transport/http/events.js";
import { postgresCluster, type PostgresCluster } from "../helpers/postgres.js";
import { startServer, type TestServer } from "../helpers/server.js";

/** The role server 2 logs in as, so that its connections alone can be refused (`NOLOGIN`). */
const SECOND_ROLE = `zsync_events_${process.pid}`;

/** Reads `events` until `done` says so; returns every event read. */
async function readUntil(events: AsyncGenerator<ServerEvent>, done: (seen: ServerEvent[]) => boolean): Promise<ServerEvent[]> {
  const seen: ServerEvent[] = [];
  while (!done(seen)) {
    const next = await events.next();
    if (next.done) throw new Error(`the stream ended after ${JSON.stringify(seen)}`);
    seen.push(next.value);
  }
  return seen;
}

const revisionsOf = (events: ServerEvent[]) => events.flatMap((e) => (e.type === "revision" ? [e.entry.revision] : []));

async function checkin(client: ZsyncClient, name: string): Promise<number> {
  const text = `${name}\n`;
  return (await client.checkin("demo", name, (async function* () {
    yield { kind: "file" as const, path: name, size: Buffer.byteLength(text), body: text };
  })())).revision;
}

describe("@@events across two servers on one PostgreSQL database", () => {
  let cluster: PostgresCluster;
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    cluster = await postgresCluster();
    await cluster.query(`CREATE ROLE ${SECOND_ROLE} LOGIN SUPERUSER`);
    const spec = cluster.newSpec("events");
    first = await startServer({ demo: true, args: ["--store", spec, "--quiet"] });
    const secondSpec = spec.replace("postgres://postgres@", `postgres://${SECOND_ROLE}@`);
    // Not --quiet: a stream's failed store read is reported on the request log.
    second = await startServer({ demo: false, args: ["--store", secondSpec] });
  });
  after(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
  });

  /** A client of each server, and an event stream of server 2 from the head, past its `ready` event. */
  async function streamOnSecond() {
    const viaFirst = createZsyncClient({ origin: first.url, user: "zsync", password: "zsync" });
    const viaSecond = createZsyncClient({ origin: second.url, user: "zsync", password: "zsync" });
    const head = (await viaSecond.info()).repository.revision;
    const abort = new AbortController();
    const stream = await viaSecond.events("demo", { since: head, signal: abort.signal });
    assert.equal((await stream.next()).value?.type, "ready");
    return { viaFirst, head, abort, stream };
  }

  test("a commit through server 1 reaches server 2's stream; a killed LISTEN connection loses no event", { timeout: 120_000 }, async () => {
    const { viaFirst, head, abort, stream } = await streamOnSecond();
    try {
      const r1 = await checkin(viaFirst, "one.txt");
      assert.deepEqual(revisionsOf(await readUntil(stream, (s) => revisionsOf(s).includes(r1))), [r1], "pushed across servers");

      // Server 2's LISTEN connection dies, and reconnecting fails until server 2 may log in again.
      await cluster.query(`ALTER ROLE ${SECOND_ROLE} NOLOGIN`);
      const listening = await cluster.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [
        `zsync-listen ${second.process.pid}`,
      ]);
      assert.equal(listening.length, 1, "server 2 has one LISTEN connection");
      await cluster.query("SELECT pg_terminate_backend($1)", [listening[0]!.pid]);
      assert.match(await second.waitForStderr(/LISTEN connection was lost/, 60_000), /commit notifications: the PostgreSQL LISTEN connection was lost/);
      // Committed while server 2 cannot listen: its notification is lost for server 2.
      const r2 = await checkin(viaFirst, "two.txt");
      await cluster.query(`ALTER ROLE ${SECOND_ROLE} LOGIN`);
      const caughtUp = await readUntil(stream, (s) => revisionsOf(s).includes(r2));
      assert.deepEqual(revisionsOf(caughtUp), [r2], "the commit made during the outage arrives after the reconnection");
      assert.match(await second.waitForStderr(/listening again/, 60_000), /commit notifications: listening again on PostgreSQL/);

      const r3 = await checkin(viaFirst, "three.txt");
      assert.deepEqual(revisionsOf(await readUntil(stream, (s) => revisionsOf(s).includes(r3))), [r3], "live again");
      assert.deepEqual([r1, r2, r3], [head + 1, head + 2, head + 3], "no gap: every revision was sent once");
    } finally {
      abort.abort();
      await cluster.query(`ALTER ROLE ${SECOND_ROLE} LOGIN`);
    }
  });

  test("server 2 cannot read the database when a commit arrives: the stream stays open and sends it once the database answers", { timeout: 120_000 }, async () => {
    const { viaFirst, head, abort, stream } = await streamOnSecond();
    try {
      const failedBefore = second.stderr().split("reading the store failed").length;
      // Server 2 keeps its LISTEN connection (so it hears the commit), but every read it makes
      // is refused: its role loses SUPERUSER, and with it the rights on server 1's tables. This
      // holds for the connections it has and for new ones alike. (Taking LOGIN away and
      // terminating its pool's connections raced with a connection logging in: CI failed three
      // times when server 2 read the commit after all.)
      await cluster.query(`ALTER ROLE ${SECOND_ROLE} NOSUPERUSER`);
      const probe = createZsyncClient({ origin: second.url, user: "zsync", password: "zsync" });
      await assert.rejects(probe.info(), "server 2 cannot read the store");
      const r2 = await checkin(viaFirst, "unreadable.txt");
      const failed = await second.waitForStderr(new RegExp(`(reading the store failed[^]*){${failedBefore}}`), 60_000);
      assert.equal(failed.split("reading the store failed").length, failedBefore + 1, "it says the stream could not read the store, once");
      assert.match(failed, /event stream on \/demo: reading the store failed \(.+\); retrying/);
      await cluster.query(`ALTER ROLE ${SECOND_ROLE} SUPERUSER`);
      const r3 = await checkin(viaFirst, "readable.txt");
      // r2 arrives on the same stream, by the retry or with r3's notification, exactly once.
      assert.deepEqual(revisionsOf(await readUntil(stream, (s) => revisionsOf(s).includes(r3))), [r2, r3]);
      assert.deepEqual([r2, r3], [head + 1, head + 2]);
    } finally {
      abort.abort();
      await cluster.query(`ALTER ROLE ${SECOND_ROLE} SUPERUSER`);
    }
  });

  test("PostgreSQL restarted under an open stream: server 2 listens again and the next commit arrives", { timeout: 120_000 }, async () => {
    const { viaFirst, head, abort, stream } = await streamOnSecond();
    try {
      const lostBefore = second.stderr().split("LISTEN connection was lost").length;
      const againBefore = second.stderr().split("listening again").length;
      cluster.stopServer();
      try {
        await second.waitForStderr(new RegExp(`(LISTEN connection was lost[^]*){${lostBefore}}`), 60_000);
      } finally {
        cluster.startServer();
      }
      await second.waitForStderr(new RegExp(`(listening again[^]*){${againBefore}}`), 60_000);
      assert.equal(second.stderr().split("listening again").length, againBefore + 1, "it says when it listens again");
      const r1 = await checkin(viaFirst, "after-restart.txt");
      assert.deepEqual(revisionsOf(await readUntil(stream, (s) => revisionsOf(s).includes(r1))), [r1]);
    } finally {
      abort.abort();
    }
  });
});
