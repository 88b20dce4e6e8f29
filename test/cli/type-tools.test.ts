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
import { startServer, type TestServer } from "../helpers/server.js";

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

  test("importing a vCard file of 1,000 contacts makes 1,000 contact objects in one revision", async () => {
    const wc = await demoCheckout();
    const cards: string[] = [];
    for (let i = 1; i <= 1000; i++) {
      // Mixed versions, as exports from several address books are.
      cards.push(i % 2 ? `BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person ${i}\r\nTEL;TYPE=CELL:+1 555 ${String(i).padStart(4, "0")}\r\nEND:VCARD\r\n` : `BEGIN:VCARD\r\nVERSION:2.1\r\nN:Person;${i}\r\nFN:Person ${i}\r\nEMAIL;INTERNET:p${i}@example.com\r\nEND:VCARD\r\n`);
    }
    cards.push("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Person 1\r\nNOTE:a second Person 1\r\nEND:VCARD\r\n");
    const file = join(wc, "..", "all.vcf");
    writeFileSync(file, cards.join(""));
    const imported = await zsyncJson<{ imported: { path: string }[] }>(["contacts", "import", file, "--folder", "people"], { cwd: wc });
    assert.equal(imported.code, 0, imported.stderr);
    assert.equal(imported.json.imported.length, 1001);
    assert.equal(imported.json.imported[1000]!.path, "people/Person 1 (2).vcf", "same names get a number");
    const before = (await remote.entries("demo")).get("")!.revision;
    const commit = await zsync(["commit", "-m", "import"], { cwd: wc });
    assert.equal(commit.code, 0, commit.stderr);
    const entries = await remote.entries("demo");
    const people = [...entries.values()].filter((e) => e.path.startsWith("people/"));
    assert.equal(people.length, 1001);
    assert.equal(new Set(people.map((e) => e.revision)).size, 1, "one revision");
    assert.ok(people[0]!.revision > before);
    assert.ok(people.every((e) => e.meta?.contentType === "text/vcard"));
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
