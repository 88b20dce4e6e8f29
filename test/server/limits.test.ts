/**
 * Hostile requests against the real zsync-server: over-long URLs and headers, malformed
 * request lines and chunked bodies, bad percent-encoding, invalid and oversized manifests.
 * Every refusal is a JSON body with a code and a message — never Node's bare answer, never a
 * stack trace — and the server keeps serving afterwards.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { DEMO_AUTH, startServer, type TestServer } from "../helpers/server.js";

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** Sends raw bytes on a fresh TCP connection and reads the answer until the server closes or `Connection: close` completes. */
function raw(server: TestServer, bytes: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1");
    let data = Buffer.alloc(0);
    const finish = () => {
      const text = data.toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const head = split < 0 ? text : text.slice(0, split);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, headers: head, body: split < 0 ? "" : text.slice(split + 4) });
    };
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      // A complete answer with a content-length: done, whether or not the server closes.
      const text = data.toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(text.slice(0, split))?.[1];
      if (split >= 0 && length !== undefined && data.length >= Buffer.byteLength(text.slice(0, split + 4)) + Number(length)) {
        socket.destroy();
        finish();
      }
    });
    socket.on("end", finish);
    socket.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" || error.code === "EPIPE" ? finish() : reject(error)));
    socket.write(bytes);
  });
}

/** Asserts a JSON error answer with `status` and `code`, and no stack trace. */
function assertJsonError(answer: RawAnswer, status: number, code: string): { code: string; message: string } {
  assert.equal(answer.status, status, `${answer.headers}\n${answer.body}`);
  assert.match(answer.headers, /content-type: application\/json/i);
  const body = JSON.parse(answer.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, "string");
  assert.doesNotMatch(answer.body, /\bat [^ ]+ \(|\.js:\d+|\.ts:\d+/, "no stack trace");
  return body.error;
}

const auth = `authorization: ${DEMO_AUTH}\r\n`;

describe("request limits and malformed requests", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
    assert.doesNotMatch(server.stderr(), /internal error/, "no request caused an internal error");
  });

  test("a URL over 8 KiB: 414", async () => {
    const answer = await raw(server, `GET /demo/${"a".repeat(9000)}/@@toFS.snarf HTTP/1.1\r\nhost: x\r\n${auth}connection: close\r\n\r\n`);
    assertJsonError(answer, 414, "uri-too-long");
  });

  test("a URL just under the limit is served (404 for the missing object)", async () => {
    const answer = await raw(server, `GET /demo/${"a".repeat(200)}/@@toFS.snarf HTTP/1.1\r\nhost: x\r\n${auth}connection: close\r\n\r\n`);
    assertJsonError(answer, 404, "not-found");
  });

  test("headers over 16 KiB: 431", async () => {
    const answer = await raw(server, `GET /demo/@@toFS.snarf HTTP/1.1\r\nhost: x\r\nx-big: ${"b".repeat(20_000)}\r\n\r\n`);
    assertJsonError(answer, 431, "headers-too-large");
  });

  test("a request line that is not HTTP: 400", async () => {
    assertJsonError(await raw(server, "HELLO THERE\r\n\r\n"), 400, "bad-request");
  });

  test("a malformed chunked body: 400", async () => {
    const answer = await raw(
      server,
      `POST /demo/@@fromFS.snarf HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/x-snarf\r\ntransfer-encoding: chunked\r\n\r\nZZZ\r\nnot a chunk\r\n`,
    );
    assertJsonError(answer, 400, "bad-request");
  });

  test("bad percent-encoding in the path: 400", async () => {
    const answer = await raw(server, `GET /demo/%E0%A4%A/@@toFS.snarf HTTP/1.1\r\nhost: x\r\n${auth}connection: close\r\n\r\n`);
    assertJsonError(answer, 400, "bad-path");
  });

  test("'..' encoded in the path: 400", async () => {
    const answer = await raw(server, `GET /demo/%2e%2e/%2e%2e/etc/@@toFS.snarf HTTP/1.1\r\nhost: x\r\n${auth}connection: close\r\n\r\n`);
    assertJsonError(answer, 400, "bad-path");
  });

  const post = (body: string) =>
    `POST /demo/@@fromFS.snarf HTTP/1.1\r\nhost: x\r\n${auth}content-type: application/x-snarf\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
  const manifest = (text: string) => `${Buffer.byteLength(text)} @@zsync/manifest.json\n${text}`;

  test("a manifest that is not JSON: 400", async () => {
    assertJsonError(await raw(server, post(manifest("{nope"))), 400, "bad-manifest");
  });

  test("metadata nested 10 000 deep: 400, no stack overflow", async () => {
    const meta = `{"extra":${'{"x":'.repeat(10_000)}1${"}".repeat(10_000)}}`;
    const text = `{"protocol":1,"changes":[{"path":"","kind":"folder","schedule":"modified","baseRevision":1,"meta":${meta}}]}`;
    const error = assertJsonError(await raw(server, post(manifest(text))), 400, "bad-manifest");
    assert.match(error.message, /nested deeper than 16 levels/);
  });

  test("metadata with too many keys: 400", async () => {
    const extra = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    const text = JSON.stringify({ protocol: 1, changes: [{ path: "", kind: "folder", schedule: "modified", baseRevision: 1, meta: { extra } }] });
    const error = assertJsonError(await raw(server, post(manifest(text))), 400, "bad-manifest");
    assert.match(error.message, /more than 4096 keys and items/);
  });

  test("a name over 255 bytes and a path into .zsync in a commit: 400", async () => {
    for (const path of ["n".repeat(256), "sub/.zsync/config.json"]) {
      const text = JSON.stringify({ protocol: 1, changes: [{ path, kind: "folder", schedule: "added" }] });
      assertJsonError(await raw(server, post(manifest(text))), 400, "bad-manifest");
    }
  });

  test("the server still serves after all that", async () => {
    const answer = await raw(server, `GET /.well-known/zsync HTTP/1.1\r\nhost: x\r\n${auth}connection: close\r\n\r\n`);
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(answer.body).server, "zsync-server");
  });
});
