/**
 * `GET <path>/@@events` against the real zsync-server, over every transport: events arrive in
 * order, a dropped stream resumes from its last event id without a gap or a repeat, and paths the
 * subscriber may not read never appear. Over plain HTTP also: `Last-Event-ID`, heartbeats, and a
 * clean end of open streams when the server shuts down.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import type { CommitChange } from "../../src/protocol/types.js";
import { endCommand } from "../../src/transport/command-end.js";
import { createZsyncClient, type ZsyncClient } from "../../src/transport/http/client.js";
import type { ServerEvent } from "../../src/transport/http/events.js";
import { openSshSession } from "../../src/transport/ssh/session.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { hostPublicKey, serverCli, sshKeygen, sshPort, writeKnownHosts } from "../helpers/ssh.js";
import { startSshd, stdioSubsystem, type TestSshd } from "../helpers/sshd.js";

const RITA = "rita-pw-3b7e";

interface Subscriber {
  /** rita's client: a reader who may not read /demo/secret. */
  client: ZsyncClient;
  stop(): Promise<void>;
}

interface TransportSpec {
  name: string;
  subscriber(server: TestServer, work: string): Promise<Subscriber>;
}

const TRANSPORTS: TransportSpec[] = [
  {
    name: "http",
    async subscriber(server) {
      return { client: createZsyncClient({ origin: server.url, user: "rita", password: RITA }), stop: async () => {} };
    },
  },
  {
    name: "ssh to zsync-server's ssh endpoint",
    async subscriber(server, work) {
      const key = await sshKeygen(work, "rita_key");
      const added = await serverCli(server.dataDir, ["user", "key", "add", "rita", `${key}.pub`]);
      assert.equal(added.code, 0, added.stderr);
      const port = sshPort(server);
      const knownHosts = await writeKnownHosts(join(work, "known_hosts"), port, await hostPublicKey(server.dataDir));
      const session = await openSshSession(`zsync+ssh://rita@127.0.0.1:${port}/demo`, { identity: key, knownHosts, acceptNewHostKey: false, nonInteractive: true });
      return { client: session.client, stop: endCommand };
    },
  },
  {
    name: "ssh to OpenSSH sshd running zsync-server --stdio",
    async subscriber(server, work) {
      // Every request of rita's is served by a `zsync-server --stdio` process sshd starts; the
      // commits go to the `serve` process: the stream learns of them from the shared store.
      const key = await sshKeygen(work, "rita_key");
      const sshd: TestSshd = await startSshd({ subsystem: stdioSubsystem(server.dataDir), authorize: [] });
      const pub = (await readFile(`${key}.pub`, "utf8")).trim();
      // A short heartbeat: a stdio process whose client left notices at its next write and exits.
      await writeFile(sshd.authorizedKeys, `restrict,command="${stdioSubsystem(server.dataDir, { as: "rita" })} --events-heartbeat 0.2" ${pub}\n`);
      const knownHosts = join(work, "known_hosts");
      await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
      const session = await openSshSession(`zsync+ssh://root@127.0.0.1:${sshd.port}/demo`, { identity: key, knownHosts, acceptNewHostKey: false, nonInteractive: true });
      return {
        client: session.client,
        async stop() {
          await endCommand();
          await sshd.stop();
        },
      };
    },
  },
];

/** Reads `events` until `done` says so; the array it returns holds every event read. */
async function readUntil(events: AsyncGenerator<ServerEvent>, done: (seen: ServerEvent[]) => boolean): Promise<ServerEvent[]> {
  // next() by hand: `for await … break` would close the stream.
  const seen: ServerEvent[] = [];
  while (!done(seen)) {
    const next = await events.next();
    if (next.done) throw new Error(`the stream ended after ${JSON.stringify(seen)}`);
    seen.push(next.value);
  }
  return seen;
}

const revisionsOf = (events: ServerEvent[]) => events.flatMap((e) => (e.type === "revision" ? [e.entry] : []));

/** A server with the demo content, rita (reader; /demo/secret hidden from her), and /demo/secret. */
async function eventsServer(args: string[] = []): Promise<{ server: TestServer; editor: ZsyncClient }> {
  const dataDir = await tempDir("zsync-events-");
  const added = await serverCli(dataDir, ["user", "add", "rita", "--role", "reader", "--password-stdin"], { input: `${RITA}\n` });
  assert.equal(added.code, 0, added.stderr);
  const granted = await serverCli(dataDir, ["grant", "rita", "/demo/secret", "none"]);
  assert.equal(granted.code, 0, granted.stderr);
  const server = await startServer({ dataDir, args });
  const editor = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
  await checkin(editor, "secret", "secret/plan.txt", "the plan\n");
  return { server, editor };
}

/** One new file per revision. */
async function checkin(client: ZsyncClient, name: string, path = name, text = `${name}\n`): Promise<number> {
  return (await client.checkin("demo", name, (async function* () {
    yield { kind: "file" as const, path, size: Buffer.byteLength(text), body: text };
  })())).revision;
}

/** One revision adding a visible and a hidden file. */
async function commitBoth(client: ZsyncClient, visible: string, hidden: string): Promise<number> {
  const changes: CommitChange[] = [visible, hidden].map((path) => ({ path, kind: "file", schedule: "added", content: true }));
  const bodies = [visible, hidden].map((path) => ({ kind: "file" as const, path, size: Buffer.byteLength(path), body: path }));
  return (await client.commit("demo", { protocol: 1, note: "both", changes }, bodies)).revision;
}

for (const spec of TRANSPORTS) {
  describe(`@@events over ${spec.name}`, () => {
    let work: string;
    let server: TestServer;
    let editor: ZsyncClient;
    let rita: Subscriber;

    before(async () => {
      work = await tempDir("zsync-events-work-");
      ({ server, editor } = await eventsServer(spec.name.includes("endpoint") ? ["--ssh-port", "0"] : []));
      rita = await spec.subscriber(server, work);
    });
    after(async () => {
      await rita?.stop();
      await server?.stop();
      await rm(work, { recursive: true, force: true });
    });

    test("in order, resumed after a dropped stream without a gap or a repeat, hidden paths never shown", { timeout: 60_000 }, async () => {
      const head = (await editor.info()).repository.revision;
      const first = new AbortController();
      const stream = await rita.client.events("demo", { since: head, signal: first.signal });
      const r1 = await checkin(editor, "one.txt");
      const hiddenOnly = await checkin(editor, "two.txt", "two.txt", "x").then(() => commitBoth(editor, "secret/a.txt", "secret/b.txt"));
      const r3 = await commitBoth(editor, "three.txt", "secret/three.txt");
      const seen = await readUntil(stream, (s) => revisionsOf(s).some((e) => e.revision === r3));
      assert.equal(seen[0].type, "ready");
      assert.ok(seen[0].type === "ready" && Number.isSafeInteger(seen[0].revision) && seen[0].heartbeatMs! > 0, JSON.stringify(seen[0]));
      const got = revisionsOf(seen);
      assert.deepEqual(got.map((e) => e.revision), [r1, r1 + 1, r3], "every visible revision once, in order; the hidden-only one is not sent");
      assert.ok(!got.some((e) => e.revision === hiddenOnly));
      assert.deepEqual(got.map((e) => e.changes), [[{ path: "/demo/one.txt", action: "A" }], [{ path: "/demo/two.txt", action: "A" }], [{ path: "/demo/three.txt", action: "A" }]]);
      assert.equal(got[0].author, "zsync");
      assert.doesNotMatch(JSON.stringify(seen), /secret/);
      first.abort();

      // Commits while nobody listens; the next stream starts after the last event seen.
      const r4 = await checkin(editor, "four.txt");
      const r5 = await commitBoth(editor, "five.txt", "secret/five.txt");
      const again = new AbortController();
      const resumed = await rita.client.events("demo", { since: r3, signal: again.signal });
      const more = await readUntil(resumed, (s) => revisionsOf(s).some((e) => e.revision === r5));
      assert.deepEqual(revisionsOf(more).map((e) => [e.revision, e.changes.map((c) => c.path)]), [[r4, ["/demo/four.txt"]], [r5, ["/demo/five.txt"]]]);
      // Live again after the catch-up.
      const r6 = await checkin(editor, "six.txt");
      const live = await readUntil(resumed, (s) => revisionsOf(s).some((e) => e.revision === r6));
      assert.deepEqual(revisionsOf(live).map((e) => e.revision), [r6]);
      again.abort();
    });

    test("a subscription to a hidden folder is refused like a missing one", { timeout: 30_000 }, async () => {
      await assert.rejects(rita.client.events("demo/secret"), (error: Error & { status?: number; code?: string }) => error.status === 404 && error.code === "not-found");
    });
  });
}

describe("@@events over HTTP: Last-Event-ID, heartbeats, shutdown", () => {
  let server: TestServer;
  let editor: ZsyncClient;
  before(async () => {
    ({ server, editor } = await eventsServer(["--events-heartbeat", "0.05"]));
  });
  after(async () => server?.stop());

  test("Last-Event-ID resumes after that revision; idle streams carry heartbeat comments", { timeout: 30_000 }, async () => {
    const head = (await editor.info()).repository.revision;
    const r1 = await checkin(editor, "seven.txt");
    const response = await request(`${server.url}/demo/@@events?since=0`, {
      headers: { authorization: "Basic " + Buffer.from("rita:" + RITA).toString("base64"), "last-event-id": String(head) },
    });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers["content-type"]), /^text\/event-stream/);
    let text = "";
    for await (const chunk of response.body) {
      text += chunk;
      if (text.includes(": heartbeat\n\n") && text.includes(`id: ${r1}\n`)) break;
    }
    response.body.destroy();
    assert.match(text, new RegExp(`id: ${r1}\nevent: revision\ndata: .*"/demo/seven.txt"`));
    assert.doesNotMatch(text, /id: [01]\n/, "Last-Event-ID wins over ?since=");
    assert.doesNotMatch(text, /secret/);
  });

  test("a bad since is a 400; /.well-known/zsync announces events", async () => {
    await assert.rejects(editor.events("demo", { since: 99_999 }), (error: Error & { status?: number }) => error.status === 400);
    assert.ok((await editor.info()).protocol.features.includes("events"));
  });

  test("shutting the server down ends open streams cleanly and does not hang", { timeout: 30_000 }, async () => {
    const stream = await editor.events("demo");
    const first = await stream.next();
    assert.equal(first.value?.type, "ready");
    const ended = stream.next();
    await server.stop();
    assert.deepEqual(await ended, { done: true, value: undefined }, "the stream ends, no error");
    assert.match(server.stderr(), /GET \/demo\/@@events 200 zsync/);
  });
});
