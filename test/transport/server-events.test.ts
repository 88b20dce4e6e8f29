/**
 * The client's side of `@@events` on a connection that goes silent without closing (a laptop gone
 * to sleep, a NAT box that forgot the flow): the server announces its heartbeat interval in the
 * `ready` event, the client drops a stream silent for 4 intervals, and the next stream resumes
 * with `Last-Event-ID` without a gap or a repeat. The server's heartbeat is 50 ms, so the test
 * waits for what the client reports, never for a long timer.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";
import { createZsyncClient, ProtocolError, type ZsyncClient } from "../../src/transport/http/client.js";
import type { ServerEvent } from "../../src/transport/http/events.js";
import { freezingProxy, type FreezingProxy } from "../helpers/proxy.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

const HEARTBEAT_MS = 50;

let server: TestServer;
let proxy: FreezingProxy;
let editor: ZsyncClient;
let dataDir: string;

/** One new file per revision. */
async function checkin(name: string): Promise<number> {
  return (await editor.checkin("demo", name, (async function* () {
    yield { kind: "file" as const, path: name, size: name.length, body: name };
  })())).revision;
}

/** Reads events until `until` holds for the list so far. */
async function readUntil(stream: AsyncGenerator<ServerEvent>, until: (seen: ServerEvent[]) => boolean): Promise<ServerEvent[]> {
  const seen: ServerEvent[] = [];
  while (!until(seen)) {
    const next = await stream.next();
    assert.ok(!next.done, `the stream ended early after ${JSON.stringify(seen)}`);
    seen.push(next.value);
  }
  return seen;
}

const revisions = (events: ServerEvent[]) => events.flatMap((e) => (e.type === "revision" ? [e.entry.revision] : []));

before(async () => {
  dataDir = await tempDir("zsync-server-events-");
  server = await startServer({ dataDir, args: ["--events-heartbeat", String(HEARTBEAT_MS / 1000)] });
  proxy = await freezingProxy(server.url);
  editor = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
});
after(async () => {
  await proxy?.close();
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

test("the ready event announces the heartbeat interval", { timeout: 30_000 }, async () => {
  const stop = new AbortController();
  const stream = await editor.events("demo", { signal: stop.signal });
  const first = await stream.next();
  assert.deepEqual(first.value, { type: "ready", revision: (await editor.info()).repository.revision, heartbeatMs: HEARTBEAT_MS });
  stop.abort();
});

test("a stream silent for 4 heartbeats is dropped; the next one resumes with Last-Event-ID, no gap, no repeat", { timeout: 30_000 }, async () => {
  // The default idle limit (60 s) is far beyond the test's timeout: only the announced heartbeat can end the silence in time.
  const client = createZsyncClient({ origin: proxy.origin, user: "zsync", password: "zsync" });
  const head = (await editor.info()).repository.revision;
  const stream = await client.events("demo", { since: head });
  const r1 = await checkin("before-sleep.txt");
  const seen = await readUntil(stream, (s) => revisions(s).includes(r1));
  assert.deepEqual(revisions(seen), [r1]);

  // The laptop sleeps: the connection stays open but carries nothing, either way.
  proxy.freeze();
  const r2 = await checkin("during-sleep.txt");
  await assert.rejects(
    readUntil(stream, () => false),
    (error: unknown) => {
      assert.ok(error instanceof ProtocolError, String(error));
      assert.equal(error.status, 0, "a connection error: the caller reconnects");
      assert.equal(error.code, "stream-silent");
      assert.match(error.message, /silent for 0\.2 s \(4 heartbeats\)/);
      return true;
    },
  );

  // Awake: a new connection resumes after the last event seen.
  const resumed = await client.events("demo", { since: r1 });
  const r3 = await checkin("after-sleep.txt");
  const more = await readUntil(resumed, (s) => revisions(s).includes(r3));
  assert.deepEqual(revisions(more), [r2, r3], "the revision committed during the sleep once, then live ones");
  assert.match(proxy.requests.at(-1)!, new RegExp(`\\r\\nlast-event-id: ${r1}\\r\\n`, "i"), "resumed with Last-Event-ID");
  await resumed.return(undefined);
});

test("a caller that aborts and drops a stream while holding an event leaves nothing that keeps its process alive", { timeout: 30_000 }, async (t) => {
  // The client's silence watch (60 s by default, longer than this test's timeout) must not hold
  // the process once the caller is done: the child exits on its own, or the test times out.
  const client = pathToFileURL(join(process.cwd(), "dist/transport/http/client.js")).href;
  const script = `
    const { createZsyncClient } = await import(${JSON.stringify(client)});
    const c = createZsyncClient({ origin: ${JSON.stringify(server.url)}, user: "zsync", password: "zsync" });
    const stop = new AbortController();
    const stream = await c.events("demo", { signal: stop.signal, idleMs: 120000 });
    const first = await stream.next();
    stop.abort();
    console.log(first.value.type);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"], signal: t.signal });
  child.on("error", () => {}); // killed by the test's own timeout: the timeout is the failure
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0);
  assert.equal(out.trim(), "ready");
});
