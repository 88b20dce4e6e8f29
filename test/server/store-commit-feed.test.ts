/**
 * The commit feed of the store contract (`Store.subscribeCommits`), on every backend: the head
 * first, then each new revision; commits through another store on the same database (another
 * server on PostgreSQL via LISTEN/NOTIFY, another connection or process on SQLite via its
 * `data_version` check); and, on PostgreSQL, a LISTEN connection that is killed or stops
 * answering is replaced and the commits made meanwhile are caught up. Background timers are
 * injected and run by hand: nothing here waits on the clock.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import pg from "pg";
import { LISTEN_APPLICATION_NAME } from "../../src/server/store/postgres/notify.js";
import { openStore } from "../../src/server/store/open.js";
import type { StoreTimers } from "../../src/server/store/options.js";
import type { Store } from "../../src/server/store/types.js";
import { postgresCluster } from "../helpers/postgres.js";
import { STORE_BACKENDS } from "../helpers/store-backends.js";

const CHECK_MS = 30_000;
const POLL_MS = 1000;

/** Collects a listener's calls; `next()` waits for the next one. */
function recorder() {
  const seen: number[] = [];
  const waiting: ((revision: number) => void)[] = [];
  let read = 0;
  return {
    seen,
    listener: (revision: number) => {
      seen.push(revision);
      const w = waiting.shift();
      if (w) w(seen[read++]!);
    },
    next: () => (read < seen.length ? Promise.resolve(seen[read++]!) : new Promise<number>((resolve) => waiting.push(resolve))),
  };
}

/** Timers run by hand: `due(ms)` waits until a timer of `ms` is scheduled and returns its runner. */
function manualTimers() {
  const pending: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  const waiting: (() => void)[] = [];
  const timers: StoreTimers = {
    after(ms, fn) {
      const timer = { ms, fn, cancelled: false };
      pending.push(timer);
      for (const wake of waiting.splice(0)) wake();
      return () => (timer.cancelled = true);
    },
  };
  return {
    timers,
    /** Scheduled and not cancelled: the delays of the timers waiting to run. */
    pending: () => pending.filter((t) => !t.cancelled).map((t) => t.ms),
    async due(ms: number): Promise<() => void> {
      for (;;) {
        const i = pending.findIndex((t) => !t.cancelled && t.ms === ms);
        if (i >= 0) {
          const [timer] = pending.splice(i, 1);
          return timer!.fn;
        }
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    },
  };
}

/** A log whose lines can be waited for. */
function waitableLog() {
  const lines: string[] = [];
  const waiting: (() => void)[] = [];
  return {
    lines,
    log: (line: string) => {
      lines.push(line);
      for (const wake of waiting.splice(0)) wake();
    },
    async waitFor(pattern: RegExp): Promise<string> {
      for (;;) {
        const found = lines.find((l) => pattern.test(l));
        if (found) return found;
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    },
  };
}

function commit(store: Store, path: string) {
  return store.commit({ author: "tester", note: "test", changes: [{ op: "add", path, kind: "folder" }] });
}

for (const backend of STORE_BACKENDS) {
  describe(`${backend.name}: commit feed`, () => {
    test("the head first, then each new revision; another store's commits too", { timeout: 60_000 }, async () => {
      const spec = await backend.newSpec();
      const clock = manualTimers();
      const a = await openStore(spec, { timers: clock.timers, sqlitePollMs: POLL_MS, listenCheckMs: CHECK_MS });
      const b = await openStore(spec, { timers: clock.timers, sqlitePollMs: POLL_MS, listenCheckMs: CHECK_MS });
      try {
        await commit(a, "x");
        const first = recorder();
        const stop = a.subscribeCommits(first.listener);
        assert.equal(await first.next(), 1);
        await commit(a, "y");
        assert.equal(await first.next(), 2);
        stop();
        const second = recorder();
        const stopSecond = a.subscribeCommits(second.listener);
        assert.equal(await second.next(), 2);
        await commit(a, "z");
        assert.equal(await second.next(), 3);
        assert.deepEqual(first.seen, [1, 2], "no calls after unsubscribing");
        stopSecond();

        const other = recorder();
        const stopOther = b.subscribeCommits(other.listener);
        assert.equal(await other.next(), 3);
        await commit(a, "w");
        // SQLite has no notifications: b sees a's commit at its next data_version check.
        if (backend.name === "sqlite") (await clock.due(POLL_MS))();
        assert.equal(await other.next(), 4, "a commit through another store (server, process) is reported");
        if (backend.name === "sqlite") {
          // A check with nothing new reports nothing; the next one is scheduled again.
          (await clock.due(POLL_MS))();
          await commit(a, "v");
          (await clock.due(POLL_MS))();
          assert.equal(await other.next(), 5);
          assert.deepEqual(other.seen, [3, 4, 5]);
        }
        stopOther();
        if (backend.name === "sqlite") assert.deepEqual(clock.pending(), [], "no polling while nobody listens");
      } finally {
        await a.close();
        await b.close();
      }
    });

    if (backend.name === "postgres") {
      test("a killed LISTEN connection is replaced; a commit made meanwhile is caught up, then notifications flow again", { timeout: 60_000 }, async () => {
        const cluster = await postgresCluster();
        const spec = await backend.newSpec();
        const clock = manualTimers();
        const status = waitableLog();
        const a = await openStore(spec);
        const b = await openStore(spec, { timers: clock.timers, log: status.log, listenCheckMs: CHECK_MS });
        try {
          await commit(a, "x");
          const seen = recorder();
          const stop = b.subscribeCommits(seen.listener);
          assert.equal(await seen.next(), 1);
          const listening = await cluster.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = $1", [LISTEN_APPLICATION_NAME]);
          assert.equal(listening.length, 1, "one LISTEN connection for the store");
          await cluster.query("SELECT pg_terminate_backend($1)", [listening[0]!.pid]);
          // The loss is noticed: a reconnection at once (delay 0) is scheduled, the check is cancelled.
          const reconnect = await clock.due(0);
          assert.match(await status.waitFor(/lost/), /commit notifications: the PostgreSQL LISTEN connection was lost \(.*\); reconnecting/);
          assert.deepEqual(clock.pending(), []);
          // Committed while nobody listens: its NOTIFY reaches no one.
          await commit(a, "during-the-gap");
          reconnect();
          assert.equal(await seen.next(), 2, "the head is reported after reconnecting: nothing is missed");
          await status.waitFor(/listening again/);
          await commit(a, "after");
          assert.equal(await seen.next(), 3, "live notifications again");
          assert.deepEqual(seen.seen, [1, 2, 3]);
          assert.deepEqual(clock.pending(), [CHECK_MS], "the liveness check is scheduled again");
          stop();
          assert.deepEqual(clock.pending(), [], "no timers while nobody listens");
        } finally {
          await a.close();
          await b.close();
        }
      });

      test("a LISTEN connection that stops answering fails its liveness check and is replaced", { timeout: 60_000 }, async () => {
        const cluster = await postgresCluster();
        const spec = await backend.newSpec();
        const schema = new URL(spec).searchParams.get("schema")!;
        const clock = manualTimers();
        const status = waitableLog();
        const a = await openStore(spec);
        const b = await openStore(spec, { timers: clock.timers, log: status.log, listenCheckMs: CHECK_MS });
        const locker = new pg.Client({ connectionString: cluster.url });
        await locker.connect();
        try {
          await commit(a, "x");
          const seen = recorder();
          const stop = b.subscribeCommits(seen.listener);
          assert.equal(await seen.next(), 1);
          // A healthy check re-reads the head and schedules the next one.
          (await clock.due(CHECK_MS))();
          const next = await clock.due(CHECK_MS);
          // The check's query cannot answer while the table is locked: the connection is as good as dead.
          await locker.query("BEGIN");
          await locker.query(`LOCK TABLE ${schema}.revisions IN ACCESS EXCLUSIVE MODE`);
          next();
          (await clock.due(CHECK_MS / 3))();
          assert.match(await status.waitFor(/lost/), /lost \(no answer to the liveness check\)/);
          const reconnect = await clock.due(0);
          await locker.query("ROLLBACK");
          await commit(a, "during-the-gap");
          reconnect();
          assert.equal(await seen.next(), 2);
          await commit(a, "after");
          assert.equal(await seen.next(), 3);
          assert.deepEqual(seen.seen, [1, 2, 3]);
          stop();
        } finally {
          await locker.end();
          await a.close();
          await b.close();
        }
      });
    }
  });
}
