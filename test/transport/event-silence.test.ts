/**
 * The silence watch of `readServerEvents`, on mocked timers: silence is counted while the client
 * waits for the server, never while the caller is busy with an event it was given.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import { readServerEvents } from "../../src/transport/http/events.js";

/** A response body the test feeds chunk by chunk; `cut` fails the read in progress, as an aborted socket does. */
function feedableBody() {
  const chunks: string[] = [];
  let wake: (() => void) | undefined;
  let cutWith: Error | undefined;
  const body = (async function* () {
    for (;;) {
      while (chunks.length === 0) {
        if (cutWith) throw cutWith;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      yield chunks.shift()!;
    }
  })();
  return {
    body,
    send(text: string) {
      chunks.push(text);
      wake?.();
    },
    cut() {
      cutWith = new Error("aborted");
      wake?.();
    },
  };
}

const ready = (heartbeatMs: number) => `event: ready\ndata: ${JSON.stringify({ revision: 1, since: 1, heartbeatMs })}\n\n`;
const revision = (n: number) => `id: ${n}\nevent: revision\ndata: ${JSON.stringify({ revision: n, author: "a", date: "d", note: "", changes: [{ path: "/demo/x", action: "M" }] })}\n\n`;

beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
afterEach(() => mock.timers.reset());

/** Events read from a fed body under a silence watch that records each silence and cuts the body. */
function watched(idleMs: number) {
  const feed = feedableBody();
  const silences: Array<[number, boolean]> = [];
  const events = readServerEvents(feed.body, {
    idleMs,
    onSilent(ms, announced) {
      silences.push([ms, announced]);
      feed.cut();
      return new Error("silent");
    },
  });
  return { feed, silences, events };
}

/** Lets the generator and the fed body run up to their next wait. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test("time the caller spends with an event is not silence", { timeout: 10_000 }, async () => {
  const { feed, silences, events } = watched(60_000);
  feed.send(ready(100)); // silence limit: 4 × 100 ms
  assert.equal((await events.next()).value?.type, "ready");
  feed.send(revision(2));
  assert.equal((await events.next()).value?.type, "revision");
  // The caller holds that event ten times the limit before it asks for the next one.
  mock.timers.tick(4_000);
  assert.deepEqual(silences, []);
  feed.send(revision(3));
  const next = await events.next();
  assert.equal(next.value?.type, "revision");
  assert.deepEqual(silences, []);
  await events.return(undefined);
});

test("silence while waiting for the server ends the stream with the watch's error", { timeout: 10_000 }, async () => {
  const { feed, silences, events } = watched(60_000);
  feed.send(ready(100));
  assert.equal((await events.next()).value?.type, "ready");
  const waiting = events.next();
  await settle();
  mock.timers.tick(399);
  assert.deepEqual(silences, [], "a heartbeat interval short of the limit");
  mock.timers.tick(1);
  await assert.rejects(waiting, /^Error: silent$/);
  assert.deepEqual(silences, [[400, true]]);
});

test("before a heartbeat interval is announced, idleMs is the limit", { timeout: 10_000 }, async () => {
  const { feed, silences, events } = watched(1_000);
  const waiting = events.next();
  await settle();
  mock.timers.tick(1_000);
  await assert.rejects(waiting, /^Error: silent$/);
  assert.deepEqual(silences, [[1_000, false]]);
});
