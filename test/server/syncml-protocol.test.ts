/**
 * The SyncML endpoint message by message, with hand-written SyncML 1.2 messages posted to the
 * real zsync-server: every command gets a Status; bad XML, non-SyncML, WBXML, unknown commands,
 * missing or wrong credentials and malformed items get clear errors and change nothing; anchors
 * are kept per device across restarts; an old anchor or a lost state means a slow sync; a sync
 * interrupted half way is completed by the next one without duplicates; the server's changes
 * are split over messages to respect the device's MaxMsgSize (Alert 222 asks for more).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { child, childrenNamed, parseXml, textAt, type XmlElement } from "../../src/server/syncml/xml.js";
import { Remote } from "../helpers/scenario.js";
import { startServer, type TestServer } from "../helpers/server.js";

const ZSYNC = Buffer.from("zsync:zsync").toString("base64");
const crlf = (...lines: string[]) => lines.map((l) => `${l}\r\n`).join("");
const card = (name: string, ...extra: string[]) => crlf("BEGIN:VCARD", "VERSION:3.0", `FN:${name}`, ...extra, "END:VCARD");
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/\r/g, "&#13;");

interface Reply {
  http: number;
  text: string;
  root?: XmlElement;
  statuses: { cmdRef: string; cmd: string; code: number; msgRef: string; sourceRef?: string }[];
  respUri?: string;
  final: boolean;
  body: XmlElement[];
}

/** A device speaking SyncML to the server, one session at a time. */
class Device {
  url: string;
  private sessionNo = 0;
  private msgId = 0;
  constructor(
    private readonly server: TestServer,
    readonly id: string,
    private readonly opts: { cred?: string; maxMsgSize?: number } = {},
  ) {
    this.url = `${server.url}/syncml`;
  }
  startSession(): void {
    this.sessionNo++;
    this.msgId = 0;
    this.url = `${this.server.url}/syncml`;
  }
  async send(body: string, opts: { final?: boolean; cred?: string | null } = {}): Promise<Reply> {
    const cred = opts.cred === null ? undefined : (opts.cred ?? this.opts.cred ?? ZSYNC);
    const credXml = cred === undefined || this.msgId > 0 ? "" : `<Cred><Meta><Format xmlns='syncml:metinf'>b64</Format><Type xmlns='syncml:metinf'>syncml:auth-basic</Type></Meta><Data>${cred}</Data></Cred>`;
    const xml = `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>${this.sessionNo}</SessionID><MsgID>${++this.msgId}</MsgID><Target><LocURI>${this.server.url}/syncml</LocURI></Target><Source><LocURI>${this.id}</LocURI></Source>${credXml}<Meta><MaxMsgSize xmlns='syncml:metinf'>${this.opts.maxMsgSize ?? 100000}</MaxMsgSize></Meta></SyncHdr><SyncBody>${body}${opts.final === false ? "" : "<Final/>"}</SyncBody></SyncML>`;
    const reply = await post(this.url, xml);
    if (reply.respUri) this.url = reply.respUri;
    return reply;
  }
}

async function post(url: string, body: string, type = "application/vnd.syncml+xml"): Promise<Reply> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": type }, body });
  const text = await res.text();
  if (res.status !== 200) return { http: res.status, text, statuses: [], final: false, body: [] };
  const root = parseXml(text);
  const syncBody = child(root, "SyncBody")!;
  return {
    http: res.status,
    text,
    root,
    statuses: childrenNamed(syncBody, "Status").map((s) => ({ cmdRef: textAt(s, "CmdRef")!, cmd: textAt(s, "Cmd")!, code: Number(textAt(s, "Data")), msgRef: textAt(s, "MsgRef")!, sourceRef: textAt(s, "SourceRef") })),
    respUri: textAt(child(root, "SyncHdr"), "RespURI"),
    final: child(syncBody, "Final") !== undefined,
    body: syncBody.children,
  };
}

const alert = (cmdId: number, code: number, next: string, last?: string) =>
  `<Alert><CmdID>${cmdId}</CmdID><Data>${code}</Data><Item><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./cards</LocURI></Source><Meta><Anchor xmlns='syncml:metinf'>${last === undefined ? "" : `<Last>${last}</Last>`}<Next>${next}</Next></Anchor></Meta></Item></Alert>`;
const add = (cmdId: number, luid: string, data: string) => `<Add><CmdID>${cmdId}</CmdID><Meta><Type xmlns='syncml:metinf'>text/vcard</Type></Meta><Item><Source><LocURI>${luid}</LocURI></Source><Data>${esc(data)}</Data></Item></Add>`;
const sync = (cmdId: number, ...changes: string[]) => `<Sync><CmdID>${cmdId}</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./cards</LocURI></Source>${changes.join("")}</Sync>`;

/** The server's Sync commands in a reply: its Add/Replace/Delete items. */
function serverChanges(reply: Reply): { op: string; cmdId: string; guid?: string; luid?: string; data?: string }[] {
  return reply.body
    .filter((c) => c.name === "Sync")
    .flatMap((s) => s.children.filter((c) => ["Add", "Replace", "Delete"].includes(c.name)))
    .map((c) => ({ op: c.name, cmdId: textAt(c, "CmdID")!, guid: textAt(c, "Item", "Source", "LocURI"), luid: textAt(c, "Item", "Target", "LocURI"), data: child(child(c, "Item"), "Data")?.text }));
}

const statusFor = (reply: Reply, cmd: string, cmdRef?: string) => reply.statuses.find((s) => s.cmd === cmd && (cmdRef === undefined || s.cmdRef === cmdRef));

/** Status 200 for each server change, plus a Map giving each added item a LUID. */
function acknowledge(reply: Reply, msgRef: string, firstCmdId: number, luidOf: (guid: string) => string): string {
  let cmdId = firstCmdId;
  const changes = serverChanges(reply);
  const statuses = changes.map((c) => `<Status><CmdID>${cmdId++}</CmdID><MsgRef>${msgRef}</MsgRef><CmdRef>${c.cmdId}</CmdRef><Cmd>${c.op}</Cmd><Data>${c.op === "Add" ? 201 : 200}</Data></Status>`).join("");
  const adds = changes.filter((c) => c.op === "Add");
  const map = adds.length === 0 ? "" : `<Map><CmdID>${cmdId++}</CmdID><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./cards</LocURI></Source>${adds.map((c) => `<MapItem><Target><LocURI>${c.guid}</LocURI></Target><Source><LocURI>${luidOf(c.guid!)}</LocURI></Source></MapItem>`).join("")}</Map>`;
  return statuses + map;
}

describe("SyncML protocol", { concurrency: false }, () => {
  let server: TestServer;
  let remote: Remote;
  const head = async () => (await remote.client.info()).repository.revision;
  const folder = async () => [...(await remote.entries("pim/contacts")).keys()].filter((p) => p !== "").sort();

  before(async () => {
    server = await startServer({ args: ["--syncml-root", "/pim", "--quiet"] });
    remote = new Remote(server);
  });
  after(async () => server?.stop());

  test("bad XML, non-SyncML, WBXML and GET are refused with clear errors", async () => {
    const before = await head();
    const bad = await post(`${server.url}/syncml`, "<SyncML><SyncHdr>");
    assert.equal(bad.http, 400);
    assert.match(bad.text, /bad message: not well-formed XML.*nothing was changed/);
    const other = await post(`${server.url}/syncml`, "<html><body/></html>");
    assert.equal(other.http, 400);
    assert.match(other.text, /root element is <html>, not <SyncML>/);
    const noHeader = await post(`${server.url}/syncml`, "<SyncML><SyncBody/></SyncML>");
    assert.match(noHeader.text, /needs a SyncHdr and a SyncBody/);
    const entity = await post(`${server.url}/syncml`, '<!DOCTYPE x [<!ENTITY a "aaaa">]><SyncML/>');
    assert.match(entity.text, /DOCTYPE declarations are not accepted/);
    const wbxml = await post(`${server.url}/syncml`, "\u0002\u00a4\u0001", "application/vnd.syncml+wbxml");
    assert.equal(wbxml.http, 415);
    assert.match(wbxml.text, /WBXML is not supported/);
    const get = await fetch(`${server.url}/syncml`);
    assert.equal(get.status, 405);
    assert.equal(await head(), before);
  });

  test("credentials: none gets a Basic challenge (407), wrong ones 401, right ones 212", async () => {
    const none = new Device(server, "dev-creds");
    none.startSession();
    const challenged = await none.send(alert(1, 201, "A1"), { cred: null });
    assert.equal(statusFor(challenged, "SyncHdr")?.code, 407);
    assert.match(challenged.text, /<Chal><Meta><Type xmlns='syncml:metinf'>syncml:auth-basic<\/Type>/);
    assert.equal(statusFor(challenged, "Alert"), undefined, "nothing else is processed");
    const wrong = new Device(server, "dev-creds", { cred: Buffer.from("zsync:nope").toString("base64") });
    wrong.startSession();
    assert.equal(statusFor(await wrong.send(alert(1, 201, "A1")), "SyncHdr")?.code, 401);
    const right = new Device(server, "dev-creds");
    right.startSession();
    const ok = await right.send(alert(1, 201, "A1"));
    assert.equal(statusFor(ok, "SyncHdr")?.code, 212);
    assert.equal(statusFor(ok, "Alert")?.code, 200);
  });

  test("every command gets a Status; unknown ones 406; DevInf is returned for Get", async () => {
    const device = new Device(server, "dev-cmds");
    device.startSession();
    const reply = await device.send(
      `<Put><CmdID>1</CmdID><Meta><Type xmlns='syncml:metinf'>application/vnd.syncml-devinf+xml</Type></Meta><Item><Source><LocURI>./devinf12</LocURI></Source><Data><DevInf xmlns='syncml:devinf'><VerDTD>1.2</VerDTD></DevInf></Data></Item></Put>` +
        `<Get><CmdID>2</CmdID><Meta><Type xmlns='syncml:metinf'>application/vnd.syncml-devinf+xml</Type></Meta><Item><Target><LocURI>./devinf12</LocURI></Target></Item></Get>` +
        `<Exec><CmdID>3</CmdID><Item><Target><LocURI>x</LocURI></Target></Item></Exec>` +
        alert(4, 201, "B1") +
        `<Alert><CmdID>5</CmdID><Data>201</Data><Item><Target><LocURI>photos</LocURI></Target><Source><LocURI>./p</LocURI></Source></Item></Alert>`,
    );
    assert.deepEqual(
      reply.statuses.map((s) => [s.cmdRef, s.cmd, s.code]),
      [["0", "SyncHdr", 212], ["1", "Put", 200], ["2", "Get", 200], ["3", "Exec", 406], ["4", "Alert", 200], ["5", "Alert", 404]],
    );
    const results = reply.body.find((c) => c.name === "Results")!;
    assert.equal(textAt(results, "CmdRef"), "2");
    const stores = childrenNamed(child(child(child(results, "Item"), "Data"), "DevInf"), "DataStore").map((d) => [textAt(d, "SourceRef"), textAt(d, "Rx-Pref", "CTType"), textAt(d, "DisplayName")]);
    assert.deepEqual(stores, [["contacts", "text/vcard", "Contacts (/pim/contacts)"], ["calendar", "text/calendar", "Calendar (/pim/calendar)"], ["notes", "text/plain", "Notes (/pim/notes)"]]);
    const serverAlert = reply.body.find((c) => c.name === "Alert")!;
    assert.equal(textAt(serverAlert, "Data"), "201");
    assert.equal(textAt(serverAlert, "Item", "Target", "LocURI"), "./cards");
  });

  test("well-known discovery names the endpoint and the datastore folders", async () => {
    const info = (await remote.client.info()) as unknown as { protocol: { features: string[] }; syncml: { url: string; datastores: { uri: string; folder: string }[] } };
    assert.ok(info.protocol.features.includes("syncml"));
    assert.equal(info.syncml.url, "/syncml");
    assert.deepEqual(info.syncml.datastores.map((d) => [d.uri, d.folder]), [["contacts", "/pim/contacts"], ["calendar", "/pim/calendar"], ["notes", "/pim/notes"]]);
  });

  test("a whole session: slow sync, a malformed item refused (415) and nothing else lost, Map, anchors kept across a restart, old anchor means slow sync", async () => {
    const device = new Device(server, "dev-full");
    device.startSession();
    const before = await head();
    const init = await device.send(alert(1, 201, "N1"));
    assert.equal(statusFor(init, "Alert")?.code, 200);
    const s3 = await device.send(sync(1, add(2, "L1", card("Ann Able", "TEL:1")), add(3, "L2", "BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n"), add(4, "L3", "not a card")));
    assert.equal(statusFor(s3, "Sync")?.code, 200);
    assert.deepEqual([statusFor(s3, "Add", "2")?.code, statusFor(s3, "Add", "3")?.code, statusFor(s3, "Add", "4")?.code], [201, 415, 415]);
    assert.deepEqual(serverChanges(s3), [], "the empty folder has nothing for the device");
    assert.ok(s3.final);
    const done = await device.send("");
    assert.equal(statusFor(done, "SyncHdr")?.code, 200);
    assert.equal(await head(), before + 1, "one revision for the session's changes");
    const [rev] = await remote.client.log("pim/contacts", { limit: 1 });
    assert.equal(rev!.author, "zsync");
    assert.match(rev!.note, /SyncML: 1 change from dev-full \(contacts\)/);
    assert.deepEqual(await folder(), ["Ann Able.vcf"]);

    // The server restarts: the device's state is in the store.
    await server.stop();
    server = await startServer({ dataDir: server.dataDir, args: ["--syncml-root", "/pim", "--quiet"] });
    remote = new Remote(server);
    const again = new Device(server, "dev-full");
    again.startSession();
    again.startSession();
    const twoWay = await again.send(alert(1, 200, "N2", "N1"));
    assert.equal(statusFor(twoWay, "Alert")?.code, 200, "the anchor matches: a normal two-way sync");
    assert.equal(textAt(twoWay.body.find((c) => c.name === "Alert"), "Data"), "200");
    const s3b = await again.send(sync(1));
    assert.deepEqual(serverChanges(s3b), [], "nothing changed since");
    await again.send("");

    const replay = new Device(server, "dev-full");
    replay.startSession();
    const old = await replay.send(alert(1, 200, "N3", "N1"));
    assert.equal(statusFor(old, "Alert")?.code, 508, "an old anchor replayed: refresh required");
    assert.equal(textAt(old.body.find((c) => c.name === "Alert"), "Data"), "201", "the server alerts a slow sync");
    const stranger = new Device(server, "dev-unknown");
    stranger.startSession();
    assert.equal(statusFor(await stranger.send(alert(1, 200, "X2", "X1")), "Alert")?.code, 508, "a device the server has no state for slow-syncs");
  });

  test("a sync interrupted half way is completed by the next one, with nothing duplicated or lost", async () => {
    await remote.change("pim/contacts", { add: { "Zed Zulu.vcf": card("Zed Zulu", "TEL:26") } });
    const device = new Device(server, "dev-cut");
    device.startSession();
    await device.send(alert(1, 201, "C1"));
    const s3 = await device.send(sync(1, add(2, "K1", card("Cat Cole", "TEL:3")), add(3, "K2", card("Ann Able", "TEL:1"))));
    assert.deepEqual([statusFor(s3, "Add", "2")?.code, statusFor(s3, "Add", "3")?.code], [201, 200], "Ann Able is matched, not added again");
    const sent = serverChanges(s3);
    assert.deepEqual(sent.map((c) => [c.op, c.guid]), [["Add", "Zed Zulu.vcf"]]);
    // The device drops the connection here: no statuses, no Map, its anchors are not saved.
    const afterCut = await folder();
    assert.deepEqual(afterCut, ["Ann Able.vcf", "Cat Cole.vcf", "Zed Zulu.vcf"]);
    const revision = await head();

    device.startSession();
    const init = await device.send(alert(1, 200, "C2", "C1"));
    assert.equal(statusFor(init, "Alert")?.code, 508, "no completed session with this anchor: slow sync");
    const s3again = await device.send(sync(1, add(2, "K1", card("Cat Cole", "TEL:3")), add(3, "K2", card("Ann Able", "TEL:1"))));
    assert.deepEqual([statusFor(s3again, "Add", "2")?.code, statusFor(s3again, "Add", "3")?.code], [200, 200], "both matched");
    assert.deepEqual(serverChanges(s3again).map((c) => [c.op, c.guid]), [["Add", "Zed Zulu.vcf"]]);
    const end = await device.send(acknowledge(s3again, "2", 1, () => "K3"));
    assert.ok(end.final);
    assert.equal(await head(), revision, "nothing committed twice");
    assert.deepEqual(await folder(), afterCut);

    device.startSession();
    await device.send(alert(1, 200, "C3", "C2"));
    const quiet = await device.send(sync(1));
    assert.deepEqual(serverChanges(quiet), []);
    await device.send("");
  });

  test("a slow sync matches an item by name and merges the two versions instead of adding a duplicate", async () => {
    const before = await folder();
    const device = new Device(server, "dev-match");
    device.startSession();
    await device.send(alert(1, 201, "M1"));
    const s3 = await device.send(sync(1, add(2, "Q1", card("Ann Able", "TEL:1", "EMAIL:ann@able.example"))));
    assert.equal(statusFor(s3, "Add", "2")?.code, 207, "matched and merged");
    assert.deepEqual(await folder(), before, "no duplicate");
    const chunks: Buffer[] = [];
    for await (const chunk of await remote.client.cat("pim/contacts/Ann Able.vcf")) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    assert.match(text, /EMAIL:ann@able\.example/);
    assert.ok(!serverChanges(s3).some((c) => c.guid === "Ann Able.vcf"), "the device holds the merged version already");
    const msgRef = textAt(child(s3.root!, "SyncHdr"), "MsgID")!;
    assert.ok((await device.send(acknowledge(s3, msgRef, 1, (g) => `q-${g}`))).final);
  });

  test("a large object in chunks (MoreData): 213 for each chunk, the item stored whole; a wrong size is refused with 424", async () => {
    const device = new Device(server, "dev-large");
    device.startSession();
    await device.send(alert(1, 201, "G1"));
    const whole = card("Large Lara", `NOTE:${"n".repeat(3000)}`);
    const [a, b] = [whole.slice(0, 1000), whole.slice(1000)];
    const chunk = (cmdId: number, luid: string, data: string, more: boolean, size?: number) =>
      `<Add><CmdID>${cmdId}</CmdID><Meta><Type xmlns='syncml:metinf'>text/vcard</Type>${size === undefined ? "" : `<Size xmlns='syncml:metinf'>${size}</Size>`}</Meta><Item><Source><LocURI>${luid}</LocURI></Source><Data>${esc(data)}</Data>${more ? "<MoreData/>" : ""}</Item></Add>`;
    const first = await device.send(sync(1, chunk(2, "G1", a, true, Buffer.byteLength(whole))), { final: false });
    assert.equal(statusFor(first, "Add", "2")?.code, 213);
    assert.ok(!(await folder()).includes("Large Lara.vcf"), "nothing stored before the last chunk");
    const wrong = card("Wrong Size", "TEL:5");
    const second = await device.send(sync(1, chunk(2, "G1", b, false), chunk(3, "G2", wrong.slice(0, 20), true, 999), chunk(4, "G2", wrong.slice(20), false)));
    assert.deepEqual([statusFor(second, "Add", "2")?.code, statusFor(second, "Add", "3")?.code, statusFor(second, "Add", "4")?.code], [201, 213, 424]);
    const names = await folder();
    assert.ok(names.includes("Large Lara.vcf"));
    assert.ok(!names.includes("Wrong Size.vcf"));
    const chunks: Buffer[] = [];
    for await (const c of await remote.client.cat("pim/contacts/Large Lara.vcf")) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString("utf8"), whole);
    const msgRef = textAt(child(second.root!, "SyncHdr"), "MsgID")!;
    assert.ok((await device.send(acknowledge(second, msgRef, 1, (g) => `g-${g}`))).final);
  });

  test("a device's Sync split over two messages: the first is answered with Statuses and Alert 222, both parts are applied", async () => {
    const device = new Device(server, "dev-split");
    device.startSession();
    await device.send(alert(1, 201, "P1"));
    const first = await device.send(sync(1, add(2, "M1", card("Split One", "TEL:41"))), { final: false });
    assert.equal(statusFor(first, "Add", "2")?.code, 201);
    assert.equal(first.final, false);
    const more = first.body.find((c) => c.name === "Alert");
    assert.equal(textAt(more, "Data"), "222", "the server asks for the next message");
    assert.deepEqual(serverChanges(first), [], "nothing from the server before the device's package is complete");
    const second = await device.send(sync(1, add(2, "M2", card("Split Two", "TEL:42"))));
    assert.equal(statusFor(second, "Add", "2")?.code, 201);
    const names = await folder();
    assert.ok(names.includes("Split One.vcf") && names.includes("Split Two.vcf"));
    const sent = serverChanges(second).map((c) => c.guid);
    assert.ok(!sent.includes("Split One.vcf") && !sent.includes("Split Two.vcf"), "the device's own items are not echoed");
    const msgRef = textAt(child(second.root!, "SyncHdr"), "MsgID")!;
    assert.ok((await device.send(acknowledge(second, msgRef, 1, (g) => `l-${g}`))).final);
  });

  test("the server's changes are split over messages within the device's MaxMsgSize", async () => {
    const many: Record<string, string> = {};
    for (let n = 0; n < 30; n++) many[`Bulk ${n}.vcf`] = card(`Bulk ${n}`, `NOTE:${"x".repeat(200)}`);
    await remote.change("pim/contacts", { add: many });
    const device = new Device(server, "dev-small", { maxMsgSize: 6000 });
    device.startSession();
    await device.send(alert(1, 201, "S1"));
    let reply = await device.send(sync(1));
    const received: string[] = [];
    let messages = 0;
    for (;;) {
      messages++;
      assert.ok(Buffer.byteLength(reply.text) <= 6000, `message ${messages} is ${Buffer.byteLength(reply.text)} bytes`);
      received.push(...serverChanges(reply).map((c) => c.guid!));
      if (reply.final) break;
      const msgRef = textAt(child(reply.root!, "SyncHdr"), "MsgID")!;
      reply = await device.send(acknowledge(reply, msgRef, 1, (g) => `luid-${g}`) + `<Alert><CmdID>99</CmdID><Data>222</Data><Item><Target><LocURI>${server.url}/syncml</LocURI></Target><Source><LocURI>dev-small</LocURI></Source></Item></Alert>`, { final: false });
    }
    assert.ok(messages > 2, `split over ${messages} messages`);
    assert.equal(received.length, new Set(received).size, "each item once");
    assert.equal(received.length, (await folder()).length);
    const msgRef = textAt(child(reply.root!, "SyncHdr"), "MsgID")!;
    const end = await device.send(acknowledge(reply, msgRef, 1, (g) => `luid-${g}`));
    assert.ok(end.final);
  });
});
