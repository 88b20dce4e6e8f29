/**
 * The ssh endpoint closes a connection that does not log in within the grace time (OpenSSH's
 * LoginGraceTime), so idle or stalled handshakes cannot pile up. Run in process with a short grace.
 */
import assert from "node:assert/strict";
import { createConnection } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { rm } from "node:fs/promises";
import { createChannelServer } from "../../src/server/channel-server.js";
import { loadHostKey } from "../../src/server/ssh/host-key.js";
import { startSshEndpoint } from "../../src/server/ssh/endpoint.js";
import { openSqliteStore } from "../../src/server/store/sqlite.js";
import { tempDir } from "../helpers/server.js";

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

test("a connection that never logs in is closed after the grace time, with a log line", async () => {
  const dir = await tempDir("zsync-grace-");
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const store = await openSqliteStore(join(dir, "repository.sqlite"));
  cleanup.push(() => store.close());
  const lines: string[] = [];
  const http = createChannelServer((_req, res) => res.end());
  const endpoint = await startSshEndpoint({ store, hostKey: await loadHostKey(dir), http, host: "127.0.0.1", port: 0, log: (line) => lines.push(line), loginGraceMs: 300 });
  cleanup.push(() => endpoint.close(), () => http.close());

  // A client that sends its version line and then nothing: the handshake never completes. It
  // would keep its side open forever (allowHalfOpen), so only the server can end this.
  const socket = createConnection({ host: "127.0.0.1", port: endpoint.port, allowHalfOpen: true });
  socket.on("error", () => {});
  socket.resume();
  socket.write("SSH-2.0-stalled\r\n");
  const closed = await Promise.race([
    new Promise<boolean>((resolve) => {
      socket.once("end", () => resolve(true));
      socket.once("close", () => resolve(true));
    }),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000).unref()),
  ]);
  socket.destroy();
  assert.equal(closed, true, `the server closed the connection; log: ${lines.join(" / ")}`);
  assert.ok(lines.some((line) => /did not log in within 0\.3 s; closed/.test(line)), lines.join("\n"));
});
