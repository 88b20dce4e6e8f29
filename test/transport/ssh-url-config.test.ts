/**
 * zsync+ssh:// URL parsing and ~/.ssh/config resolution (Host aliases, HostName, Port, User,
 * IdentityFile) with a temporary HOME.
 */
import assert from "node:assert/strict";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { resolveSshTarget } from "../../src/transport/ssh/ssh-config.js";
import { isSshUrl, parseSshUrl, sshOrigin } from "../../src/transport/ssh/url.js";
import { tempDir } from "../helpers/server.js";

describe("zsync+ssh:// URLs", () => {
  test("user, host, port and path", () => {
    assert.deepEqual(parseSshUrl("zsync+ssh://alice@example.org:2200/demo/sub"), { host: "example.org", port: 2200, user: "alice", path: "demo/sub" });
    assert.deepEqual(parseSshUrl("zsync+ssh://example.org/"), { host: "example.org", port: undefined, user: undefined, path: "" });
    assert.deepEqual(parseSshUrl("zsync+ssh://bob@[::1]:22/x"), { host: "::1", port: 22, user: "bob", path: "x" });
    assert.ok(isSshUrl("ZSYNC+SSH://h/x"));
    assert.ok(!isSshUrl("http://h/x"));
  });

  test("bad URLs are usage errors (exit code 2)", () => {
    for (const url of ["zsync+ssh:///x", "zsync+ssh://h:99999/x", "zsync+ssh://h/@@x", "zsync+ssh://h/x?a=1", "nonsense", "zsync+ssh://a%zz@h/x", "zsync+ssh://h/x%zz"]) {
      assert.throws(() => parseSshUrl(url), (error: Error & { exitCode?: number }) => error.exitCode === 2, url);
    }
    // A password in the URL is for this one command's ssh password login (never stored: see the origin test).
    assert.equal(parseSshUrl("zsync+ssh://alice:secret@h/x").password, "secret");
  });

  test("the stored origin carries user, host and port, never a secret", () => {
    assert.equal(sshOrigin({ host: "myalias", port: 2222, user: "bob" }), "zsync+ssh://bob@myalias:2222");
    assert.equal(sshOrigin({ host: "::1", port: 22, user: "a b" }), "zsync+ssh://a%20b@[::1]:22");
  });
});

describe("~/.ssh/config", () => {
  let home: string;
  let savedHome: string | undefined;
  before(async () => {
    home = await tempDir("zsync-home-");
    savedHome = process.env.HOME;
    process.env.HOME = home;
    await mkdir(join(home, ".ssh"));
    await writeFile(
      join(home, ".ssh", "config"),
      [
        "Host work",
        "  HostName 127.0.0.1",
        "  Port 2222",
        "  User carol",
        "  IdentityFile ~/.ssh/work_key",
        "  IdentityFile %d/other_key",
        "Host *.corp",
        "  User dave",
        "Host *",
        "  IdentityFile ~/.ssh/everywhere",
        "",
      ].join("\n"),
    );
  });
  after(async () => {
    process.env.HOME = savedHome;
    await rm(home, { recursive: true, force: true });
  });

  test("a Host alias gives HostName, Port, User and IdentityFile (expanded)", async () => {
    assert.deepEqual(await resolveSshTarget({ host: "work" }), {
      alias: "work",
      hostName: "127.0.0.1",
      port: 2222,
      user: "carol",
      identityFiles: [join(home, ".ssh", "work_key"), join(home, "other_key"), join(home, ".ssh", "everywhere")],
    });
  });

  test("the URL's user and port win over the file; patterns apply; defaults are port 22 and the login name", async () => {
    const target = await resolveSshTarget({ host: "work", port: 2300, user: "erin" });
    assert.equal(target.port, 2300);
    assert.equal(target.user, "erin");
    const corp = await resolveSshTarget({ host: "db.corp" });
    assert.deepEqual([corp.hostName, corp.port, corp.user], ["db.corp", 22, "dave"]);
    const plain = await resolveSshTarget({ host: "plain.example" });
    assert.equal(plain.user, userInfo().username);
  });

  test("no config file is fine; an unreadable one is an error", async () => {
    const target = await resolveSshTarget({ host: "x" }, { configFile: join(home, "absent") });
    assert.deepEqual(target.identityFiles, []);
    await assert.rejects(resolveSshTarget({ host: "x" }, { configFile: join(home, ".ssh") }), /cannot read/);
  });
});
