/**
 * The ssh host key generator: ssh2 1.17 makes a malformed ed25519 public key about once in 256
 * (mscdex/ssh2#1513), which made a fresh server fail to start now and then. Every pair
 * `generateEd25519Pair` returns must read back; 2,000 pairs would hit the bug ~8 times.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import ssh2 from "ssh2";
import { generateEd25519Pair } from "../../src/server/ssh/host-key.js";

test("every generated ed25519 host key pair parses, public and private", () => {
  for (let i = 0; i < 2000; i++) {
    const pair = generateEd25519Pair();
    const pub = ssh2.utils.parseKey(pair.public);
    const priv = ssh2.utils.parseKey(pair.private);
    assert.ok(!(pub instanceof Error), `public key ${i}: ${pub instanceof Error ? pub.message : ""}`);
    assert.ok(!(priv instanceof Error), `private key ${i}: ${priv instanceof Error ? priv.message : ""}`);
  }
});

test("serve --ssh-port with --store elsewhere makes the data directory for the host key (no ENOENT)", async () => {
  const { startServer, tempDir } = await import("../helpers/server.js");
  const { existsSync, statSync, rmSync } = await import("node:fs");
  const { join } = await import("node:path");
  const parent = await tempDir("zsync-hostkey-");
  const dataDir = join(parent, "not", "yet");
  const server = await startServer({ dataDir, args: ["--ssh-port", "0", "--store", `sqlite:${join(parent, "elsewhere.sqlite")}`] });
  try {
    assert.ok(server.sshUrl, server.stderr());
    assert.ok(existsSync(join(dataDir, "ssh_host_ed25519_key")));
    assert.equal(statSync(dataDir).mode & 0o777, 0o700, "the folder holding the private key is the owner's alone");
  } finally {
    await server.stop();
    rmSync(parent, { recursive: true, force: true });
  }
});

test("the default data directory is $XDG_DATA_HOME/zsync-server, else ~/.local/share/zsync-server", async () => {
  const { defaultDataDir } = await import("../../src/server/commands/common.js");
  assert.equal(defaultDataDir({ XDG_DATA_HOME: "/x/data", HOME: "/h" }), "/x/data/zsync-server");
  assert.equal(defaultDataDir({ ZSYNC_DATA_DIR: "/srv/z", XDG_DATA_HOME: "/x/data" }), "/srv/z");
  assert.match(defaultDataDir({ XDG_DATA_HOME: "relative/ignored" }), /\/\.local\/share\/zsync-server$/);
});
