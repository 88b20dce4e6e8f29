/**
 * The pure parts of the SyncML endpoint: message decoding (clear errors for what is not SyncML),
 * items with inherited Meta and base64 data, datastore names, item naming, slow-sync matching
 * keys and the normalizing of what devices send.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DATASTORES, datastoreFor, identityKey, itemName, newItemName, normalizeItem, textForDevice } from "../../src/server/syncml/datastores.js";
import { decodeMessage, itemsOf, SyncMLFormatError } from "../../src/server/syncml/messages.js";
import { XmlSyntaxError } from "../../src/server/syncml/xml.js";

const [contacts, calendar, notes] = DATASTORES as [typeof DATASTORES[0], typeof DATASTORES[0], typeof DATASTORES[0]];
const hdr = (extra = "") => `<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>7</SessionID><MsgID>3</MsgID><Target><LocURI>http://s/syncml</LocURI></Target><Source><LocURI>dev-1</LocURI></Source>${extra}</SyncHdr>`;

test("a message decodes into its header, commands in order, and Final", () => {
  const m = decodeMessage(
    `<?xml version="1.0"?><SyncML xmlns='SYNCML:SYNCML1.2'>${hdr("<Cred><Meta><Type xmlns='syncml:metinf'>syncml:auth-basic</Type><Format xmlns='syncml:metinf'>b64</Format></Meta><Data>eDp5</Data></Cred><Meta><MaxMsgSize xmlns='syncml:metinf'>5000</MaxMsgSize></Meta>")}` +
      `<SyncBody><Alert><CmdID>1</CmdID><Data>200</Data></Alert><Status><CmdID>2</CmdID></Status><Final/></SyncBody></SyncML>`,
  );
  assert.deepEqual(m.header, { verDTD: "1.2", sessionId: "7", msgId: "3", target: "http://s/syncml", source: "dev-1", cred: { type: "syncml:auth-basic", format: "b64", data: "eDp5" }, maxMsgSize: 5000 });
  assert.deepEqual(m.commands.map((c) => [c.name, c.cmdId]), [["Alert", "1"], ["Status", "2"]]);
  assert.equal(m.final, true);
});

test("what is not SyncML is refused with a clear reason", () => {
  assert.throws(() => decodeMessage("<SyncML><SyncHdr>"), XmlSyntaxError);
  assert.throws(() => decodeMessage("just text"), XmlSyntaxError);
  assert.throws(() => decodeMessage('<!DOCTYPE SyncML [<!ENTITY x "y">]><SyncML/>'), /DOCTYPE declarations are not accepted/);
  assert.throws(() => decodeMessage("<Other/>"), /root element is <Other>, not <SyncML>/);
  assert.throws(() => decodeMessage("<SyncML><SyncBody/></SyncML>"), SyncMLFormatError);
  assert.throws(() => decodeMessage(`<SyncML>${hdr().replace("<SessionID>7</SessionID>", "")}<SyncBody/></SyncML>`), /the SyncHdr has no SessionID/);
});

test("items inherit their command's Meta; character references and CDATA are text", () => {
  const m = decodeMessage(
    `<SyncML>${hdr()}<SyncBody><Add><CmdID>4</CmdID><Meta><Type xmlns='syncml:metinf'>text/vcard</Type></Meta>` +
      `<Item><Source><LocURI>L1</LocURI></Source><Data>BEGIN:VCARD&#13;\nFN:A &amp; B&#13;\nEND:VCARD</Data></Item>` +
      `<Item><Source><LocURI>L2</LocURI></Source><Meta><Format xmlns='syncml:metinf'>b64</Format></Meta><Data>${Buffer.from("hi").toString("base64")}</Data><MoreData/></Item>` +
      `<Item><Source><LocURI>L3</LocURI></Source><Data><![CDATA[a <b>]]></Data></Item></Add></SyncBody></SyncML>`,
  );
  const items = itemsOf(m.commands[0]!.element);
  assert.deepEqual(items.map((i) => [i.source, i.type, i.format, i.data, i.moreData]), [
    ["L1", "text/vcard", undefined, "BEGIN:VCARD\r\nFN:A & B\r\nEND:VCARD", false],
    ["L2", "text/vcard", "b64", "aGk=", true],
    ["L3", "text/vcard", undefined, "a <b>", false],
  ]);
});

test("datastore names and their aliases", () => {
  assert.equal(datastoreFor("contacts")?.uri, "contacts");
  assert.equal(datastoreFor("./Addressbook")?.uri, "contacts");
  assert.equal(datastoreFor("http://s/syncml/calendar")?.uri, "calendar");
  assert.equal(datastoreFor("memo")?.uri, "notes");
  assert.equal(datastoreFor("photos"), undefined);
});

test("what devices send is normalized: CRLF lines, no empty properties; notes keep their text", () => {
  const sent = "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nNICKNAME:\nADR;TYPE=HOME:;;;;;;\nNOTE:\n folded\nEND:VCARD\n\n";
  assert.equal(normalizeItem(contacts, sent), "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nNOTE:\r\n folded\r\nEND:VCARD\r\n");
  assert.equal(normalizeItem(notes, "\uFEFFTitle\r\nbody\r\n"), "Title\nbody\n");
  assert.equal(textForDevice(contacts, "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n"), "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n");
  assert.equal(textForDevice(notes, "VERSION:4.0\n"), "VERSION:4.0\n");
});

test("items are named after their FN, SUMMARY or first line, made safe and unique", () => {
  const card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann / Bob\\, Jr.\r\nEND:VCARD\r\n";
  assert.equal(itemName(contacts, card), "Ann / Bob, Jr.");
  const taken = new Set(["Ann Bob, Jr..vcf"]);
  assert.equal(newItemName(contacts, card, { taken: (n) => taken.has(n) }), "Ann Bob, Jr. 2.vcf");
  assert.equal(newItemName(contacts, "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Smith;Jo\r\nEND:VCARD\r\n", { taken: () => false }), "Jo Smith.vcf");
  assert.equal(newItemName(calendar, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Lunch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", { taken: () => false }), "Lunch.ics");
  assert.equal(newItemName(notes, "# Shopping\nmilk\n", { taken: () => false }), "Shopping.md");
  assert.equal(newItemName(notes, "\n\n", { taken: () => false }), "note.md");
  assert.equal(newItemName(notes, "../../etc\n", { taken: () => false }), "etc.md", "no path tricks");
});

test("slow-sync matching keys: UID first, else the name, case and spacing ignored", () => {
  assert.equal(identityKey(contacts, "BEGIN:VCARD\r\nFN:Ann\r\nUID:u-1\r\nEND:VCARD\r\n"), "uid:u-1");
  assert.equal(identityKey(contacts, "BEGIN:VCARD\r\nFN:Ann  EXAMPLE\r\nEND:VCARD\r\n"), "name:ann example");
  assert.equal(identityKey(calendar, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:ev\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), "uid:ev");
  assert.equal(identityKey(notes, "Ideas\nmore\n"), "name:ideas");
  assert.equal(identityKey(notes, ""), undefined);
});
