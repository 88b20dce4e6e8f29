/**
 * `zsync commit` without -m/-F on a terminal opens $VISUAL/$EDITOR on the list of changes below
 * svn's marker line; an empty message aborts (git's choice); nothing changed means no editor.
 * The editor is a shell script that records what it was shown and writes a message.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { zsyncInPty } from "../helpers/pty.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { Remote } from "../helpers/scenario.js";
import { MESSAGE_MARKER, messageFromEdited } from "../../src/cli/commit-editor.js";

describe("commit opens the editor on a terminal", () => {
  let server: TestServer;
  let remote: Remote;
  let n = 0;
  before(async () => {
    server = await startServer({ demo: true });
    remote = new Remote(server);
  });
  after(() => server.stop());

  /** A checkout with f.txt edited and new.txt added, and an editor script writing `message`. */
  async function setup(message: string | null, exitCode = 0) {
    const folder = `ed${++n}`;
    await remote.createFolder(folder, { "f.txt": "a\n" });
    const parent = await tempDir("zsync-editor-");
    assert.equal((await zsync(["checkout", remote.url(folder), "wc", "-q"], { cwd: parent })).code, 0);
    const dir = join(parent, "wc");
    const editor = join(parent, "editor.sh");
    const seen = join(parent, "seen.txt");
    // Records the file it was given (the last argument: EDITOR carries a flag too), then (unless message is null) puts the message above it.
    writeFileSync(
      editor,
      `#!/bin/sh\nfor f; do :; done\ncp "$f" ${JSON.stringify(seen)}\n${message === null ? "" : `printf '%s\\n' ${JSON.stringify(message)} | cat - "$f" > "$f.new" && mv "$f.new" "$f"\n`}exit ${exitCode}\n`,
    );
    chmodSync(editor, 0o755);
    return { folder, parent, dir, seen, env: { EDITOR: `${editor} --flag`, VISUAL: undefined, ZSYNC_PASSWORD: "zsync" } };
  }

  async function lastNote(dir: string): Promise<string> {
    const { json } = await zsyncJson<{ revisions: { note: string }[] }>(["log", "-l", "1"], { cwd: dir });
    return json.revisions[0]!.note;
  }

  test("the editor sees the changes below the marker; the text above it is the log message", async () => {
    const c = await setup("Fix the typo");
    writeFileSync(join(c.dir, "f.txt"), "b\n");
    writeFileSync(join(c.dir, "new.txt"), "new\n");
    assert.equal((await zsync(["add", "new.txt"], { cwd: c.dir })).code, 0);
    const r = await zsyncInPty(["commit"], { cwd: c.dir, env: c.env });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Committed revision \d+\./);
    const shown = readFileSync(c.seen, "utf8");
    assert.ok(shown.includes(`\n${MESSAGE_MARKER}\n`), shown);
    assert.match(shown.split(MESSAGE_MARKER)[1]!, /^M +f\.txt$/m);
    assert.match(shown.split(MESSAGE_MARKER)[1]!, /^A +new\.txt$/m);
    assert.equal(await lastNote(c.dir), "Fix the typo");
  });

  test("an empty message aborts the commit: exit 1, nothing committed", async () => {
    const c = await setup(null);
    writeFileSync(join(c.dir, "f.txt"), "b\n");
    const r = await zsyncInPty(["commit"], { cwd: c.dir, env: c.env });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /log message is empty, so the commit was aborted; nothing was committed/);
    const { json } = await zsyncJson<{ items: { path: string; status: string }[] }>(["status"], { cwd: c.dir });
    assert.deepEqual(json.items.map((i) => [i.path, i.status]), [["f.txt", "M"]]);
  });

  test("a failing editor commits nothing", async () => {
    const c = await setup("not used", 3);
    writeFileSync(join(c.dir, "f.txt"), "b\n");
    const r = await zsyncInPty(["commit"], { cwd: c.dir, env: c.env });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /the editor \(.*editor\.sh --flag\) exited with 3; nothing was committed/);
  });

  test("nothing changed: 'Nothing to commit.' and the editor never opens", async () => {
    const c = await setup("unused");
    writeFileSync(join(c.dir, "stray.txt"), "unversioned\n");
    const r = await zsyncInPty(["commit"], { cwd: c.dir, env: c.env });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Nothing to commit\./);
    assert.equal(existsSync(c.seen), false, "no editor for nothing");
  });

  test("a conflict is refused before the editor opens", async () => {
    const c = await setup("unused");
    writeFileSync(join(c.dir, "f.txt"), "mine\n");
    await remote.change(c.folder, { modify: { "f.txt": "theirs\n" } });
    assert.equal((await zsync(["update", "--non-interactive"], { cwd: c.dir })).code, 1);
    const r = await zsyncInPty(["commit"], { cwd: c.dir, env: c.env });
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /in conflict; resolve it first/);
    assert.equal(existsSync(c.seen), false);
  });
});

test("messageFromEdited keeps what is above the marker, trimmed", () => {
  assert.equal(messageFromEdited(`\n\nLine one  \n\nLine three\n\n${MESSAGE_MARKER}\n\nM   f.txt\n`), "Line one\n\nLine three");
  assert.equal(messageFromEdited(`\n${MESSAGE_MARKER}\nM   f.txt\n`), "");
  assert.equal(messageFromEdited("no marker at all\n"), "no marker at all");
});
