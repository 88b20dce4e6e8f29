/**
 * `zsync-server mirror-git` against a running server's store: the git history matches `zsync log`
 * revision by revision, every file of every commit matches `zsync cat -r REV` (content, and the
 * metadata files `zsync cat --meta`), the incremental run adds exactly the new revisions, and
 * `--follow` picks up a commit made while it runs. Content that git would ignore or convert
 * (its own `.gitignore` and `.gitattributes`, a global excludes file and `core.autocrlf=true` in
 * the user's git config, CRLF and lone CR bytes) is mirrored byte for byte.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { simpleGit } from "simple-git";
import { formatMeta, objectOfMetaFile } from "../../src/protocol/meta-text.js";
import { createZsyncClient } from "../../src/transport/http/client.js";
import { zsync, zsyncBytes } from "../helpers/cli.js";
import { SERVER_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";

async function ok(args: string[], cwd: string) {
  const result = await zsync(args, { cwd });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

function mirror(dataDir: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SERVER_BIN, "--data-dir", dataDir, "mirror-git", ...args], { stdio: ["ignore", "pipe", "pipe"], env });
    let out = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (out += c));
    child.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}

describe("zsync-server mirror-git", { timeout: 180_000 }, () => {
  let server: TestServer;
  let dir: string;
  let work: string;
  let url: string;
  let gitDir: string;
  const client = () => createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });

  before(async () => {
    server = await startServer();
    url = server.url.replace("://", "://zsync@");
    dir = await tempDir("zsync-mirror-");
    gitDir = join(dir, "mirror");
    await ok(["checkout", `${url}/demo`, "work", "-q"], dir);
    work = join(dir, "work");
    await writeFile(join(work, "README.txt"), "changed\n");
    await ok(["commit", "-m", "readme\n\nwith a body", "-q"], work);
    const metaFile = join(work, "docs/@@meta/guide.md.json");
    const meta = JSON.parse(await readFile(metaFile, "utf8"));
    meta.extra.title = "Guide, retitled";
    await writeFile(metaFile, JSON.stringify(meta, null, 2) + "\n");
    await mkdir(join(work, "more"));
    await writeFile(join(work, "more/a.txt"), "a\n");
    await ok(["add", "more", "-q"], work);
    await ok(["commit", "-m", "meta and a folder", "-q"], work);
    await ok(["remove", "docs/notes.txt", "-q"], work);
    await ok(["commit", "-m", "", "-q"], work);
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Checks history and trees; file contents only for revisions from `from` on (earlier ones were checked before). */
  async function checkMatches(from = 1): Promise<void> {
    const git = simpleGit(gitDir);
    const commits = (await git.raw(["log", "--format=%H%x00%an%x00%aI%x00%B%x01"])).split("\x01").map((s) => s.trim()).filter(Boolean);
    const zlog = JSON.parse((await ok(["log", `${url}/`, "--json"], dir)).stdout).revisions.filter((r: { revision: number }) => r.revision > 0);
    assert.equal(commits.length, zlog.length, "one git commit per revision");
    for (let i = 0; i < commits.length; i++) {
      const [hash, author, date, body] = commits[i].split("\x00");
      const entry = zlog[i];
      assert.equal(Number(/Zsync-Revision: (\d+)/.exec(body)?.[1]), entry.revision);
      assert.equal(author, entry.author);
      assert.equal(new Date(date).getTime(), Math.floor(new Date(entry.date).getTime() / 1000) * 1000);
      const message = body.replace(/\n*Zsync-Revision:[^]*$/, "");
      assert.equal(message, entry.note === "" ? `(no message) r${entry.revision}` : entry.note.trimEnd());
      if (entry.revision < from) continue;
      // Every file of the commit is what the server has at that revision; and nothing is missing.
      const files = (await git.raw(["ls-tree", "-r", "--name-only", hash])).split("\n").filter(Boolean);
      const snapshot = await client().snapshot("", { rev: entry.revision });
      const expectedFiles = snapshot.manifest.entries.filter((e) => e.kind === "file").map((e) => e.path);
      const expectedMeta = snapshot.manifest.entries.filter((e) => e.meta && Object.keys(e.meta).length > 0).map((e) => e.path);
      for await (const record of snapshot.records) for await (const _ of record.body) void _;
      assert.deepEqual(files.filter((f) => objectOfMetaFile(f) === undefined).sort(), expectedFiles.sort(), `files of r${entry.revision}`);
      assert.deepEqual(files.map(objectOfMetaFile).filter((o) => o !== undefined).sort(), expectedMeta.sort(), `metadata files of r${entry.revision}`);
      for (const file of files) {
        const inGit = Buffer.from(await git.binaryCatFile(["blob", `${hash}:${file}`]));
        const object = objectOfMetaFile(file);
        if (object === undefined) {
          const chunks: Buffer[] = [];
          for await (const c of await client().cat(file, { rev: entry.revision })) chunks.push(c as Buffer);
          assert.deepEqual(inGit, Buffer.concat(chunks), `${file} at r${entry.revision}`);
        } else {
          const listing = await client().list(object, { rev: entry.revision });
          assert.equal(inGit.toString("utf8"), formatMeta(listing.entry.meta ?? {}), `${file} at r${entry.revision}`);
        }
      }
    }
    // And through the real binary, for a text and a binary file of the newest commit (the
    // protocol client above is what `zsync cat` calls; this checks the binary adds nothing).
    const newest = zlog[0].revision;
    for (const file of ["demo/README.txt", "demo/images/logo.png"]) {
      const shown = await git.binaryCatFile(["blob", `HEAD:${file}`]);
      const catted = (await zsyncBytes(["cat", "-r", String(newest), `${url}/${file}`], { cwd: dir })).stdout;
      assert.deepEqual(Buffer.from(shown), catted, file);
    }
    assert.equal((await ok(["cat", "--meta", "-r", String(newest), `${url}/demo/docs/guide.md`], dir)).stdout, await git.show([`HEAD:demo/docs/@@meta/guide.md.json`]));
  }

  test("a first run mirrors every revision while the server runs; history and files match the server's", async () => {
    const run = await mirror(server.dataDir, [gitDir]);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /4 revisions added, at revision 4/);
    await checkMatches();
  });

  test("a second run adds exactly the new revisions; a run with nothing new adds nothing", async () => {
    const git = simpleGit(gitDir);
    const before = Number((await git.raw(["rev-list", "--count", "HEAD"])).trim());
    await writeFile(join(work, "more/a.txt"), "a, again\n");
    await ok(["commit", "-m", "r5", "-q"], work);
    await ok(["update", "-q"], work);
    await ok(["remove", "more", "-q"], work);
    await ok(["commit", "-m", "r6", "-q"], work);
    const run = await mirror(server.dataDir, [gitDir]);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /mirrored revision 5\nmirrored revision 6\n.*2 revisions added, at revision 6/);
    assert.equal(Number((await git.raw(["rev-list", "--count", "HEAD"])).trim()), before + 2);
    await checkMatches(5);
    const again = await mirror(server.dataDir, [gitDir]);
    assert.match(again.out, /0 revisions added, at revision 6/);
    assert.equal(Number((await git.raw(["rev-list", "--count", "HEAD"])).trim()), before + 2);
  });

  test("--follow mirrors a commit made while it runs; a directory with other history is refused", async () => {
    const child = spawn(process.execPath, [SERVER_BIN, "--data-dir", server.dataDir, "mirror-git", gitDir, "--follow", "--interval", "0.2"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const seen = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) resolve();
        };
        child.stdout.on("data", (c) => {
          out += c;
          check();
        });
        child.once("exit", () => reject(new Error(`mirror-git exited:\n${out}`)));
        check();
      });
    try {
      await seen(/following/);
      await writeFile(join(work, "README.txt"), "while following\n");
      await ok(["commit", "-m", "r7 while following", "-q"], work);
      await seen(/mirrored revision 7/);
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("close", resolve));
    }
    assert.equal(await simpleGit(gitDir).show(["HEAD:demo/README.txt"]), "while following\n");

    const other = join(dir, "other");
    await mkdir(other);
    const git = simpleGit(other);
    await git.init();
    await writeFile(join(other, "x"), "x");
    await git.add("x");
    await git.raw(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "not a mirror"]);
    const refused = await mirror(server.dataDir, [other]);
    assert.equal(refused.code, 1);
    assert.match(refused.out, /has commits that zsync-server mirror-git did not make/);
  });

  test("files git would ignore or convert are mirrored byte for byte (content .gitignore/.gitattributes, user git config)", async () => {
    // The user's git config as a mirror host may have it: a global excludes file and autocrlf.
    const home = join(dir, "home");
    await mkdir(home, { recursive: true });
    await writeFile(join(home, ".gitconfig"), `[core]\n\texcludesFile = ${join(home, "global-ignore")}\n\tautocrlf = true\n`);
    await writeFile(join(home, "global-ignore"), "*.log\n");
    await ok(["update", "-q"], work);
    const files: Record<string, string> = {
      ".gitignore": "build/\n*.o\n/keep.txt\n",
      ".gitattributes": "* text eol=crlf\n*.txt text eol=lf\n*.bin ident\n",
      "build/x.o": "\x7fELF\r\nobject\n",
      "keep.o": "kept\r\n",
      "keep.txt": "ignored by the content's own .gitignore\r\n",
      "notes.log": "a global excludes file matches this\r\n",
      "crlf.txt": "one\r\ntwo\r\n",
      "lone-cr.txt": "a\rb\n",
      "mixed.txt": "a\r\nb\n",
      "id.bin": "$Id$\r\n",
    };
    for (const [name, text] of Object.entries(files)) {
      await mkdir(join(work, "git-tricks", name, ".."), { recursive: true });
      await writeFile(join(work, "git-tricks", name), Buffer.from(text, "latin1"));
    }
    await ok(["add", "git-tricks", "--no-ignore", "-q"], work);
    await ok(["commit", "-m", "files git would ignore or convert", "-q"], work);
    const head = JSON.parse((await ok(["log", `${url}/`, "--json", "-l", "1"], dir)).stdout).revisions[0].revision as number;
    const run = await mirror(server.dataDir, [gitDir], { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config") });
    assert.equal(run.code, 0, run.out);
    const git = simpleGit(gitDir);
    const tree = (await git.raw(["ls-tree", "-r", "--name-only", "HEAD", "demo/git-tricks"])).split("\n").filter((f) => f !== "" && objectOfMetaFile(f) === undefined).sort();
    assert.deepEqual(tree, Object.keys(files).map((name) => `demo/git-tricks/${name}`).sort(), "every file is in the commit");
    for (const [name, text] of Object.entries(files)) {
      const path = `demo/git-tricks/${name}`;
      const shown = Buffer.from(await git.binaryCatFile(["blob", `HEAD:${path}`]));
      const catted = (await zsyncBytes(["cat", "-r", String(head), `${url}/${path}`], { cwd: dir })).stdout;
      assert.deepEqual(catted, Buffer.from(text, "latin1"), `zsync cat ${path}`);
      assert.deepEqual(shown, catted, `git show HEAD:${path} equals zsync cat -r ${head}`);
    }
    await checkMatches(head);
  });
});
