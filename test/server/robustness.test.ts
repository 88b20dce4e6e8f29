/**
 * The server under pressure: concurrent commits, hostile bodies, a killed process, huge files.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { readRecordBody } from "../../src/protocol/snarf.js";
import type { CommitManifest } from "../../src/protocol/types.js";
import { createZsyncClient, ProtocolError, type ZsyncClient } from "../../src/transport/http/client.js";
import { DEMO_AUTH, peakRssGrowthDuring, startServer, type TestServer } from "../helpers/server.js";

/** The whole repository as text: head revision plus every path, kind, revision and content. */
async function fingerprint(client: ZsyncClient): Promise<string> {
  const { manifest, records } = await client.snapshot("");
  const hash = createHash("sha256").update(JSON.stringify(manifest));
  for await (const record of records) for await (const chunk of record.body) hash.update(chunk);
  return `${manifest.revision}:${hash.digest("hex")}`;
}

function manifestRecord(manifest: unknown): string {
  const text = JSON.stringify(manifest);
  return `${Buffer.byteLength(text)} @@zsync/manifest.json\n${text}`;
}

async function postRaw(server: TestServer, body: string | Buffer, path = "/demo/@@fromFS.snarf") {
  const response = await request(server.url + path, {
    method: "POST",
    body,
    headers: { authorization: DEMO_AUTH, "content-type": "application/x-snarf" },
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: text };
}

/** A body of `size` bytes of a repeating pattern, generated lazily. */
async function* patternBody(size: number, chunk = 1 << 20): AsyncGenerator<Uint8Array> {
  const block = Buffer.alloc(chunk);
  for (let i = 0; i < chunk; i++) block[i] = (i * 31 + 7) & 0xff;
  for (let sent = 0; sent < size; sent += chunk) yield sent + chunk <= size ? block : block.subarray(0, size - sent);
}

function patternHash(size: number): Promise<string> {
  return (async () => {
    const hash = createHash("sha256");
    for await (const chunk of patternBody(size)) hash.update(chunk);
    return hash.digest("hex");
  })();
}

describe("concurrency", () => {
  let server: TestServer;
  let client: ZsyncClient;
  before(async () => {
    server = await startServer();
    client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
  });
  after(() => server.stop());

  test("20 parallel commits on one base: exactly one wins, the others get 409, nothing is lost", async () => {
    for (let round = 0; round < 3; round++) {
      const { manifest } = await client.snapshot("demo/README.txt");
      const base = manifest.entries[0];
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => {
          const body = `round ${round} writer ${i}\n`;
          return client.commit(
            "demo",
            { protocol: 1, note: `writer ${i}`, changes: [{ path: "README.txt", kind: "file", schedule: "modified", baseRevision: base.revision, content: true }] },
            [{ kind: "file", path: "README.txt", size: Buffer.byteLength(body), body }],
          );
        }),
      );
      const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ i, revision: r.value.revision }] : []));
      const lost = results.filter((r) => r.status === "rejected");
      assert.equal(won.length, 1, `round ${round}: exactly one winner`);
      assert.ok(lost.every((r) => (r as PromiseRejectedResult).reason instanceof ProtocolError && (r as PromiseRejectedResult).reason.status === 409));
      assert.equal(won[0].revision, manifest.revision + 1, "no revision skipped");
      const now = await client.snapshot("demo/README.txt");
      for await (const record of now.records) {
        assert.equal((await readRecordBody(record, 1024)).toString(), `round ${round} writer ${won[0].i}\n`);
      }
      const log = await client.log("demo/README.txt", { limit: 1 });
      assert.equal(log[0].note, `writer ${won[0].i}`);
    }
  });
});

describe("hostile and malformed commits change nothing", () => {
  let server: TestServer;
  let client: ZsyncClient;
  let readmeRevision: number;
  before(async () => {
    server = await startServer({ args: ["--max-body-bytes", String(64 * 1024)] });
    client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
    readmeRevision = (await client.snapshot("demo/README.txt")).manifest.entries[0].revision;
  });
  after(() => server.stop());

  const modify = () => ({ protocol: 1, changes: [{ path: "README.txt", kind: "file", schedule: "modified", baseRevision: readmeRevision, content: true }] });

  const cases: [string, () => string | Buffer, number, RegExp][] = [
    ["truncated body", () => manifestRecord(modify()) + "100 README.txt\nonly a few bytes", 400, /truncated/],
    ["truncated header", () => manifestRecord(modify()) + "12 READ", 400, /truncated|incomplete/],
    ["malformed size", () => manifestRecord(modify()) + "1x2 README.txt\nabc", 400, /size/],
    ["manifest not JSON", () => "5 @@zsync/manifest.json\n{nope", 400, /JSON/],
    ["no manifest", () => "3 README.txt\nabc", 400, /manifest/],
    ["manifest of the wrong shape", () => manifestRecord({ protocol: 1, changes: [{ path: "README.txt" }] }), 400, /kind/],
    ["body not announced", () => manifestRecord(modify()) + "3 README.txt\nabc3 other.txt\nabc", 400, /does not announce/],
    ["announced body missing", () => manifestRecord(modify()), 400, /no such record/],
    ["oversized for the configured limit", () => manifestRecord(modify()) + `${100 * 1024} README.txt\n` + "x".repeat(100 * 1024), 413, /limit/],
    ["unknown protocol version", () => manifestRecord({ ...modify(), protocol: 9 }), 400, /version/],
  ];
  for (const hostile of ["../x", "/etc/passwd", "a/../../b", "@@x", "docs/@@meta/x", "a\\b", "a//b", "./x"]) {
    cases.push([
      `hostile path ${JSON.stringify(hostile)} in the manifest`,
      () => manifestRecord({ protocol: 1, changes: [{ path: hostile, kind: "file", schedule: "added", content: true }] }) + `1 x\nx`,
      400,
      /path|component|reserved|absolute|relative/i,
    ]);
    cases.push([
      `hostile path ${JSON.stringify(hostile)} in a record`,
      () => manifestRecord(modify()) + `1 ${hostile}\nx`,
      400,
      /path|component|reserved|absolute|relative/i,
    ]);
  }

  for (const [name, body, status, message] of cases) {
    test(name, async () => {
      const before = await fingerprint(client);
      const answer = await postRaw(server, body());
      assert.equal(answer.status, status, answer.body);
      const error = JSON.parse(answer.body) as { error: { code: string; message: string } };
      assert.match(error.error.message, message);
      assert.doesNotMatch(answer.body, /at .*\.js:\d+/, "no stack trace");
      assert.equal(await fingerprint(client), before);
    });
  }

  test("wrong content type is refused", async () => {
    const response = await request(server.url + "/demo/@@fromFS.snarf", { method: "POST", body: "x", headers: { authorization: DEMO_AUTH, "content-type": "text/plain" } });
    assert.equal(response.statusCode, 415);
    await response.body.dump();
  });

  test("checkin with a hostile name or archive path changes nothing", async () => {
    const before = await fingerprint(client);
    for (const [name, body] of [
      ["..", "1 ../x\nx"],
      ["ok", "1 ok/../../x\nx"],
      ["ok", "1 /etc/passwd\nx"],
      ["@@meta", "1 @@meta\nx"],
    ]) {
      const answer = await postRaw(server, body, `/demo/@@checkin.snarf?name=${encodeURIComponent(name)}`);
      assert.ok(answer.status >= 400 && answer.status < 500, `${name}: ${answer.status} ${answer.body}`);
    }
    assert.equal(await fingerprint(client), before);
  });
});

describe("crashes and large files", () => {
  test("killing the server during a large commit leaves the previous revision; it restarts cleanly", async () => {
    let server = await startServer();
    const dataDir = server.dataDir;
    let client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
    const before = await fingerprint(client);
    const size = 256 * 1024 * 1024;
    // Two kill points: while the body streams in, and after it has fully arrived (staging, store).
    for (const point of ["mid-upload", "after-upload"] as const) {
      const manifest: CommitManifest = { protocol: 1, note: "big", changes: [{ path: "big.bin", kind: "file", schedule: "added", content: true }] };
      const attempt = client.commit("demo", manifest, [{ kind: "file", path: "big.bin", size, body: () => patternBody(size) }]).catch((e: unknown) => e);
      const tmp = join(dataDir, "tmp");
      const threshold = point === "mid-upload" ? size / 4 : size;
      for (;;) {
        const sizes = await Promise.all((await readdir(tmp)).map(async (name) => (await stat(join(tmp, name)).catch(() => ({ size: 0 }))).size));
        if (sizes.some((s) => s >= threshold)) break;
        await sleep(5);
      }
      await server.kill();
      assert.ok((await attempt) instanceof Error, `${point}: the client sees a failure`);
      server = await startServer({ dataDir });
      client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
      const after = await fingerprint(client);
      // Either nothing happened, or (only if the kill came after the transaction) the whole commit did.
      if (after !== before) {
        assert.equal(point, "after-upload");
        assert.equal(Number(after.split(":")[0]), Number(before.split(":")[0]) + 1);
        const { manifest: snap } = await client.snapshot("demo/big.bin");
        assert.equal(snap.entries[0].size, size);
        assert.equal(snap.entries[0].hash, await patternHash(size));
      }
      assert.deepEqual(await readdir(join(dataDir, "tmp")), [], "staged uploads of the dead process are gone");
    }
    // The restarted server takes commits.
    const { manifest } = await client.snapshot("demo/README.txt");
    const result = await client.commit("demo", { protocol: 1, changes: [{ path: "README.txt", kind: "file", schedule: "modified", baseRevision: manifest.entries[0].revision, content: true }] }, [
      { kind: "file", path: "README.txt", size: 6, body: "after\n" },
    ]);
    assert.equal(result.revision, manifest.revision + 1);
    await server.stop();
  });

  test("a client that goes away during a large upload leaves no staged file, and the next commit lands", async () => {
    const server = await startServer();
    try {
      const client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
      const before = await fingerprint(client);
      const size = 256 * 1024 * 1024;
      const cutAt = 160 * 1024 * 1024; // past two background flushes of the staged file (FLUSH_EVERY)
      async function* cutBody(): AsyncGenerator<Uint8Array> {
        let sent = 0;
        for await (const chunk of patternBody(size)) {
          if (sent >= cutAt) throw new Error("the client went away");
          sent += chunk.length;
          yield chunk;
        }
      }
      const manifest: CommitManifest = { protocol: 1, changes: [{ path: "cut.bin", kind: "file", schedule: "added", content: true }] };
      await assert.rejects(client.commit("demo", manifest, [{ kind: "file", path: "cut.bin", size, body: cutBody }]));
      // The server notices the cut on its own schedule: wait for its staged file to go.
      const tmp = join(server.dataDir, "tmp");
      while ((await readdir(tmp)).length > 0) await sleep(5);
      assert.equal(await fingerprint(client), before);
      const small = await client.commit("demo", manifest, [{ kind: "file", path: "cut.bin", size: 3, body: "ok\n" }]);
      assert.equal(Number(before.split(":")[0]) + 1, small.revision);
    } finally {
      await server.stop();
    }
  });

  test("a 1 GiB file is committed and read back with bounded server memory", async () => {
    const size = Number(process.env.ZSYNC_TEST_BIG_BYTES ?? 1024 ** 3);
    const server = await startServer();
    const client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
    await client.info();
    let growth = 0;
    let baseline = 0;
    try {
      ({ baseline, growth } = await peakRssGrowthDuring(server.process.pid!, async () => {
        await client.commit("demo", { protocol: 1, changes: [{ path: "huge.bin", kind: "file", schedule: "added", content: true }] }, [
          { kind: "file", path: "huge.bin", size, body: () => patternBody(size) },
        ]);
        const body = await client.cat("demo/huge.bin");
        const hash = createHash("sha256");
        let received = 0;
        for await (const chunk of body) {
          hash.update(chunk);
          received += chunk.length;
        }
        assert.equal(received, size);
        assert.equal(hash.digest("hex"), await patternHash(size));
      }));
    } finally {
      await server.stop();
    }
    console.log(`# server peak RSS (VmHWM): baseline ${(baseline / 2 ** 20).toFixed(1)} MiB, peak ${((baseline + growth) / 2 ** 20).toFixed(1)} MiB, growth ${(growth / 2 ** 20).toFixed(1)} MiB for ${size} bytes`);
    assert.ok(growth < 100 * 1024 * 1024, `peak RSS (VmHWM) grew by ${growth} bytes`);
  });
});

