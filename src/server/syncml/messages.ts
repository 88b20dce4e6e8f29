/**
 * SyncML 1.2 messages (pure): the decoded form of an incoming message, and the builders of the
 * commands the server sends (Status, Alert, Results, Sync with Add/Replace/Delete). Element
 * order follows the SyncML Representation Protocol DTD.
 */
import { child, childrenNamed, el, metinf, node, parseXml, textAt, type Markup, type XmlElement } from "./xml.js";

/** A message that parses as XML but is not SyncML (no SyncHdr, no SessionID, …). */
export class SyncMLFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SyncMLFormatError";
  }
}

/** The credentials of a SyncHdr's Cred. */
export interface Credentials {
  type: string;
  format: string;
  data: string;
}

/** An incoming message's header. */
export interface SyncHeader {
  verDTD: string;
  sessionId: string;
  msgId: string;
  /** The server URI the device addressed (Target/LocURI). */
  target: string;
  /** The device id (Source/LocURI). */
  source: string;
  cred?: Credentials;
  maxMsgSize?: number;
}

/** One command of a SyncBody (Alert, Sync, Put, Get, Map, Status, …). */
export interface Command {
  name: string;
  cmdId: string;
  element: XmlElement;
}

/** An incoming message. */
export interface Message {
  header: SyncHeader;
  commands: Command[];
  final: boolean;
}

/** Decodes a SyncML message (XML text). Throws XmlSyntaxError or SyncMLFormatError. */
export function decodeMessage(text: string): Message {
  const root = parseXml(text);
  if (root.name !== "SyncML") throw new SyncMLFormatError(`the root element is <${root.name}>, not <SyncML>`);
  const hdr = child(root, "SyncHdr");
  const body = child(root, "SyncBody");
  if (!hdr || !body) throw new SyncMLFormatError("a SyncML message needs a SyncHdr and a SyncBody");
  const required = (value: string | undefined, what: string) => {
    if (value === undefined || value === "") throw new SyncMLFormatError(`the SyncHdr has no ${what}`);
    return value;
  };
  const credElement = child(hdr, "Cred");
  const maxMsgSize = Number(textAt(hdr, "Meta", "MaxMsgSize"));
  const header: SyncHeader = {
    verDTD: required(textAt(hdr, "VerDTD"), "VerDTD"),
    sessionId: required(textAt(hdr, "SessionID"), "SessionID"),
    msgId: required(textAt(hdr, "MsgID"), "MsgID"),
    target: required(textAt(hdr, "Target", "LocURI"), "Target/LocURI"),
    source: required(textAt(hdr, "Source", "LocURI"), "Source/LocURI"),
    cred: credElement && {
      type: textAt(credElement, "Meta", "Type") ?? "syncml:auth-basic",
      format: textAt(credElement, "Meta", "Format") ?? "",
      data: textAt(credElement, "Data") ?? "",
    },
    maxMsgSize: Number.isFinite(maxMsgSize) && maxMsgSize > 0 ? maxMsgSize : undefined,
  };
  const commands: Command[] = [];
  let final = false;
  for (const element of body.children) {
    if (element.name === "Final") final = true;
    else commands.push({ name: element.name, cmdId: textAt(element, "CmdID") ?? "", element });
  }
  return { header, commands, final };
}

/** An item of a command: its target and source LocURIs, its Meta type/format, its data (text, or the child element for DevInf). */
export interface ItemView {
  target?: string;
  source?: string;
  type?: string;
  format?: string;
  data?: string;
  dataElement?: XmlElement;
  moreData: boolean;
  /** The declared size of a large object (Meta Size of its first chunk). */
  size?: number;
}

/** The items of a command, with Meta inherited from the command. */
export function itemsOf(command: XmlElement): ItemView[] {
  const commandType = textAt(command, "Meta", "Type");
  const commandFormat = textAt(command, "Meta", "Format");
  const commandSize = textAt(command, "Meta", "Size");
  return childrenNamed(command, "Item").map((item) => {
    const data = child(item, "Data");
    const size = Number(textAt(item, "Meta", "Size") ?? commandSize);
    return {
      target: textAt(item, "Target", "LocURI"),
      source: textAt(item, "Source", "LocURI"),
      type: textAt(item, "Meta", "Type") ?? commandType,
      format: textAt(item, "Meta", "Format") ?? commandFormat,
      data: data?.text,
      dataElement: data?.children[0],
      moreData: child(item, "MoreData") !== undefined,
      size: Number.isSafeInteger(size) && size >= 0 ? size : undefined,
    };
  });
}

/** What a Status answers. */
export interface StatusFields {
  msgRef: string;
  cmdRef: string;
  cmd: string;
  targetRef?: string;
  sourceRef?: string;
  code: number;
  /** Extra markup after Data-less fields: a Chal (before Data) or Items (after Data). */
  chal?: Markup;
  items?: Markup;
}

/** A Status command. */
export function statusCommand(cmdId: number, s: StatusFields): Markup {
  return node(
    "Status",
    el("CmdID", cmdId),
    el("MsgRef", s.msgRef),
    el("CmdRef", s.cmdRef),
    el("Cmd", s.cmd),
    s.targetRef === undefined ? undefined : el("TargetRef", s.targetRef),
    s.sourceRef === undefined ? undefined : el("SourceRef", s.sourceRef),
    s.chal,
    el("Data", s.code),
    s.items,
  );
}

/** The Chal asking for Basic credentials. */
export const BASIC_CHALLENGE: Markup = node("Chal", node("Meta", metinf("Type", "syncml:auth-basic"), metinf("Format", "b64")));

/** Anchor meta (`<Anchor><Last/><Next/></Anchor>`). */
export function anchorMarkup(last: string | undefined, next: string): Markup {
  return `<Anchor xmlns='syncml:metinf'>${last === undefined ? "" : el("Last", last)}${el("Next", next)}</Anchor>`;
}

/** The header of an outgoing message. */
export function headerMarkup(h: { sessionId: string; msgId: number; target: string; source: string; respUri?: string; maxMsgSize: number; maxObjSize: number }): Markup {
  return node(
    "SyncHdr",
    el("VerDTD", "1.2"),
    el("VerProto", "SyncML/1.2"),
    el("SessionID", h.sessionId),
    el("MsgID", h.msgId),
    node("Target", el("LocURI", h.target)),
    node("Source", el("LocURI", h.source)),
    h.respUri === undefined ? undefined : el("RespURI", h.respUri),
    node("Meta", metinf("MaxMsgSize", h.maxMsgSize), metinf("MaxObjSize", h.maxObjSize)),
  );
}

/** A whole outgoing message. */
export function messageMarkup(header: Markup, body: Markup[], final: boolean): string {
  return `<?xml version="1.0" encoding="UTF-8"?><SyncML xmlns='SYNCML:SYNCML1.2'>${header}<SyncBody>${body.join("")}${final ? "<Final/>" : ""}</SyncBody></SyncML>`;
}

/** Alert codes (SyncML Representation Protocol, "Alert types"). */
export const ALERT = {
  TWO_WAY: 200,
  SLOW: 201,
  ONE_WAY_FROM_CLIENT: 202,
  REFRESH_FROM_CLIENT: 203,
  ONE_WAY_FROM_SERVER: 204,
  REFRESH_FROM_SERVER: 205,
  NEXT_MESSAGE: 222,
  RESUME: 225,
} as const;

/** Sync modes the server takes part in. */
export const SYNC_MODES: readonly number[] = [200, 201, 202, 203, 204, 205];
