/**
 * `POST /syncml`: the SyncML 1.2 endpoint (XML encoding only; WBXML is refused with 415). The
 * device authenticates inside the message (SyncHdr Cred, Basic) or with HTTP Basic; each reply
 * carries a RespURI (`/syncml?s=ID`) naming the session for the next message. Sessions live in
 * memory and end when completed or after 15 idle minutes.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { parseBasicAuth, type Principal } from "../auth.js";
import { resolveAccess } from "../authz/access.js";
import { contentViewFor, type ContentStore } from "../authz/content-view.js";
import type { Store } from "../store/types.js";
import type { TypeRegistry } from "../types/registry.js";
import { decodeMessage, SyncMLFormatError } from "./messages.js";
import { handleMessage, SERVER_MAX_MSG_SIZE, type CallerLookup, type Session } from "./session.js";
import { XmlSyntaxError } from "./xml.js";

/** The SyncML media type (XML encoding) and the WBXML one this server does not speak. */
export const SYNCML_XML = "application/vnd.syncml+xml";
const SYNCML_WBXML = "application/vnd.syncml+wbxml";
const IDLE_MS = 15 * 60_000;

/** What the endpoint needs. */
export interface SyncmlOptions {
  store: Store;
  /** The sync root (repository path); its `contacts`, `calendar` and `notes` folders are the datastores. */
  root: string;
  types: TypeRegistry;
  tempDir: string;
  version: string;
  authenticate: (authorization: string | undefined, context?: { remoteAddress?: string }) => Promise<Principal | undefined>;
  log: (line: string) => void;
  now?: () => Date;
}

/** Builds the handler of `POST /syncml`. */
export function createSyncmlEndpoint(options: SyncmlOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const sessions = new Map<string, Session>();
  const now = options.now ?? (() => new Date());
  return async function handleSyncml(req, res) {
    if (req.method !== "POST") return plain(res, 405, "SyncML: use POST with a SyncML message (application/vnd.syncml+xml)\n", { allow: "POST" });
    const type = (req.headers["content-type"] ?? "").split(";", 1)[0]!.trim().toLowerCase();
    if (type === SYNCML_WBXML) return plain(res, 415, "SyncML: WBXML is not supported; send XML (application/vnd.syncml+xml)\n");
    if (type !== SYNCML_XML) return plain(res, 415, `SyncML: expected content type ${SYNCML_XML}\n`);
    const body = await readBody(req, 4 * SERVER_MAX_MSG_SIZE);
    if (body === undefined) return plain(res, 413, `SyncML: message larger than ${4 * SERVER_MAX_MSG_SIZE} bytes\n`);
    let message;
    try {
      message = decodeMessage(body.toString("utf8"));
    } catch (error) {
      if (error instanceof XmlSyntaxError || error instanceof SyncMLFormatError) return plain(res, 400, `SyncML: bad message: ${error.message}; nothing was changed\n`);
      throw error;
    }
    const clock = now().getTime();
    for (const [id, s] of sessions) if (clock - s.lastUsed > IDLE_MS) sessions.delete(id);
    const id = new URL(req.url ?? "/", "http://x").searchParams.get("s");
    let session = id === null ? undefined : sessions.get(id);
    if (!session) {
      const fresh = randomBytes(12).toString("hex");
      const scheme = (req.socket as TLSSocket).encrypted ? "https" : "http";
      session = {
        id: fresh,
        respUri: `${scheme}://${req.headers.host ?? "localhost"}/syncml?s=${fresh}`,
        nextMsgId: 1,
        clientMaxMsgSize: SERVER_MAX_MSG_SIZE,
        datastores: new Map(),
        phase: "init",
        lastUsed: clock,
      };
      sessions.set(fresh, session);
    }
    const lookup: CallerLookup = async ({ user, password }) => {
      const header = `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
      const principal = await options.authenticate(header, { remoteAddress: req.socket.remoteAddress });
      const access = principal && (await resolveAccess(options.store, principal));
      if (!principal || !access) return undefined;
      const view: ContentStore = contentViewFor(options.store, access);
      return { account: principal.name, access, context: { view, types: options.types, tempDir: options.tempDir } };
    };
    const http = parseBasicAuth(req.headers.authorization);
    const { xml, done } = await handleMessage(session, message, { deps: { store: options.store, root: options.root, version: options.version, now }, lookup, httpCredentials: http });
    if (done) sessions.delete(session.id);
    if (session.caller) options.log(`syncml: ${session.caller.account} device ${session.device} message ${message.header.msgId}${done ? " (session complete)" : ""}`);
    res.writeHead(200, { "content-type": SYNCML_XML, "content-length": Buffer.byteLength(xml) });
    res.end(xml);
  };
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
  res.end(text);
}

/** The request body, or undefined when it exceeds `limit` bytes. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
