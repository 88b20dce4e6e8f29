/**
 * One scenario, every transport (DESIGN.md principle 4: one protocol, two transports). The same
 * steps run against a real zsync-server reached over plain HTTP, over HTTPS with a test CA, over
 * zsync-server's own ssh endpoint, and over a stock OpenSSH sshd whose `zsync` subsystem runs
 * `zsync-server --stdio`: checkout twice, edit, commit, a conflicting edit that is out of date,
 * update with a conflict, resolve, commit, update the other side — and a reader who may not commit.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson, type CliResult } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { hostPublicKey, serverCli, sshKeygen, sshPort, writeKnownHosts } from "../helpers/ssh.js";
import { startSshd, stdioSubsystem, type TestSshd } from "../helpers/sshd.js";
import { makeCa, makeServerCert } from "../helpers/tls.js";

/** What a transport gives the scenario: checkout URLs for the demo account and for a reader. */
interface Transport {
  /** `/demo` as the demo account `zsync` (editor of everything). */
  url: string;
  /** `/demo` as the account `rita`, a reader. */
  readerUrl: string;
  /** Environment for every zsync run (HOME, credentials, CA, known_hosts). */
  env: Record<string, string | undefined>;
  /** Environment for the reader's runs. */
  readerEnv: Record<string, string | undefined>;
  stop(): Promise<void>;
}

interface TransportSpec {
  name: string;
  start(work: string): Promise<Transport>;
}

/** The demo server plus a reader account `rita` (password `rita-pw`). */
async function demoServer(args: string[] = []): Promise<TestServer> {
  const server = await startServer({ args });
  const added = await serverCli(server.dataDir, ["user", "add", "rita", "--role", "reader", "--password-stdin"], { input: "rita-pw\n" });
  assert.equal(added.code, 0, added.stderr);
  return server;
}

/** A HOME whose ~/.ssh holds a fresh key (`id_ed25519`), so zsync finds it as a default identity. */
async function homeWithKey(work: string, name: string): Promise<{ home: string; publicKey: string }> {
  const home = join(work, name);
  await mkdir(join(home, ".ssh"), { recursive: true, mode: 0o700 });
  const key = await sshKeygen(join(home, ".ssh"), "id_ed25519");
  return { home, publicKey: `${key}.pub` };
}

const noAmbientSsh = { SSH_AUTH_SOCK: undefined, ZSYNC_SSH_ACCEPT_NEW: undefined, ZSYNC_PASSWORD: undefined };

const TRANSPORTS: TransportSpec[] = [
  {
    name: "http",
    async start(work) {
      const server = await demoServer();
      const at = (user: string) => `${server.url.replace("://", `://${user}@`)}/demo`;
      return {
        url: at("zsync"),
        readerUrl: at("rita"),
        env: { HOME: work, ZSYNC_PASSWORD: "zsync" },
        readerEnv: { HOME: work, ZSYNC_PASSWORD: "rita-pw" },
        stop: () => server.stop(),
      };
    },
  },
  {
    name: "https with a test CA",
    async start(work) {
      const pki = join(work, "pki");
      await mkdir(pki);
      makeCa(pki, "ca");
      makeServerCert(pki, "server", "ca", "IP:127.0.0.1");
      const server = await demoServer(["--tls-cert", join(pki, "server.pem"), "--tls-key", join(pki, "server.key")]);
      assert.match(server.url, /^https:\/\//);
      const at = (user: string) => `${server.url.replace("://", `://${user}@`)}/demo`;
      const ca = join(pki, "ca.pem");
      return {
        url: at("zsync"),
        readerUrl: at("rita"),
        env: { HOME: work, ZSYNC_PASSWORD: "zsync", ZSYNC_CA: ca },
        readerEnv: { HOME: work, ZSYNC_PASSWORD: "rita-pw", ZSYNC_CA: ca },
        stop: () => server.stop(),
      };
    },
  },
  {
    name: "ssh to zsync-server's ssh endpoint",
    async start(work) {
      const server = await demoServer(["--ssh-port", "0"]);
      const editor = await homeWithKey(work, "editor-home");
      const reader = await homeWithKey(work, "reader-home");
      for (const [account, key] of [["zsync", editor.publicKey], ["rita", reader.publicKey]]) {
        const added = await serverCli(server.dataDir, ["user", "key", "add", account, key]);
        assert.equal(added.code, 0, added.stderr);
      }
      const port = sshPort(server);
      const knownHosts = await writeKnownHosts(join(work, "known_hosts"), port, await hostPublicKey(server.dataDir));
      return {
        url: `zsync+ssh://zsync@127.0.0.1:${port}/demo`,
        readerUrl: `zsync+ssh://rita@127.0.0.1:${port}/demo`,
        env: { ...noAmbientSsh, HOME: editor.home, ZSYNC_KNOWN_HOSTS: knownHosts },
        readerEnv: { ...noAmbientSsh, HOME: reader.home, ZSYNC_KNOWN_HOSTS: knownHosts },
        stop: () => server.stop(),
      };
    },
  },
  {
    name: "ssh to OpenSSH sshd running zsync-server --stdio",
    async start(work) {
      // The running server only seeds the demo content and accounts; every request below is
      // served by a `zsync-server --stdio` process that sshd starts per connection.
      const server = await demoServer();
      const editor = await homeWithKey(work, "editor-home");
      const reader = await homeWithKey(work, "reader-home");
      // sshd logs every key in as root; a forced command per key maps it to its zsync account,
      // as docs/SSH.md describes for a shared unix user.
      const sshd: TestSshd = await startSshd({ subsystem: stdioSubsystem(server.dataDir), authorize: [] });
      const forced = (account: string, key: string) => readFile(key, "utf8").then((pub) => `restrict,command="${stdioSubsystem(server.dataDir, { as: account })}" ${pub.trim()}\n`);
      await writeFile(sshd.authorizedKeys, (await forced("zsync", editor.publicKey)) + (await forced("rita", reader.publicKey)));
      const knownHosts = join(work, "known_hosts");
      await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostKeyLine}\n`);
      return {
        url: `zsync+ssh://root@127.0.0.1:${sshd.port}/demo`,
        readerUrl: `zsync+ssh://root@127.0.0.1:${sshd.port}/demo`,
        env: { ...noAmbientSsh, HOME: editor.home, ZSYNC_KNOWN_HOSTS: knownHosts },
        readerEnv: { ...noAmbientSsh, HOME: reader.home, ZSYNC_KNOWN_HOSTS: knownHosts },
        async stop() {
          await sshd.stop();
          await server.stop();
        },
      };
    },
  },
];

for (const spec of TRANSPORTS) {
  describe(`the workflow over ${spec.name}`, () => {
    let work: string;
    let transport: Transport;
    const run = (args: string[], cwd: string, env = transport.env): Promise<CliResult> => zsync(args, { cwd, env });
    async function ok(args: string[], cwd: string): Promise<CliResult> {
      const result = await run(args, cwd);
      assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
      return result;
    }

    before(async () => {
      work = await tempDir("zsync-transport-");
      transport = await spec.start(work);
    });
    after(async () => {
      await transport?.stop();
      await rm(work, { recursive: true, force: true });
    });

    test("checkout, edit, commit, out of date, update with a conflict, resolve, commit, update", async () => {
      const alice = join(work, "alice");
      const bob = join(work, "bob");
      await ok(["checkout", transport.url, alice], work);
      await ok(["checkout", transport.url, bob, "-q"], work);
      const guide = "docs/guide.md";
      const original = await readFile(join(alice, guide), "utf8");
      assert.equal(await readFile(join(bob, guide), "utf8"), original);

      await writeFile(join(alice, guide), original.replace("# A short guide", "# Alice's guide"));
      await ok(["commit", "-m", "alice retitles the guide"], alice);

      await writeFile(join(bob, guide), original.replace("# A short guide", "# Bob's guide"));
      const stale = await zsyncJson<{ error: { code: string; paths: string[] } }>(["commit", "-m", "bob too"], { cwd: bob, env: transport.env });
      assert.equal(stale.code, 1);
      assert.equal(stale.json.error.code, "out-of-date");
      assert.deepEqual(stale.json.error.paths, [guide]);

      const up = await run(["update"], bob);
      assert.equal(up.code, 1, `unresolved conflict exits 1:\n${up.stderr}`);
      assert.match(up.stdout, /^C  docs\/guide\.md/m);
      const conflicted = await readFile(join(bob, guide), "utf8");
      assert.match(conflicted, /<<<<<<< \.mine\n# Bob's guide\n[^]*=======\n# Alice's guide\n>>>>>>> \.r\d+\n/);
      assert.equal(await readFile(join(bob, `${guide}.mine`), "utf8"), original.replace("# A short guide", "# Bob's guide"));

      // Bob settles it by hand, then tells zsync the file as it is now is the result.
      const settled = original.replace("# A short guide", "# Alice's and Bob's guide");
      await writeFile(join(bob, guide), settled);
      await ok(["resolve", "--accept", "working", guide], bob);
      await assert.rejects(stat(join(bob, `${guide}.mine`)), "the artifacts are gone once resolved");
      await ok(["commit", "-m", "bob merges the titles"], bob);

      const alicesUpdate = await ok(["update"], alice);
      assert.match(alicesUpdate.stdout, /^U  docs\/guide\.md/m);
      assert.equal(await readFile(join(alice, guide), "utf8"), settled);
      const status = await zsyncJson<{ items: unknown[] }>(["status", "-u"], { cwd: alice, env: transport.env });
      assert.equal(status.code, 0);
      assert.deepEqual(status.json.items, []);

      const log = await zsyncJson<{ revisions: { author: string; note: string }[] }>(["log", guide, "-l", "2"], { cwd: alice, env: transport.env });
      assert.deepEqual(
        log.json.revisions.map((r) => [r.author, r.note]),
        [
          ["zsync", "bob merges the titles"],
          ["zsync", "alice retitles the guide"],
        ],
      );
    });

    test("a reader checks out and updates but may not commit", async () => {
      const rita = join(work, "rita");
      const checkout = await run(["checkout", transport.readerUrl, rita, "-q"], work, transport.readerEnv);
      assert.equal(checkout.code, 0, checkout.stderr);
      await writeFile(join(rita, "README.txt"), "rita was here\n");
      const refused = await run(["commit", "-m", "rita tries"], rita, transport.readerEnv);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /you \(reader\) may not commit to \/demo; nothing was committed/);
      const stillThere = await run(["update"], rita, transport.readerEnv);
      assert.equal(stillThere.code, 0, stillThere.stderr);
      assert.equal(await readFile(join(rita, "README.txt"), "utf8"), "rita was here\n", "the reader's edit is kept");
    });
  });
}
