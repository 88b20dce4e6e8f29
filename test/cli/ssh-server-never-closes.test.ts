/**
 * A server (or a middlebox) that never closes its side of the connection must not keep a finished
 * zsync command alive: ssh2's end() waits for the server's close, so the client destroys the
 * connection shortly after.
 */
import assert from "node:assert/strict";
import { mkdir, rm } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { hostPublicKey, serverCli, sshKeygen, sshPort, writeKnownHosts } from "../helpers/ssh.js";

let server: TestServer;
let relay: Server;
let work: string;
const held: Socket[] = [];

before(async () => {
  server = await startServer({ args: ["--ssh-port", "0"] });
  work = await tempDir("zsync-never-closes-");
  await mkdir(join(work, ".ssh"), { recursive: true, mode: 0o700 });
  const key = await sshKeygen(join(work, ".ssh"), "id_ed25519");
  assert.equal((await serverCli(server.dataDir, ["user", "key", "add", "zsync", `${key}.pub`])).code, 0);
  // Relays bytes both ways but never passes on an end or close to the client: its socket stays open.
  relay = createServer({ allowHalfOpen: true }, (client) => {
    held.push(client);
    const upstream = createConnection({ host: "127.0.0.1", port: sshPort(server), allowHalfOpen: true });
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => client.write(chunk));
    client.on("error", () => {});
    upstream.on("error", () => {});
    client.on("end", () => upstream.end());
  });
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", () => resolve()));
});
after(async () => {
  for (const socket of held) socket.destroy();
  await new Promise((resolve) => relay.close(resolve));
  await server.stop();
  await rm(work, { recursive: true, force: true });
});

test("a command over ssh exits although the server never closes the connection", async () => {
  const port = (relay.address() as { port: number }).port;
  const knownHosts = await writeKnownHosts(join(work, "known_hosts"), port, await hostPublicKey(server.dataDir));
  const env = { HOME: work, ZSYNC_KNOWN_HOSTS: knownHosts, SSH_AUTH_SOCK: undefined, ZSYNC_PASSWORD: undefined };
  // A hang fails the test through the timeout instead of stalling the run.
  const result = await Promise.race([
    zsync(["log", `zsync+ssh://zsync@127.0.0.1:${port}/demo`, "-l", "1"], { cwd: work, env }),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("zsync did not exit within 20 s")), 20_000).unref()),
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^r1 \| system|^r\d+ \| /m);
});
