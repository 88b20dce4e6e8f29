/**
 * Content types end to end (docs/CONTENT-TYPES.md): the built binaries against a real
 * zsync-server. Typed files are validated on commit (a malformed .vcf/.ics changes nothing on
 * the server), `add` picks the type, contacts merge per property on update, and each conflict
 * policy gives its outcome without losing a byte where it is `merge` or `error`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { checkoutInProcess, Remote, run, statusOf, updateOf, type Content } from "../helpers/scenario.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";

let server: TestServer;
let remote: Remote;
let counter = 0;
const made: string[] = [];

before(async () => {
  server = await startServer({ demo: true });
  remote = new Remote(server);
});
after(async () => {
  await server.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const crlf = (...lines: string[]) => lines.map((l) => l + "\r\n").join("");
const card = (...lines: string[]) => crlf("BEGIN:VCARD", "VERSION:4.0", "FN:Ann Example", ...lines, "UID:urn:uuid:ann", "END:VCARD");
const BASE_CARD = card("TEL;TYPE=cell:+1 555 0100", "EMAIL;TYPE=work:ann@work.example", "REV:20240101T000000Z");
const VCARD = { contentType: "text/vcard" };
const read = (dir: string, path: string) => readFileSync(join(dir, path), "utf8");
const write = (dir: string, path: string, content: Content) => writeFileSync(join(dir, path), content);

/** A fresh folder on the server and one checkout of it. */
async function folderWith(tree: Record<string, Content | null>, meta: Record<string, { contentType: string }> = {}): Promise<{ folder: string; wc: string; base: number }> {
  const folder = `ct${++counter}`;
  const base = await remote.createFolder(folder, tree, meta);
  const wc = await checkoutInProcess(remote, folder, "zsync-ct-");
  made.push(join(wc, ".."));
  return { folder, wc, base };
}

describe("typed content on commit", { concurrency: 2 }, () => {
  test("a malformed .vcf is refused with its line number, and nothing changes on the server", async () => {
    const { folder, wc } = await folderWith({ "keep.txt": "x\n" });
    const before = await remote.entries(folder);
    write(wc, "ann.vcf", crlf("BEGIN:VCARD", "VERSION:4.0", "FN:Ann", "TEL;TYPE=cell +1 555", "END:VCARD"));
    write(wc, "keep.txt", "changed too\n");
    await run(["add", "ann.vcf"], wc);
    const commit = await zsync(["commit", "-m", "bad card"], { cwd: wc });
    assert.notEqual(commit.code, 0);
    assert.match(commit.stderr, /ann\.vcf is not a valid contact: line 4: expected ':'/);
    assert.deepEqual(await remote.entries(folder), before, "the whole commit was refused");
    const st = await statusOf(wc);
    assert.equal(st.byPath.get("ann.vcf")?.status, "A", "the file stays scheduled for addition");
    assert.equal(st.byPath.get("keep.txt")?.status, "M");
  });

  test("a modification that breaks a stored .ics is refused; the stored event stays", async () => {
    const event = crlf("BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:e1", "DTSTART:20240610T080000Z", "SUMMARY:Sync", "END:VEVENT", "END:VCALENDAR");
    const { folder, wc } = await folderWith({ "sync.ics": event }, { "sync.ics": { contentType: "text/calendar" } });
    const before = await remote.entries(folder);
    write(wc, "sync.ics", event.replace("END:VEVENT\r\n", ""));
    const commit = await zsync(["commit", "-m", "broken"], { cwd: wc });
    assert.notEqual(commit.code, 0);
    assert.match(commit.stderr, /sync\.ics is not a valid event: line 7: END:VCALENDAR closes BEGIN:VEVENT of line 3/);
    assert.deepEqual(await remote.entries(folder), before);
    // A valid change of the same file goes through.
    write(wc, "sync.ics", event.replace("SUMMARY:Sync", "SUMMARY:Weekly sync"));
    await run(["commit", "-m", "ok"], wc);
  });

  test("zsync import types .vcf/.ics/.md files like add; a malformed one refuses the whole import with its line", async () => {
    const { folder } = await folderWith({});
    const dir = await tempDir("zsync-ct-import-");
    made.push(dir);
    mkdirSync(join(dir, "people"));
    write(dir, "people/ann.vcf", card("TEL;TYPE=cell:+1 555 0100"));
    write(dir, "Plans.md", "# Plans\n");
    write(dir, "sync.ics", crlf("BEGIN:VCALENDAR", "VERSION:2.0", "BEGIN:VEVENT", "UID:e1", "SUMMARY:no start", "END:VEVENT", "END:VCALENDAR"));
    const refused = await zsync(["import", remote.url(`${folder}/tree`), dir], { cwd: dir });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /sync\.ics is not a valid event: line 3: VEVENT without a DTSTART property; nothing was imported/);
    assert.equal((await remote.entries(folder)).has("tree"), false, "nothing stored");
    assert.equal(existsSync(join(dir, ".zsync")), false, "not attached");

    write(dir, "sync.ics", read(dir, "sync.ics").replace("SUMMARY:no start", "DTSTART:20240610T080000Z"));
    await run(["import", remote.url(`${folder}/tree`), dir], dir);
    const entries = await remote.entries(folder);
    assert.equal(entries.get("tree/people/ann.vcf")?.meta?.contentType, "text/vcard");
    assert.equal(entries.get("tree/sync.ics")?.meta?.contentType, "text/calendar");
    assert.deepEqual(entries.get("tree/Plans.md")?.meta, { contentType: "text/markdown", extra: { title: "Plans" } });
    assert.deepEqual((await statusOf(dir)).items, [], "attached, and the metadata files it got are the server's");
    assert.equal(JSON.parse(read(dir, "people/@@meta/ann.vcf.json")).contentType, "text/vcard");
  });

  test("the checkin endpoint refuses a malformed typed file with its line; nothing is stored", async () => {
    const { folder } = await folderWith({});
    const bad = crlf("BEGIN:VCARD", "VERSION:3.0", "FN Broken", "END:VCARD");
    const records = (async function* () {
      yield { kind: "dir" as const, path: "box" };
      yield { kind: "file" as const, path: "box/b.vcf", size: Buffer.byteLength(bad), body: bad };
    })();
    await assert.rejects(remote.client.checkin(folder, "box", records, { meta: { "box/b.vcf": VCARD } }), (error: Error & { status?: number }) => {
      assert.equal(error.status, 422);
      assert.match(error.message, /box\/b\.vcf is not a valid contact: line 3: .*nothing was imported/);
      return true;
    });
    assert.equal((await remote.entries(folder)).has("box"), false);
  });

  test("retyping through the metadata file re-parses the stored content: refused with its line when it does not parse", async () => {
    const { folder, wc } = await folderWith({ "plain.txt": "just text\n", "card.txt": card() });
    const before = await remote.entries(folder);
    mkdirSync(join(wc, "@@meta"), { recursive: true });
    write(wc, "@@meta/plain.txt.json", JSON.stringify({ contentType: "text/vcard" }));
    const refused = await zsync(["commit", "-m", "retype"], { cwd: wc });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /plain\.txt \(its stored content\) is not a valid contact: line 1: .*its type stays "none"; nothing was committed/);
    assert.deepEqual(await remote.entries(folder), before, "nothing changed on the server");
    rmSync(join(wc, "@@meta/plain.txt.json"));
    write(wc, "@@meta/card.txt.json", JSON.stringify({ contentType: "text/vcard" }));
    await run(["commit", "-m", "retype a real card"], wc);
    assert.equal((await remote.entries(folder)).get("card.txt")?.meta?.contentType, "text/vcard");
  });

  test("add chooses the type by extension and content; --type names it", async () => {
    const { wc } = await folderWith({});
    write(wc, "bob.vcf", card());
    write(wc, "meeting.ics", crlf("BEGIN:VCALENDAR", "VERSION:2.0", "END:VCALENDAR"));
    write(wc, "exported-contact", card());
    write(wc, "Shopping.md", "# Shopping\n\n- milk\n");
    write(wc, "plain", "hello\n");
    const added = await zsyncJson<{ added: { path: string; contentType?: string }[] }>(["add", "bob.vcf", "meeting.ics", "exported-contact", "Shopping.md"], { cwd: wc });
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(Object.fromEntries(added.json.added.map((a) => [a.path, a.contentType])), {
      "bob.vcf": "text/vcard",
      "meeting.ics": "text/calendar",
      "exported-contact": "text/vcard",
      "Shopping.md": "text/markdown",
    });
    const typed = await zsyncJson<{ added: { path: string; contentType?: string }[] }>(["add", "--type", "contact", "plain"], { cwd: wc });
    assert.equal(typed.json.added[0]?.contentType, "text/vcard");
    // plain is no vCard: the server refuses it, naming the first line.
    const commit = await zsync(["commit", "-m", "typed"], { cwd: wc });
    assert.match(commit.stderr, /plain is not a valid contact: line 1: /);
  });
});

describe("contacts merge per property on update", { concurrency: 2 }, () => {
  test("a phone changed here and an e-mail on the server merge cleanly", async () => {
    const { folder, wc } = await folderWith({ "ann.vcf": BASE_CARD }, { "ann.vcf": VCARD });
    await remote.change(folder, { modify: { "ann.vcf": BASE_CARD.replace("ann@work.example", "ann@new.example") } });
    write(wc, "ann.vcf", BASE_CARD.replace("0100", "0199"));
    const up = await updateOf(wc);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.byPath.get("ann.vcf")?.content, "G");
    const merged = read(wc, "ann.vcf");
    assert.match(merged, /TEL;TYPE=cell:\+1 555 0199/);
    assert.match(merged, /EMAIL;TYPE=work:ann@new\.example/);
    assert.doesNotMatch(merged, /<<<<<<<|>>>>>>>/);
  });

  test("the same property changed differently is one conflict naming the property; the file stays a valid vCard", async () => {
    const { folder, wc, base } = await folderWith({ "ann.vcf": BASE_CARD }, { "ann.vcf": VCARD });
    const theirs = BASE_CARD.replace("0100", "0122").replace("Ann Example", "Ann B. Example");
    const rev = await remote.change(folder, { modify: { "ann.vcf": theirs } });
    const mine = BASE_CARD.replace("0100", "0111");
    write(wc, "ann.vcf", mine);
    const up = await updateOf(wc);
    assert.equal(up.code, 1);
    assert.equal(up.byPath.get("ann.vcf")?.content, "C");
    assert.equal(up.byPath.get("ann.vcf")?.reason, "conflicting properties: TEL;TYPE=cell");
    const working = read(wc, "ann.vcf");
    assert.match(working, /TEL;TYPE=cell:\+1 555 0111/, "the conflicting property keeps mine");
    assert.match(working, /FN:Ann B\. Example/, "the other change merged in");
    assert.doesNotMatch(working, /<<<<<<<|>>>>>>>/);
    // No byte lost: every version is beside the file.
    assert.equal(read(wc, "ann.vcf.mine"), mine);
    assert.equal(read(wc, `ann.vcf.r${rev}`), theirs);
    assert.equal(read(wc, `ann.vcf.r${base}`), BASE_CARD);
    await run(["resolve", "--accept", "working", "ann.vcf"], wc);
    await run(["commit", "-m", "resolved"], wc);
  });
});

describe("conflict policies through the binary", { concurrency: 3 }, () => {
  const BASE = "one\ntwo\nthree\n";
  const MINE = "one\nTWO mine\nthree\n";
  const THEIRS = "one\nTWO theirs\nthree\n";

  /** A folder with notes/a.txt and contacts/ann.vcf changed on both sides; returns the server's revision of the change. */
  async function bothChanged(): Promise<{ wc: string; rev: number; folder: string; base: number }> {
    const { folder, wc, base } = await folderWith({ notes: null, "notes/a.txt": BASE, contacts: null, "contacts/ann.vcf": BASE_CARD }, { "contacts/ann.vcf": VCARD });
    const theirsCard = BASE_CARD.replace("0100", "0122").replace("REV:20240101T000000Z", "REV:20240301T000000Z");
    const rev = await remote.change(folder, { modify: { "notes/a.txt": THEIRS, "contacts/ann.vcf": theirsCard } });
    write(wc, "notes/a.txt", MINE);
    write(wc, "contacts/ann.vcf", BASE_CARD.replace("0100", "0111").replace("REV:20240101T000000Z", "REV:20240201T000000Z"));
    return { wc, rev, folder, base };
  }

  test("merge (default): conflict markers, every version beside the file", async () => {
    const { wc, rev, base } = await bothChanged();
    const up = await updateOf(wc, ["--policy", "merge"]);
    assert.equal(up.report.conflicts, 2);
    assert.match(read(wc, "notes/a.txt"), /<<<<<<< \.mine\n[^]*TWO mine[^]*TWO theirs[^]*>>>>>>>/);
    assert.equal(read(wc, "notes/a.txt.mine"), MINE);
    assert.equal(read(wc, `notes/a.txt.r${rev}`), THEIRS);
    assert.equal(read(wc, `notes/a.txt.r${base}`), BASE);
  });

  test("error: nothing merged, the working file is mine byte for byte, theirs and base beside it", async () => {
    const { wc, rev, base } = await bothChanged();
    const up = await updateOf(wc, ["--policy", "error"]);
    assert.equal(up.code, 1);
    assert.equal(up.report.conflicts, 2);
    assert.equal(up.byPath.get("notes/a.txt")?.reason, "policy error: changed on both sides, not merged");
    assert.equal(read(wc, "notes/a.txt"), MINE);
    assert.equal(read(wc, `notes/a.txt.r${rev}`), THEIRS);
    assert.equal(read(wc, `notes/a.txt.r${base}`), BASE);
    const st = await statusOf(wc);
    assert.equal(st.byPath.get("notes/a.txt")?.status, "C");
  });

  test("mine keeps the working file (to be committed over the server's); theirs takes the server's", async () => {
    const mine = await bothChanged();
    const upMine = await updateOf(mine.wc, ["--policy", "mine"]);
    assert.equal(upMine.code, 0, upMine.stderr);
    assert.equal(read(mine.wc, "notes/a.txt"), MINE);
    assert.equal((await statusOf(mine.wc)).byPath.get("notes/a.txt")?.status, "M");
    await run(["commit", "-m", "mine wins"], mine.wc);
    const chunks: Buffer[] = [];
    for await (const chunk of await remote.client.cat(`${mine.folder}/notes/a.txt`)) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), MINE);

    const theirs = await bothChanged();
    const upTheirs = await updateOf(theirs.wc, ["--policy", "theirs"]);
    assert.equal(upTheirs.code, 0, upTheirs.stderr);
    assert.equal(read(theirs.wc, "notes/a.txt"), THEIRS);
    assert.equal((await statusOf(theirs.wc)).byPath.get("notes/a.txt"), undefined, "clean: the server's version");
    assert.equal(existsSync(join(theirs.wc, "notes/a.txt.mine")), false);
  });

  test("newest: the contact with the later REV wins whole; a plain file with no date is kept both ways", async () => {
    const { wc, rev } = await bothChanged();
    const up = await updateOf(wc, ["--policy", "newest"]);
    assert.match(read(wc, "contacts/ann.vcf"), /TEL;TYPE=cell:\+1 555 0122/, "the server's REV 2024-03-01 is newer than 2024-02-01");
    assert.equal(up.byPath.get("contacts/ann.vcf")?.content, "G");
    assert.equal(up.byPath.get("notes/a.txt")?.content, "C");
    assert.equal(read(wc, "notes/a.txt"), MINE);
    assert.equal(read(wc, `notes/a.txt.r${rev}`), THEIRS);
  });

  test("per-path policies from `zsync config policy` apply without --policy; --policy overrides them", async () => {
    const { wc } = await bothChanged();
    const set = await zsyncJson<{ policies: Record<string, string> }>(["config", "policy", "contacts/", "theirs"], { cwd: wc });
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(set.json.policies, { contacts: "theirs" });
    await run(["config", "policy", "notes", "mine"], wc);
    const config = JSON.parse(read(wc, ".zsync/config.json")) as { policies: Record<string, string> };
    assert.deepEqual(config.policies, { contacts: "theirs", notes: "mine" });
    const up = await updateOf(wc);
    assert.equal(up.code, 0, up.stderr);
    assert.match(read(wc, "contacts/ann.vcf"), /0122/);
    assert.equal(read(wc, "notes/a.txt"), MINE);
    const bad = await zsync(["config", "policy", "notes", "sometimes"], { cwd: wc });
    assert.equal(bad.code, 2);
    await run(["config", "policy", "notes", "--unset"], wc);
    assert.deepEqual((JSON.parse(read(wc, ".zsync/config.json")) as { policies: unknown }).policies, { contacts: "theirs" });
  });

  test("merge between checkouts honours --policy theirs", async () => {
    const { folder, wc: a } = await folderWith({ "a.txt": BASE });
    const b = await checkoutInProcess(remote, folder, "zsync-ct-b-");
    made.push(join(b, ".."));
    write(a, "a.txt", THEIRS);
    write(b, "a.txt", MINE);
    const merged = await zsyncJson<{ conflicts: number }>(["merge", a, "--policy", "theirs"], { cwd: b });
    assert.equal(merged.code, 0, merged.stderr);
    assert.equal(merged.json.conflicts, 0);
    assert.equal(read(b, "a.txt"), THEIRS);
  });
});
