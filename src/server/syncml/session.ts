/**
 * A SyncML session on the server: one or more request/response exchanges of one device,
 * authenticated once (Basic credentials in the SyncHdr's Cred, or the HTTP Authorization
 * header), then Alert → Sync → Map packages, each command answered with a Status. The
 * per-datastore work is in datastore-sync.ts; the anchors and item maps are stored when the
 * session completes, so an interrupted session leaves the last completed state (and the device,
 * whose anchors then do not match, is told to slow-sync, which matches instead of duplicating).
 */
import type { Access } from "../authz/access.js";
import type { Store, SyncState } from "../store/types.js";
import { datastoreFolder, datastoreFor, textForDevice } from "./datastores.js";
import { applyClientChanges } from "./apply-changes.js";
import type { DatastoreSession, OutChange, SyncContext } from "./datastore-session.js";
import { computeOutgoing, deleteUnmatched, recordMap, settleSent } from "./outgoing.js";
import { DEVINF_TYPE, DEVINF_URI, serverDevInf } from "./devinf.js";
import { ALERT, anchorMarkup, BASIC_CHALLENGE, headerMarkup, itemsOf, messageMarkup, statusCommand, SYNC_MODES, type Command, type Message, type StatusFields } from "./messages.js";
import { child, childrenNamed, el, metinf, node, textAt, type Markup } from "./xml.js";

/** The server's own limits on message and item size (advertised in every SyncHdr). */
export const SERVER_MAX_MSG_SIZE = 1024 * 1024;
export const SERVER_MAX_OBJ_SIZE = 16 * 1024 * 1024;

/** What a session needs from the server. */
export interface SessionDeps {
  store: Pick<Store, "getSyncState" | "putSyncState">;
  /** The sync root (repository path, e.g. `/demo`). */
  root: string;
  version: string;
  /** The clock for anchors. */
  now: () => Date;
}

/** The authenticated caller of a session. */
export interface SessionCaller {
  account: string;
  access: Access;
  context: Omit<SyncContext, "author" | "device">;
}

/** One session's state between messages. */
export interface Session {
  id: string;
  respUri: string;
  caller?: SessionCaller;
  device?: string;
  clientSessionId?: string;
  serverUri?: string;
  nextMsgId: number;
  clientMaxMsgSize: number;
  datastores: Map<string, DatastoreSession>;
  phase: "init" | "sync" | "send" | "map" | "done";
  lastUsed: number;
}

/** An outgoing message being built. */
class Reply {
  readonly parts: Markup[] = [];
  private cmdId = 0;
  size = 0;
  /** False when server changes are left for the next message. */
  final = true;
  constructor(readonly msgId: number) {}
  nextCmdId(): number {
    return ++this.cmdId;
  }
  add(markup: Markup): void {
    this.parts.push(markup);
    this.size += Buffer.byteLength(markup);
  }
  status(fields: StatusFields): void {
    this.add(statusCommand(this.nextCmdId(), fields));
  }
}

/** Status codes for commands. */
const OK = 200;
const AUTH_ACCEPTED = 212;
const NOT_FOUND = 404;
const NOT_ALLOWED = 405;
const NOT_SUPPORTED = 406;
const MISSING_CREDENTIALS = 407;
const INVALID_CREDENTIALS = 401;
const FORBIDDEN = 403;
const REFRESH_REQUIRED = 508;
const BAD_REQUEST = 400;

/** Authenticates a message's credentials; undefined when they are wrong. */
export type CallerLookup = (cred: { user: string; password: string }) => Promise<SessionCaller | undefined>;

/**
 * Handles one message of a session; returns the reply (XML text) and whether the session is over.
 * `httpAuthorization` is the request's Basic credentials, used when the SyncHdr carries none.
 */
export async function handleMessage(session: Session, message: Message, opts: { deps: SessionDeps; lookup: CallerLookup; httpCredentials?: { user: string; password: string } }): Promise<{ xml: string; done: boolean }> {
  const { deps, lookup, httpCredentials } = opts;
  const { header } = message;
  session.lastUsed = deps.now().getTime();
  if (session.clientSessionId !== undefined && (header.sessionId !== session.clientSessionId || header.source !== session.device)) {
    return { xml: errorReply(session, message, BAD_REQUEST), done: true };
  }
  session.clientSessionId = header.sessionId;
  session.device = header.source;
  session.serverUri = header.target;
  if (header.maxMsgSize) session.clientMaxMsgSize = header.maxMsgSize;
  const reply = new Reply(session.nextMsgId++);
  const hdrStatus: StatusFields = { msgRef: header.msgId, cmdRef: "0", cmd: "SyncHdr", targetRef: header.target, sourceRef: header.source, code: OK };

  if (!session.caller) {
    const basic = header.cred && header.cred.type === "syncml:auth-basic" ? decodeBasic(header.cred.data) : httpCredentials;
    if (!basic) {
      reply.status({ ...hdrStatus, code: MISSING_CREDENTIALS, chal: BASIC_CHALLENGE });
      return { xml: finish(session, reply, true), done: false };
    }
    const caller = await lookup(basic);
    if (!caller) {
      reply.status({ ...hdrStatus, code: INVALID_CREDENTIALS, chal: BASIC_CHALLENGE });
      return { xml: finish(session, reply, true), done: true };
    }
    session.caller = caller;
    hdrStatus.code = AUTH_ACCEPTED;
  }
  reply.status(hdrStatus);
  const caller = session.caller;
  const ctx: SyncContext = { ...caller.context, author: caller.account, device: header.source };
  const toSend: Markup[] = [];

  for (const command of message.commands) {
    const base = { msgRef: header.msgId, cmdRef: command.cmdId, cmd: command.name };
    switch (command.name) {
      case "Status":
        settleStatus(session, command);
        break;
      case "Results":
        reply.status({ ...base, code: OK });
        break;
      case "Put":
        reply.status({ ...base, sourceRef: itemsOf(command.element)[0]?.source, code: OK });
        break;
      case "Get": {
        const target = itemsOf(command.element)[0]?.target;
        if (target !== DEVINF_URI && target !== "./devinf11") {
          reply.status({ ...base, targetRef: target, code: NOT_FOUND });
          break;
        }
        reply.status({ ...base, targetRef: target, code: OK });
        const devinf = serverDevInf({ serverUri: header.target, root: deps.root, version: deps.version });
        toSend.push(
          node("Results", el("CmdID", "@"), el("MsgRef", header.msgId), el("CmdRef", command.cmdId), node("Meta", metinf("Type", DEVINF_TYPE)), node("Item", node("Source", el("LocURI", DEVINF_URI)), `<Data>${devinf}</Data>`)),
        );
        break;
      }
      case "Alert":
        await handleAlert(deps, session, command, reply, toSend, header.msgId);
        break;
      case "Sync":
        await handleSync(session, ctx, command, reply, header.msgId);
        break;
      case "Map":
        handleMap(session, command, reply, header.msgId);
        break;
      default:
        reply.status({ ...base, code: NOT_SUPPORTED });
    }
  }
  for (const markup of toSend) reply.add(markup.replace("<CmdID>@</CmdID>", `<CmdID>${reply.nextCmdId()}</CmdID>`));

  if (!message.final) {
    // More of the device's package is coming (or it asked for our next message).
    if (session.phase === "send") {
      await sendChanges(session, reply);
      if (reply.final) session.phase = "map";
      return { xml: finish(session, reply, reply.final), done: false };
    }
    // Only Statuses to send back: ask for the rest of the device's package (Alert 222).
    reply.add(node("Alert", el("CmdID", reply.nextCmdId()), el("Data", ALERT.NEXT_MESSAGE), node("Item", node("Target", el("LocURI", header.source)), node("Source", el("LocURI", header.target)))));
    return { xml: finish(session, reply, false), done: false };
  }
  if (session.phase === "init") {
    session.phase = "sync";
    return { xml: finish(session, reply, true), done: false };
  }
  if (session.phase === "sync") {
    for (const ds of session.datastores.values()) {
      ds.clientDone = true;
      if (ds.mode === ALERT.REFRESH_FROM_CLIENT) await deleteUnmatched(ctx, ds);
      ds.outgoing = await computeOutgoing(ctx, ds);
    }
    session.phase = "send";
  }
  if (session.phase === "send") {
    await sendChanges(session, reply);
    if (reply.final) session.phase = "map";
    return { xml: finish(session, reply, reply.final), done: false };
  }
  // The map package: everything is settled; store the state and end.
  for (const ds of session.datastores.values()) await deps.store.putSyncState(stateOf(caller.account, session.device!, ds));
  session.phase = "done";
  return { xml: finish(session, reply, true), done: true };
}

function decodeBasic(data: string): { user: string; password: string } | undefined {
  const text = Buffer.from(data, "base64").toString("utf8");
  const colon = text.indexOf(":");
  return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function stateOf(account: string, device: string, ds: DatastoreSession): SyncState {
  return { account, device, datastore: ds.def.uri, clientAnchor: ds.clientNext, serverAnchor: ds.serverNext, items: ds.items };
}

function finish(session: Session, reply: Reply, final: boolean): string {
  const header = headerMarkup({ sessionId: session.clientSessionId ?? "0", msgId: reply.msgId, target: session.device ?? "", source: session.serverUri ?? "", respUri: session.respUri, maxMsgSize: SERVER_MAX_MSG_SIZE, maxObjSize: SERVER_MAX_OBJ_SIZE });
  return messageMarkup(header, reply.parts, final);
}

/** A reply of only the SyncHdr's Status (a message the session cannot take). */
function errorReply(session: Session, message: Message, code: number): string {
  const reply = new Reply(session.nextMsgId++);
  reply.status({ msgRef: message.header.msgId, cmdRef: "0", cmd: "SyncHdr", targetRef: message.header.target, sourceRef: message.header.source, code });
  return finish(session, reply, true);
}

async function handleAlert(deps: SessionDeps, session: Session, command: Command, reply: Reply, toSend: Markup[], msgId: string): Promise<void> {
  const code = Number(textAt(command.element, "Data"));
  const item = itemsOf(command.element)[0];
  const itemElement = child(command.element, "Item");
  const base = { msgRef: msgId, cmdRef: command.cmdId, cmd: "Alert", targetRef: item?.target, sourceRef: item?.source };
  if (code === ALERT.NEXT_MESSAGE) {
    reply.status({ ...base, code: OK });
    return;
  }
  // A device resuming an interrupted session (225): resuming is not supported, so, as OMA DS
  // asks of such servers, it is told to slow-sync (508 below), which matches instead of duplicating.
  const resume = code === ALERT.RESUME;
  if (!SYNC_MODES.includes(code) && !resume) {
    reply.status({ ...base, code: NOT_SUPPORTED });
    return;
  }
  if (session.phase !== "init") {
    reply.status({ ...base, code: NOT_ALLOWED });
    return;
  }
  const def = item?.target === undefined ? undefined : datastoreFor(item.target);
  if (!def || item?.source === undefined) {
    reply.status({ ...base, code: NOT_FOUND });
    return;
  }
  const caller = session.caller!;
  const folder = datastoreFolder(deps.root, def);
  if (!caller.access.canRead(folder)) {
    reply.status({ ...base, code: FORBIDDEN });
    return;
  }
  const clientLast = textAt(itemElement, "Meta", "Anchor", "Last");
  const clientNext = textAt(itemElement, "Meta", "Anchor", "Next") ?? "";
  const stored = await deps.store.getSyncState(caller.account, session.device!, def.uri);
  let mode = resume ? ALERT.SLOW : code;
  let statusCode = resume ? REFRESH_REQUIRED : OK;
  const needsHistory = mode === ALERT.TWO_WAY || mode === ALERT.ONE_WAY_FROM_CLIENT || mode === ALERT.ONE_WAY_FROM_SERVER;
  if (needsHistory && (!stored || clientLast === undefined || stored.clientAnchor !== clientLast)) {
    // Unknown device, lost state, or an old anchor replayed: only a slow sync is safe.
    mode = ALERT.SLOW;
    statusCode = REFRESH_REQUIRED;
  }
  const fresh = mode === ALERT.SLOW || mode === ALERT.REFRESH_FROM_CLIENT || mode === ALERT.REFRESH_FROM_SERVER;
  const ds: DatastoreSession = {
    def,
    folder,
    clientUri: item.source,
    serverUri: item.target!,
    mode,
    clientNext,
    serverLast: stored?.serverAnchor,
    serverNext: deps.now().toISOString(),
    items: fresh || !stored ? {} : structuredClone(stored.items),
    matched: new Set(),
    mapped: new Map(),
    pending: new Map(),
    clientDone: false,
    texts: new Map(),
    keys: new Map(),
  };
  session.datastores.set(item.target!, ds);
  reply.status({ ...base, code: statusCode, items: node("Item", `<Data>${anchorMarkup(undefined, clientNext)}</Data>`) });
  toSend.push(
    node(
      "Alert",
      el("CmdID", "@"),
      el("Data", mode),
      node("Item", node("Target", el("LocURI", ds.clientUri)), node("Source", el("LocURI", ds.serverUri)), node("Meta", anchorMarkup(ds.serverLast ?? "", ds.serverNext))),
    ),
  );
}

async function handleSync(session: Session, ctx: SyncContext, command: Command, reply: Reply, msgId: string): Promise<void> {
  const target = textAt(command.element, "Target", "LocURI");
  const source = textAt(command.element, "Source", "LocURI");
  const base = { msgRef: msgId, cmdRef: command.cmdId, cmd: "Sync", targetRef: target, sourceRef: source };
  const ds = target === undefined ? undefined : session.datastores.get(target);
  const changes = command.element.children.filter((c) => !["CmdID", "Target", "Source", "Meta", "NumberOfChanges", "Cred", "NoResp"].includes(c.name));
  if (!ds || (session.phase !== "sync" && session.phase !== "init")) {
    reply.status({ ...base, code: ds ? NOT_ALLOWED : NOT_FOUND });
    for (const c of changes) reply.status({ msgRef: msgId, cmdRef: textAt(c, "CmdID") ?? "", cmd: c.name, code: ds ? NOT_ALLOWED : NOT_FOUND });
    return;
  }
  reply.status({ ...base, code: OK });
  const statuses = await applyClientChanges(ctx, ds, { changes: changes.map((c) => ({ name: c.name, cmdId: textAt(c, "CmdID") ?? "", items: itemsOf(c) })), maxObjSize: SERVER_MAX_OBJ_SIZE });
  for (const s of statuses) reply.status({ msgRef: msgId, cmdRef: s.cmdId, cmd: s.cmd, sourceRef: s.sourceRef, targetRef: s.targetRef, code: s.code });
}

function handleMap(session: Session, command: Command, reply: Reply, msgId: string): void {
  const target = textAt(command.element, "Target", "LocURI");
  const source = textAt(command.element, "Source", "LocURI");
  const ds = target === undefined ? undefined : session.datastores.get(target);
  if (!ds) {
    reply.status({ msgRef: msgId, cmdRef: command.cmdId, cmd: "Map", targetRef: target, sourceRef: source, code: NOT_FOUND });
    return;
  }
  for (const mapItem of childrenNamed(command.element, "MapItem")) {
    const guid = textAt(mapItem, "Target", "LocURI");
    const luid = textAt(mapItem, "Source", "LocURI");
    if (guid !== undefined && luid !== undefined) recordMap(ds, { guid, luid });
  }
  reply.status({ msgRef: msgId, cmdRef: command.cmdId, cmd: "Map", targetRef: target, sourceRef: source, code: OK });
}

/** Records the device's Status of a change the server sent. */
function settleStatus(session: Session, command: Command): void {
  const key = `${textAt(command.element, "MsgRef")}:${textAt(command.element, "CmdRef")}`;
  const code = Number(textAt(command.element, "Data"));
  for (const ds of session.datastores.values()) {
    const sent = ds.pending.get(key);
    if (sent) {
      ds.pending.delete(key);
      settleSent(ds, { change: sent, code });
    }
  }
}

/** Adds the server's Sync commands, as many changes as the device's MaxMsgSize allows; `reply.final` says whether all went. */
async function sendChanges(session: Session, reply: Reply): Promise<void> {
  const budget = Math.max(4096, session.clientMaxMsgSize - 2048);
  let complete = true;
  for (const ds of session.datastores.values()) {
    const queue = ds.outgoing ?? [];
    if (queue.length === 0 && ds.syncSent) continue;
    ds.syncSent = true;
    const syncId = reply.nextCmdId();
    const commands: Markup[] = [];
    let size = reply.size + 512;
    while (queue.length > 0) {
      const change = queue[0]!;
      const cmdId = reply.nextCmdId();
      const markup = changeMarkup(cmdId, ds, change);
      const bytes = Buffer.byteLength(markup);
      if (size + bytes > budget && commands.length > 0) break;
      queue.shift();
      commands.push(markup);
      ds.pending.set(`${reply.msgId}:${cmdId}`, change);
      size += bytes;
    }
    if (queue.length > 0) complete = false;
    reply.add(node("Sync", el("CmdID", syncId), node("Target", el("LocURI", ds.clientUri)), node("Source", el("LocURI", ds.serverUri)), el("NumberOfChanges", commands.length + queue.length), ...commands));
    if (!complete) break;
  }
  reply.final = complete;
}

function changeMarkup(cmdId: number, ds: DatastoreSession, change: OutChange): Markup {
  const type = ds.def.mediaTypes[0]!.type;
  if (change.op === "Delete") return node("Delete", el("CmdID", cmdId), node("Item", node("Target", el("LocURI", change.luid!)), node("Source", el("LocURI", change.guid))));
  const target = change.op === "Replace" && change.luid !== undefined ? node("Target", el("LocURI", change.luid)) : undefined;
  return node(change.op, el("CmdID", cmdId), node("Meta", metinf("Type", type)), node("Item", target, node("Source", el("LocURI", change.guid)), el("Data", textForDevice(ds.def, change.text ?? ""))));
}
