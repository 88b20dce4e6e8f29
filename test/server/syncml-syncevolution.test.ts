/**
 * SyncML interop with a real peer nobody here wrote: SyncEvolution's command-line client (its
 * `file` backend, a folder of vCards / iCalendar files / notes) against the real zsync-server
 * on a loopback port. After each sync, the device's folder and a zsync checkout agree item by
 * item (compared by properties: SyncEvolution re-encodes items with a PRODID, a REV and empty
 * properties, which do not count, and it sends an event without DESCRIPTION with its SUMMARY as one).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { run } from "../helpers/scenario.js";
import { SERVER_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";
import { zsync } from "../helpers/cli.js";
import { configureDevice, haveSyncEvolution, type Device } from "../helpers/syncevolution.js";

const IGNORED = new Set(["PRODID", "REV", "VERSION", "X-EVOLUTION-FILE-AS", "DTSTAMP", "LAST-MODIFIED", "CREATED"]);

/** An item as a sorted list of its non-empty properties (names and parameters upper-cased). */
function itemKey(text: string): string {
  if (!/^BEGIN:/m.test(text)) return text.replace(/\r\n?/g, "\n").trim();
  const unfolded = text.replace(/\r\n?/g, "\n").replace(/\n[ \t]/g, "").split("\n");
  const props: string[] = [];
  for (const line of unfolded) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const head = line.slice(0, colon).toUpperCase();
    const value = line.slice(colon + 1);
    if (/^[;]*$/.test(value) || IGNORED.has(head.split(";")[0]!)) continue;
    props.push(`${head}:${value}`);
  }
  // SyncEvolution fills an event's missing DESCRIPTION with its SUMMARY when it sends it.
  const summary = props.find((p) => p.startsWith("SUMMARY:"))?.slice(8);
  return props.filter((p) => p !== `DESCRIPTION:${summary}`).sort().join("|");
}

const keysOf = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith(".") && n !== "@@meta").map((n) => itemKey(readFileSync(join(dir, n), "utf8"))).sort();

/** The device file holding the item whose text matches `pattern`. */
function deviceFile(dir: string, pattern: RegExp): string {
  const found = readdirSync(dir).filter((n) => pattern.test(readFileSync(join(dir, n), "utf8")));
  assert.equal(found.length, 1, `exactly one device item matches ${pattern}: ${found.join(", ")}`);
  return join(dir, found[0]!);
}

const crlf = (...lines: string[]) => lines.map((l) => `${l}\r\n`).join("");
const pad = (n: number) => String(n).padStart(3, "0");
const card = (n: number, ...extra: string[]) => crlf("BEGIN:VCARD", "VERSION:3.0", `FN:Contact ${pad(n)}`, `N:${pad(n)};Contact;;;`, `TEL;TYPE=CELL:+1 555 0${pad(n)}`, `EMAIL;TYPE=WORK:c${n}@example.org`, ...extra, "END:VCARD");

async function head(server: TestServer): Promise<number> {
  const res = await fetch(`${server.url}/.well-known/zsync`, { headers: { authorization: `Basic ${Buffer.from("zsync:zsync").toString("base64")}` } });
  return ((await res.json()) as { repository: { revision: number } }).repository.revision;
}

function addAccount(dataDir: string, name: string, password: string, role: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_BIN, "--data-dir", dataDir, "user", "add", name, "--role", role, "--password-stdin"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`user add failed: ${stderr}`))));
    child.stdin.end(`${password}\n`);
  });
}

function assertSynced(result: { code: number; output: string }, what: string): void {
  assert.equal(result.code, 0, `${what}: syncevolution failed:\n${result.output}`);
  assert.match(result.output, /synchronization completed successfully/, what);
}

describe("SyncEvolution against zsync-server", { concurrency: false }, () => {
  let server: TestServer;
  let home: string;
  let wc: string;
  let contacts: string;
  let device: Device;

  before(async () => {
    if (!haveSyncEvolution()) throw new Error("syncevolution is not installed: apt-get install -y --no-install-recommends syncevolution (.ci/run does)");
    server = await startServer({ args: ["--syncml-root", "/pim", "--quiet"] });
    home = await tempDir("zsync-syncml-");
    contacts = join(home, "device-contacts");
    device = await configureDevice({
      home: join(home, "se"),
      url: server.url,
      user: "zsync",
      password: "zsync",
      stores: [
        { name: "addressbook", dir: contacts, format: "text/vcard", uri: "contacts" },
        { name: "calendar", dir: join(home, "device-calendar"), format: "text/calendar", uri: "calendar" },
        { name: "memo", dir: join(home, "device-notes"), format: "text/plain", uri: "notes" },
      ],
    });
  });
  after(async () => {
    await server?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("a slow sync brings 200 contacts into an empty repository, and a checkout sees them", async () => {
    for (let n = 1; n <= 200; n++) writeFileSync(join(contacts, `c${n}.vcf`), card(n));
    assertSynced(await device.sync("slow", ["addressbook"]), "slow sync");
    const parent = await tempDir("zsync-syncml-wc-");
    wc = join(parent, "wc");
    const checkout = await zsync(["checkout", `${server.url.replace("://", "://zsync@")}/pim`, wc], { cwd: parent });
    assert.equal(checkout.code, 0, checkout.stderr);
    const names = readdirSync(join(wc, "contacts")).filter((n) => n.endsWith(".vcf"));
    assert.equal(names.length, 200);
    assert.ok(names.includes("Contact 001.vcf"), "items are named by their FN");
    assert.deepEqual(keysOf(join(wc, "contacts")), keysOf(contacts));
  });

  test("a two-way sync without changes sends nothing and commits nothing", async () => {
    const before = await head(server);
    const result = await device.sync("two-way", ["addressbook"]);
    assertSynced(result, "two-way");
    assert.equal(await head(server), before);
    assert.equal(readdirSync(contacts).length, 200);
    assert.match(result.output, /two-way, 0 KB sent by client, 0 KB received/);
  });

  test("an edit on each side reaches the other side", async () => {
    const mine = join(wc, "contacts", "Contact 001.vcf");
    writeFileSync(mine, readFileSync(mine, "utf8").replace("+1 555 0001", "+1 555 9001"));
    await run(["commit", "-m", "new number for 001"], wc);
    const theirs = deviceFile(contacts, /FN:Contact 002/);
    writeFileSync(theirs, readFileSync(theirs, "utf8").replace("END:VCARD", "NOTE:met at the fair\r\nEND:VCARD"));
    assertSynced(await device.sync("two-way", ["addressbook"]), "two-way");
    assert.match(readFileSync(deviceFile(contacts, /FN:Contact 001/), "utf8"), /\+1 555 9001/);
    await run(["update"], wc);
    assert.match(readFileSync(join(wc, "contacts", "Contact 002.vcf"), "utf8"), /NOTE:met at the fair/);
    assert.deepEqual(keysOf(join(wc, "contacts")), keysOf(contacts));
  });

  test("the same contact edited on both sides merges property by property", async () => {
    const mine = join(wc, "contacts", "Contact 003.vcf");
    writeFileSync(mine, readFileSync(mine, "utf8").replace("+1 555 0003", "+1 555 7003"));
    await run(["commit", "-m", "new number for 003"], wc);
    const theirs = deviceFile(contacts, /FN:Contact 003/);
    writeFileSync(theirs, readFileSync(theirs, "utf8").replace("c3@example.org", "three@example.org"));
    assertSynced(await device.sync("two-way", ["addressbook"]), "conflicting two-way");
    await run(["update"], wc);
    const merged = readFileSync(mine, "utf8");
    assert.match(merged, /\+1 555 7003/, "the checkout's number");
    assert.match(merged, /three@example\.org/, "the device's address");
    const onDevice = readFileSync(deviceFile(contacts, /FN:Contact 003/), "utf8");
    assert.match(onDevice, /\+1 555 7003/);
    assert.match(onDevice, /three@example\.org/);
    assert.deepEqual(keysOf(join(wc, "contacts")), keysOf(contacts));
  });

  test("a delete on each side reaches the other side", async () => {
    await run(["rm", "contacts/Contact 004.vcf"], wc);
    await run(["commit", "-m", "drop 004"], wc);
    unlinkSync(deviceFile(contacts, /FN:Contact 005/));
    assertSynced(await device.sync("two-way", ["addressbook"]), "two-way with deletes");
    await run(["update"], wc);
    assert.equal(readdirSync(contacts).filter((n) => /FN:Contact 00[45]/.test(readFileSync(join(contacts, n), "utf8"))).length, 0);
    assert.deepEqual(readdirSync(join(wc, "contacts")).filter((n) => /Contact 00[45]/.test(n)), []);
    assert.equal(readdirSync(contacts).length, 198);
    assert.deepEqual(keysOf(join(wc, "contacts")), keysOf(contacts));
  });

  test("refresh from server makes the device a copy of the folder", async () => {
    unlinkSync(deviceFile(contacts, /FN:Contact 010/));
    writeFileSync(join(contacts, "stray.vcf"), card(999));
    const before = await head(server);
    assertSynced(await device.sync("refresh-from-server", ["addressbook"]), "refresh-from-server");
    assert.equal(await head(server), before, "the repository is not changed");
    assert.deepEqual(keysOf(join(wc, "contacts")), keysOf(contacts));
  });

  test("the same property changed on both sides: the device's value wins (policy merge), the checkout's stays in the history", async () => {
    const mine = join(wc, "contacts", "Contact 030.vcf");
    writeFileSync(mine, readFileSync(mine, "utf8").replace("+1 555 0030", "+1 555 1030"));
    const committed = await run(["commit", "-m", "030 from the checkout"], wc);
    const theirs = deviceFile(contacts, /FN:Contact 030/);
    writeFileSync(theirs, readFileSync(theirs, "utf8").replace("+1 555 0030", "+1 555 2030"));
    assertSynced(await device.sync("two-way", ["addressbook"]), "two-way with a conflicting property");
    await run(["update"], wc);
    assert.match(readFileSync(mine, "utf8"), /\+1 555 2030/);
    assert.match(readFileSync(deviceFile(contacts, /FN:Contact 030/), "utf8"), /\+1 555 2030/);
    const revision = /revision (\d+)/i.exec(committed.stdout + committed.stderr)?.[1];
    assert.ok(revision, `commit output names its revision: ${committed.stdout}`);
    const old = await zsync(["cat", "-r", revision!, "contacts/Contact 030.vcf"], { cwd: wc });
    assert.match(old.stdout, /\+1 555 1030/, "the checkout's version is in the history");
    assert.deepEqual(keysOf(join(wc, "contacts")), keysOf(contacts));
  });

  test("one-way syncs carry one side's changes; the other side's wait for a later sync", async () => {
    const edit = (file: string, from: string, to: string) => writeFileSync(file, readFileSync(file, "utf8").replace(from, to));
    edit(deviceFile(contacts, /FN:Contact 021/), "+1 555 0021", "+1 555 3021");
    edit(join(wc, "contacts", "Contact 022.vcf"), "+1 555 0022", "+1 555 3022");
    await run(["commit", "-m", "022"], wc);
    assertSynced(await device.sync("one-way-from-client", ["addressbook"]), "one-way-from-client");
    await run(["update"], wc);
    assert.match(readFileSync(join(wc, "contacts", "Contact 021.vcf"), "utf8"), /\+1 555 3021/);
    assert.match(readFileSync(deviceFile(contacts, /FN:Contact 022/), "utf8"), /\+1 555 0022/, "the checkout's change waits");

    edit(join(wc, "contacts", "Contact 020.vcf"), "+1 555 0020", "+1 555 3020");
    await run(["commit", "-m", "020"], wc);
    const before = await head(server);
    assertSynced(await device.sync("one-way-from-server", ["addressbook"]), "one-way-from-server");
    assert.equal(await head(server), before);
    assert.match(readFileSync(deviceFile(contacts, /FN:Contact 020/), "utf8"), /\+1 555 3020/);
    assert.match(readFileSync(deviceFile(contacts, /FN:Contact 022/), "utf8"), /\+1 555 3022/, "and now reaches the device");
    assert.deepEqual(keysOf(join(wc, "contacts")), keysOf(contacts));
  });

  test("refresh from client makes the folder a copy of the device", async () => {
    unlinkSync(deviceFile(contacts, /FN:Contact 040/));
    writeFileSync(join(contacts, "fresh.vcf"), card(777));
    assertSynced(await device.sync("refresh-from-client", ["addressbook"]), "refresh-from-client");
    await run(["update"], wc);
    assert.ok(!readdirSync(join(wc, "contacts")).includes("Contact 040.vcf"));
    assert.ok(readdirSync(join(wc, "contacts")).includes("Contact 777.vcf"));
    assert.deepEqual(keysOf(join(wc, "contacts")), keysOf(contacts));
  });

  test("events and notes sync both ways too", async () => {
    const calendar = join(home, "device-calendar");
    const notes = join(home, "device-notes");
    const event = (uid: string, summary: string, start: string) =>
      crlf("BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", "BEGIN:VEVENT", `UID:${uid}`, `DTSTART:${start}`, `DTEND:${start.replace("T09", "T10")}`, `SUMMARY:${summary}`, "END:VEVENT", "END:VCALENDAR");
    writeFileSync(join(calendar, "e1.ics"), event("ev-1", "Dentist", "20270105T090000Z"));
    writeFileSync(join(calendar, "e2.ics"), event("ev-2", "Team lunch", "20270106T090000Z"));
    writeFileSync(join(notes, "n1.txt"), "Shopping list\nmilk\neggs\n");
    writeFileSync(join(notes, "n2.txt"), "Ideas\nwrite a SyncML server\n");
    assertSynced(await device.sync("slow", ["calendar", "memo"]), "slow sync of events and notes");
    await run(["update"], wc);
    assert.deepEqual(readdirSync(join(wc, "calendar")).filter((n) => n.endsWith(".ics")).sort(), ["Dentist.ics", "Team lunch.ics"]);
    assert.deepEqual(readdirSync(join(wc, "notes")).filter((n) => n.endsWith(".md")).sort(), ["Ideas.md", "Shopping list.md"]);
    assert.deepEqual(keysOf(join(wc, "calendar")), keysOf(calendar));
    assert.deepEqual(keysOf(join(wc, "notes")), keysOf(notes));

    const dentist = join(wc, "calendar", "Dentist.ics");
    writeFileSync(dentist, readFileSync(dentist, "utf8").replace("SUMMARY:Dentist", "SUMMARY:Dentist (bring card)"));
    const list = join(wc, "notes", "Shopping list.md");
    writeFileSync(list, readFileSync(list, "utf8").replace("eggs", "eggs\nbread"));
    await run(["commit", "-m", "edits in the checkout"], wc);
    const lunch = deviceFile(calendar, /SUMMARY:Team lunch/);
    writeFileSync(lunch, readFileSync(lunch, "utf8").replace("END:VEVENT", "LOCATION:Canteen\r\nEND:VEVENT"));
    const ideas = deviceFile(notes, /^Ideas/);
    writeFileSync(ideas, readFileSync(ideas, "utf8") + "sleep\n");
    assertSynced(await device.sync("two-way", ["calendar", "memo"]), "two-way of events and notes");
    await run(["update"], wc);
    assert.match(readFileSync(deviceFile(calendar, /UID:ev-1/), "utf8"), /SUMMARY:Dentist \(bring card\)/);
    assert.match(readFileSync(deviceFile(notes, /^Shopping list/), "utf8"), /bread/);
    assert.match(readFileSync(join(wc, "calendar", "Team lunch.ics"), "utf8"), /LOCATION:Canteen/);
    assert.match(readFileSync(join(wc, "notes", "Ideas.md"), "utf8"), /sleep/);
    assert.deepEqual(keysOf(join(wc, "calendar")), keysOf(calendar));
    assert.deepEqual(keysOf(join(wc, "notes")), keysOf(notes));

    await run(["rm", "calendar/Team lunch.ics", "notes/Ideas.md"], wc);
    await run(["commit", "-m", "deletes in the checkout"], wc);
    unlinkSync(deviceFile(calendar, /UID:ev-1/));
    unlinkSync(deviceFile(notes, /^Shopping list/));
    assertSynced(await device.sync("two-way", ["calendar", "memo"]), "two-way with deletes");
    await run(["update"], wc);
    assert.deepEqual([readdirSync(calendar).length, readdirSync(notes).length], [0, 0]);
    assert.deepEqual(readdirSync(join(wc, "calendar")).filter((n) => n.endsWith(".ics")), []);
    assert.deepEqual(readdirSync(join(wc, "notes")).filter((n) => n.endsWith(".md")), []);

    writeFileSync(join(wc, "notes", "Later.md"), "Later\ncall mum\n");
    await run(["add", "notes/Later.md"], wc);
    await run(["commit", "-m", "a note from the checkout"], wc);
    writeFileSync(join(notes, "stray.txt"), "Stray\n");
    assertSynced(await device.sync("refresh-from-server", ["calendar", "memo"]), "refresh-from-server of events and notes");
    assert.deepEqual(keysOf(join(wc, "notes")), keysOf(notes));
    assert.deepEqual(keysOf(notes), ["Later\ncall mum"]);
  });

  test("a device with a small MaxMsgSize gets the folder over several messages", async () => {
    const dir = join(home, "small-contacts");
    const small = await configureDevice({ home: join(home, "se-small"), url: server.url, user: "zsync", password: "zsync", properties: ["maxMsgSize=20000"], stores: [{ name: "addressbook", dir, format: "text/vcard", uri: "contacts" }] });
    assertSynced(await small.sync("refresh-from-server", ["addressbook"]), "refresh-from-server with maxMsgSize=20000");
    const bytes = readdirSync(dir).reduce((sum, n) => sum + readFileSync(join(dir, n)).length, 0);
    assert.ok(bytes > 3 * 20000, `${bytes} bytes of items cannot fit in one 20000-byte message`);
    assert.deepEqual(keysOf(dir), keysOf(join(wc, "contacts")));
  });

  test("a reader's device changes nothing, and wrong credentials are refused", async () => {
    await addAccount(server.dataDir, "rita", "rita-pass-1", "reader");
    const dir = join(home, "reader-contacts");
    const reader = await configureDevice({ home: join(home, "se-reader"), url: server.url, user: "rita", password: "rita-pass-1", stores: [{ name: "addressbook", dir, format: "text/vcard", uri: "contacts" }] });
    writeFileSync(join(dir, "new.vcf"), card(500));
    const before = await head(server);
    const result = await reader.sync("slow", ["addressbook"]);
    assert.notEqual(result.code, 0, "SyncEvolution aborts the session on the refused item");
    assert.match(result.output, /access denied \(remote, status 403\)/);
    assert.equal(await head(server), before, "nothing was committed");
    const readDir = join(home, "reader-contacts-2");
    const reading = await configureDevice({ home: join(home, "se-reader-2"), url: server.url, user: "rita", password: "rita-pass-1", stores: [{ name: "addressbook", dir: readDir, format: "text/vcard", uri: "contacts" }] });
    assertSynced(await reading.sync("refresh-from-server", ["addressbook"]), "a reader may still read");
    assert.deepEqual(keysOf(readDir), keysOf(join(wc, "contacts")));
    assert.equal(await head(server), before);

    const wrong = await configureDevice({ home: join(home, "se-wrong"), url: server.url, user: "zsync", password: "not-the-password", stores: [{ name: "addressbook", dir: join(home, "wrong-contacts"), format: "text/vcard", uri: "contacts" }] });
    const refused = await wrong.sync("slow", ["addressbook"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.output, /401|authentication|unauthorized/i);
    assert.equal(readdirSync(join(home, "wrong-contacts")).length, 0);
  });
});
