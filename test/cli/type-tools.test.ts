/**
 * `zsync notes …` and `zsync contacts …` end to end on a checkout of the demo (which seeds
 * notes/ and contacts/), and the note rule: the title is the file name, kept in metadata, and a
 * renamed (copied + removed) note gets its new title.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { zsync, zsyncJson } from "../helpers/cli.js";
import { checkoutInProcess, Remote, run } from "../helpers/scenario.js";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { vcardFile } from "../helpers/vcards.js";
import { parseVObjects, type VComponent } from "../../src/merge/vobject.js";

let server: TestServer;
let remote: Remote;
const made: string[] = [];

before(async () => {
  server = await startServer({ demo: true });
  remote = new Remote(server);
});
after(async () => {
  await server.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

async function demoCheckout(): Promise<string> {
  const wc = await checkoutInProcess(remote, "demo", "zsync-tools-");
  made.push(join(wc, ".."));
  return wc;
}

const read = (dir: string, path: string) => readFileSync(join(dir, path), "utf8");

describe("zsync notes", () => {
  test("list, show, add, edit; the title is the file name and is kept in metadata; commit stores the note", async () => {
    const wc = await demoCheckout();
    const listed = await zsyncJson<{ notes: { path: string; title: string }[] }>(["notes", "list"], { cwd: wc });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.json.notes.map((n) => [n.path, n.title]), [["docs/guide.md", "guide"], ["notes/Welcome.md", "Welcome"]]);

    const shown = await zsyncJson<{ body: string; title: string }>(["notes", "show", "Welcome"], { cwd: wc });
    assert.equal(shown.json.body, read(wc, "notes/Welcome.md"));

    const added = await zsyncJson<{ path: string; title: string }>(["notes", "add", "Shopping list", "--body=- milk\n- bread\n"], { cwd: wc });
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual([added.json.path, added.json.title], ["notes/Shopping list.md", "Shopping list"]);
    assert.deepEqual(JSON.parse(read(wc, "notes/@@meta/Shopping list.md.json")), { contentType: "text/markdown", extra: { title: "Shopping list" } });
    const again = await zsync(["notes", "add", "Shopping list", "--body", "x"], { cwd: wc });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists already/);

    const edited = await zsyncJson<{ changed: boolean }>(["notes", "edit", "Shopping list", "--body=- milk\n- eggs\n"], { cwd: wc });
    assert.equal(edited.json.changed, true);
    assert.equal(read(wc, "notes/Shopping list.md"), "- milk\n- eggs\n");
    const emptyPipe = await zsync(["notes", "edit", "Shopping list"], { cwd: wc, input: "" });
    assert.equal(emptyPipe.code, 2, "an empty pipe never wipes a note");
    assert.equal(read(wc, "notes/Shopping list.md"), "- milk\n- eggs\n");
    const piped = await zsync(["notes", "edit", "Shopping list"], { cwd: wc, input: "- tea\n" });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(read(wc, "notes/Shopping list.md"), "- tea\n");

    await run(["commit", "-m", "a note"], wc);
    const entry = (await remote.entries("demo")).get("notes/Shopping list.md");
    assert.deepEqual(entry?.meta, { contentType: "text/markdown", extra: { title: "Shopping list" } });

    // Renaming the file renames the note.
    await run(["copy", "notes/Shopping list.md", "notes/Groceries.md"], wc);
    await run(["rm", "notes/Shopping list.md"], wc);
    assert.equal(JSON.parse(read(wc, "notes/@@meta/Groceries.md.json")).extra.title, "Groceries");
    await run(["commit", "-m", "rename"], wc);
    const after = await remote.entries("demo");
    assert.equal(after.has("notes/Shopping list.md"), false);
    assert.equal(after.get("notes/Groceries.md")?.meta?.extra?.title, "Groceries");
    // zsync move does the same in one step.
    await run(["move", "notes/Groceries.md", "notes/Food.md"], wc);
    await run(["commit", "-m", "move"], wc);
    const moved = await remote.entries("demo");
    assert.equal(moved.has("notes/Groceries.md"), false);
    assert.equal(moved.get("notes/Food.md")?.meta?.extra?.title, "Food");
  });
});

describe("zsync contacts", () => {
  test("list, show, add, export on the demo's contacts", async () => {
    const wc = await demoCheckout();
    const listed = await zsyncJson<{ contacts: { name: string; emails: string[]; phones: string[] }[] }>(["contacts", "list"], { cwd: wc });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.json.contacts.map((c) => [c.name, c.emails, c.phones]), [
      ["Ann Example", ["ann@example.org"], ["+1 555 0100"]],
      ["Bob Builder", ["bob@example.net"], ["+44 20 7946 0000"]],
    ]);
    const shown = await zsync(["contacts", "show", "bob"], { cwd: wc });
    assert.match(shown.stdout, /Bob Builder {2}\(contacts\/Bob Builder\.vcf\)\n {2}email: bob@example\.net\n {2}phone: \+44 20 7946 0000\n/);
    const added = await zsyncJson<{ path: string }>(["contacts", "add", "Cleo, Queen", "--email", "cleo@nile.example", "--tel", "+20 2 1234", "--org", "Egypt; Ltd"], { cwd: wc });
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.json.path, "contacts/Cleo, Queen.vcf");
    assert.match(read(wc, added.json.path), /^BEGIN:VCARD\r\nVERSION:4\.0\r\nFN:Cleo\\, Queen\r\nEMAIL:cleo@nile\.example\r\nTEL:\+20 2 1234\r\nORG:Egypt\\; Ltd\r\nUID:urn:uuid:/);
    await run(["commit", "-m", "cleo"], wc);
    const exported = await zsync(["contacts", "export"], { cwd: wc });
    assert.equal((exported.stdout.match(/BEGIN:VCARD/g) ?? []).length, 3);
    const shownCleo = await zsyncJson<{ contacts: { name: string; organization?: string }[] }>(["contacts", "show", "Cleo, Queen"], { cwd: wc });
    assert.deepEqual(shownCleo.json.contacts.map((c) => [c.name, c.organization]), [["Cleo, Queen", "Egypt; Ltd"]]);
  });

  test("importing a vCard file of 1,000 contacts makes 1,000 contact objects in one revision", async (t) => {
    const wc = await demoCheckout();
    const { text, seed } = vcardFile(1000);
    t.diagnostic(`vCard seed ${seed} (ZSYNC_VCARD_SEED=${seed} repeats it)`);
    const cards = parseVObjects(text);
    assert.equal(cards.length, 1000);
    const file = join(wc, "..", "all.vcf");
    writeFileSync(file, text);
    const imported = await zsyncJson<{ imported: { path: string; name: string }[] }>(["contacts", "import", file, "--folder", "people"], { cwd: wc });
    assert.equal(imported.code, 0, `seed ${seed}: ${imported.stderr}`);
    assert.equal(imported.json.imported.length, 1000);
    assert.equal(new Set(imported.json.imported.map((c) => c.path.toLowerCase())).size, 1000, "same names (any case) get a number");
    const before = (await remote.entries("demo")).get("")!.revision;
    const commit = await zsync(["commit", "-m", "import"], { cwd: wc });
    assert.equal(commit.code, 0, `seed ${seed}: ${commit.stderr}`);
    const entries = await remote.entries("demo");
    const people = [...entries.values()].filter((e) => e.path.startsWith("people/") && e.kind === "file");
    assert.equal(people.length, 1000);
    assert.equal(new Set(people.map((e) => e.revision)).size, 1, "one revision");
    assert.ok(people[0]!.revision > before);
    assert.ok(people.every((e) => e.meta?.contentType === "text/vcard"));
    // Every card arrived as it was: the export is the same cards in the same data.
    const exported = await zsync(["contacts", "export", "--folder", "people"], { cwd: wc });
    const key = (c: VComponent) => JSON.stringify(c.properties.map((p) => [p.name, p.params, p.value]));
    assert.deepEqual(parseVObjects(exported.stdout).map(key).sort(), cards.map(key).sort(), `seed ${seed}`);
  });

  test("a malformed import changes nothing", async () => {
    const wc = await demoCheckout();
    const file = join(wc, "..", "bad.vcf");
    writeFileSync(file, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ok\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN Broken\r\nEND:VCARD\r\n");
    const result = await zsync(["contacts", "import", file], { cwd: wc });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad\.vcf: line 7: expected ':'.*nothing was imported/);
    const status = await zsyncJson<{ items: unknown[] }>(["status"], { cwd: wc });
    assert.deepEqual(status.json.items, []);
  });
});

describe("the tools on a server folder URL", () => {
  let cwd: string;
  let counter = 0;
  before(async () => {
    cwd = await tempDir("zsync-tools-url-");
    made.push(cwd);
  });
  const newFolder = async (tree: Record<string, string | null>, meta: Record<string, { contentType: string; extra?: Record<string, unknown> }>) => {
    const folder = `tools-url-${++counter}`;
    await remote.createFolder(folder, tree, meta);
    return { folder, url: remote.url(folder) };
  };
  const head = async (folder: string) => Math.max(...[...(await remote.entries(folder)).values()].map((e) => e.revision));

  test("notes list, show, add and edit on a URL; add and edit commit one revision each", async () => {
    const { folder, url } = await newFolder({ notes: null, "notes/Plan.md": "# The plan\nsteps\n" }, { "notes/Plan.md": { contentType: "text/markdown", extra: { title: "Plan" } } });
    const listed = await zsyncJson<{ notes: { path: string; title: string; firstLine: string }[] }>(["notes", "list", url], { cwd });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.json.notes.map((n) => [n.path, n.title, n.firstLine]), [["notes/Plan.md", "Plan", "The plan"]]);
    const shown = await zsync(["notes", "show", "Plan", url], { cwd });
    assert.equal(shown.stdout, "# The plan\nsteps\n");

    const before = await head(folder);
    const added = await zsyncJson<{ path: string; revision: number }>(["notes", "add", "Idea", "--body", "an idea\n", "--folder", "notes", "--url", url, "-m", "new idea"], { cwd });
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.json.path, "notes/Idea.md");
    assert.equal(added.json.revision, before + 1);
    const entries = await remote.entries(folder);
    assert.deepEqual(entries.get("notes/Idea.md")?.meta, { contentType: "text/markdown", extra: { title: "Idea" } });
    const again = await zsync(["notes", "add", "idea", "--body", "x", "--folder", "notes", "--url", url], { cwd });
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /exists already/);

    const edited = await zsyncJson<{ changed: boolean; revision: number }>(["notes", "edit", "Idea", "--body", "a better idea\n", "--url", url], { cwd });
    assert.equal(edited.code, 0, edited.stderr);
    assert.deepEqual([edited.json.changed, edited.json.revision], [true, before + 2]);
    assert.equal((await zsync(["notes", "show", "notes/Idea.md", "--url", url], { cwd })).stdout, "a better idea\n");
    const log = await remote.client.log(folder, { limit: 1 });
    assert.equal(log[0]!.note, "edit note Idea");
  });

  test("contacts add, import (1,000 cards, one revision), list, show and export on a URL", async (t) => {
    const { folder, url } = await newFolder({ "Ann.vcf": "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann Example\r\nEMAIL:ann@example.org\r\nEND:VCARD\r\n" }, { "Ann.vcf": { contentType: "text/vcard" } });
    const added = await zsyncJson<{ path: string; revision: number }>(["contacts", "add", "Dan Dare", "--email", "dan@eagle.example", "--url", url], { cwd });
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.json.path, "Dan Dare.vcf");
    assert.equal((await remote.entries(folder)).get("Dan Dare.vcf")?.meta?.contentType, "text/vcard");

    const { text, seed } = vcardFile(1000);
    t.diagnostic(`vCard seed ${seed} (ZSYNC_VCARD_SEED=${seed} repeats it)`);
    const file = join(cwd, `url-${seed}.vcf`);
    writeFileSync(file, text);
    const before = await head(folder);
    const imported = await zsyncJson<{ revision: number; imported: { path: string }[] }>(["contacts", "import", file, "--url", url, "--folder", "people"], { cwd });
    assert.equal(imported.code, 0, `seed ${seed}: ${imported.stderr}`);
    assert.equal(imported.json.imported.length, 1000);
    assert.equal(imported.json.revision, before + 1, "one revision");
    const people = [...(await remote.entries(folder)).values()].filter((e) => e.path.startsWith("people/") && e.kind === "file");
    assert.equal(people.length, 1000);
    assert.ok(people.every((e) => e.revision === imported.json.revision && e.meta?.contentType === "text/vcard"));

    const listed = await zsyncJson<{ contacts: { name: string; path: string }[]; unreadable: unknown[] }>(["contacts", "list", url], { cwd });
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.json.contacts.length, 1002);
    assert.deepEqual(listed.json.unreadable, []);
    const onlyPeople = await zsyncJson<{ contacts: unknown[] }>(["contacts", "list", "people", "--url", url], { cwd });
    assert.equal(onlyPeople.json.contacts.length, 1000);
    const shown = await zsync(["contacts", "show", "Dan", url], { cwd });
    assert.match(shown.stdout, /^Dan Dare {2}\(Dan Dare\.vcf\)\n {2}email: dan@eagle\.example\n/);
    const exported = await zsync(["contacts", "export", url, "--folder", "people"], { cwd });
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(parseVObjects(exported.stdout).length, 1000);
    const toFile = await zsync(["contacts", "export", join(cwd, "out.vcf"), "--url", url], { cwd });
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.equal(parseVObjects(read(cwd, "out.vcf")).length, 1002);
  });

  test("a malformed import on a URL commits nothing", async () => {
    const { folder, url } = await newFolder({}, {});
    const file = join(cwd, "bad-url.vcf");
    writeFileSync(file, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ok\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN Broken\r\nEND:VCARD\r\n");
    const before = await head(folder);
    const result = await zsync(["contacts", "import", file, "--url", url], { cwd });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad-url\.vcf: line 7: expected ':'.*nothing was imported/);
    assert.equal(await head(folder), before);
    assert.equal((await remote.entries(folder)).size, 1, "only the folder itself");
  });
});
