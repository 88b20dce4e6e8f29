/**
 * The HTTP request handler: authentication, routing of `<path>/@@view` URLs to the handlers,
 * and JSON errors. Transport-neutral: the ssh endpoint hands its channels to the same handler.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ArchivePathError } from "../../protocol/paths.js";
import { parseRequestTarget, type RequestTarget } from "../../protocol/request-path.js";
import { PROTOCOL_FEATURES, PROTOCOL_VERSION, REVISION_HEADER, type ServerInfo } from "../../protocol/types.js";
import { createAuthenticator } from "../auth.js";
import type { LoginGuard } from "../login-guard.js";
import { ForbiddenError, HiddenPathError, resolveAccess } from "../authz/access.js";
import { contentViewFor } from "../authz/content-view.js";
import { transportPrincipal } from "../transport-principal.js";
import { StoreUnavailableError, type Store } from "../store/types.js";
import { handleCheckin } from "./checkin.js";
import { handleCommit } from "./commit.js";
import { createRevisionNotifier, type RevisionNotifier } from "../events/notifier.js";
import { DEFAULT_HEARTBEAT_MS, handleEvents, type EventStreams } from "./events.js";
import type { RequestContext, ServerLimits } from "./context.js";
import { HttpError, sendError, sendJson } from "./errors.js";
import { handleCat, handleDiff, handleList, handleLog } from "./history.js";
import { handleSnapshot } from "./snapshot.js";
import { handleTokens, TOKENS_PATH } from "./tokens.js";
import type { FailureLimits } from "../rate-limit.js";
import { createManageApp, isManageUrl } from "../manage/index.js";
import { SessionStore } from "../manage/sessions.js";
import { serverNow } from "../clock.js";
import { DEFAULT_TOKEN_TTL_DAYS } from "../tokens.js";
import { announceTypes, createTypeRegistry, type TypeRegistry } from "../types/registry.js";
import { createSyncmlEndpoint } from "../syncml/endpoint.js";
import { syncmlDiscovery } from "../syncml/discovery.js";

export interface AppOptions {
  store: Store;
  limits: ServerLimits;
  tempDir: string;
  version: string;
  /** One line per request (never credentials). */
  log?: (line: string) => void;
  /** Lifetime of tokens made by `POST /.well-known/zsync/tokens` (default 90 days). */
  tokenTtlMs?: number;
  /** Failed-login limits (default: rate-limit.ts). */
  failureLimits?: Partial<FailureLimits>;
  /** The failed-login guard, when shared with the ssh endpoint. */
  loginGuard?: LoginGuard;
  /**
   * The notifier of the store's commits (events/notifier.ts) that feeds `@@events`. The caller
   * closes it on shutdown, which ends the event streams. Default: a notifier of its own.
   */
  notifier?: RevisionNotifier;
  /** Heartbeat interval of `@@events` streams (default 15 s). */
  heartbeatMs?: number;
  /** Content types (default: the built-ins). */
  types?: TypeRegistry;
  /** Serve SyncML at `POST /syncml`, its datastores being folders under `root` (issue 17, docs/SYNCML.md). */
  syncml?: { root: string };
}

type Handler = (ctx: RequestContext) => Promise<void>;

/** Unread request bodies up to this size are drained before an early error answer. */
const SMALL_UNREAD_BODY = 1024 * 1024;

const ROUTES: Record<string, Partial<Record<string, Handler>>> = {
  "toFS.snarf": { GET: handleSnapshot },
  "fromFS.snarf": { POST: handleCommit },
  "checkin.snarf": { POST: handleCheckin },
  log: { GET: handleLog },
  cat: { GET: handleCat },
  list: { GET: handleList },
  diff: { GET: handleDiff },
};

/** Builds the request handler of one server. */
export function createApp(options: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  // The store reports every commit on it (this server's, other servers' and processes'): @@events wakes.
  const notifier = options.notifier ?? createRevisionNotifier(options.store);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const log = options.log ?? (() => {});
  const routes: typeof ROUTES = {
    ...ROUTES,
    events: {
      GET: (ctx) => {
        const streams: EventStreams = { notifier, heartbeatMs, history: options.store, log, access: () => resolveAccess(options.store, ctx.principal) };
        return handleEvents(ctx, streams);
      },
    },
  };
  const types = options.types ?? createTypeRegistry();
  const authenticate = createAuthenticator(options.store, { failureLimits: options.failureLimits, log, guard: options.loginGuard });
  const syncml = options.syncml && createSyncmlEndpoint({ store: options.store, root: options.syncml.root, types, tempDir: options.tempDir, version: options.version, authenticate, log });
  const manage = createManageApp({
    store: options.store,
    authenticate,
    sessions: new SessionStore({ now: () => serverNow() }),
    limits: options.limits,
    tempDir: options.tempDir,
    tokenTtlMs: options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_DAYS * 86_400_000,
    log,
  });
  return function app(req, res) {
    const started = Date.now();
    const caller = { name: "-" };
    res.on("finish", () => log(`${req.method} ${logUrl(req)} ${res.statusCode} ${caller.name} ${Date.now() - started}ms`));
    if (isManageUrl(req.url) && (req.url ?? "").length <= options.limits.maxUrlBytes) {
      // The web pages log in with a session cookie, not HTTP authentication (src/server/manage/).
      manage(req, res).catch(() => res.destroy());
      return;
    }
    route(req, res, caller).catch((thrown: unknown) => {
        const error = asHttpError(thrown);
        if (error instanceof HttpError) {
          const auth: Record<string, string> = error.status === 401 ? { "www-authenticate": 'Basic realm="zsync", charset="UTF-8", Bearer realm="zsync"' } : {};
          const declared = Number(req.headers["content-length"] ?? 0);
          if (!req.complete && !req.destroyed && declared <= SMALL_UNREAD_BODY) {
            // A small (or chunked) upload not read yet: read and drop up to SMALL_UNREAD_BODY
            // first, so the client, still sending, gets this answer instead of a broken pipe.
            let drained = 0;
            req.on("data", (chunk: Buffer) => {
              drained += chunk.length;
              if (drained > SMALL_UNREAD_BODY) {
                req.removeAllListeners("data");
                sendError(res, error, { ...auth, connection: "close" });
              }
            });
            req.once("end", () => {
              if (!res.headersSent) sendError(res, error, auth);
            });
            req.once("error", () => res.destroy());
            return;
          }
          // A large or half-read upload: answer and close rather than read the rest.
          const close: Record<string, string> = req.complete ? {} : { connection: "close" };
          sendError(res, error, { ...auth, ...close });
        } else if ((error as NodeJS.ErrnoException)?.code === "ECONNRESET" && req.destroyed) {
          // The client went away (or sent a body the parser refused, answered by client-errors.ts).
          log(`${req.method} ${logUrl(req)} aborted by the client`);
          res.destroy();
        } else if (!res.headersSent) {
          log(`internal error on ${req.method} ${logUrl(req)}: ${(error as Error)?.stack ?? error}`);
          sendError(res, new HttpError(500, "internal", "internal server error"), req.complete ? {} : { connection: "close" } as Record<string, string>);
        } else {
          // Mid-stream failure: cut the connection so the client sees a truncated archive, never a short one.
          res.destroy();
        }
      });
  };

  async function route(req: IncomingMessage, res: ServerResponse, caller: { name: string }): Promise<void> {
    if ((req.url ?? "").length > options.limits.maxUrlBytes) {
      throw new HttpError(414, "uri-too-long", `request URL longer than ${options.limits.maxUrlBytes} bytes`);
    }
    if (syncml && (req.url ?? "").split("?")[0] === "/syncml") {
      // SyncML devices authenticate inside the message (SyncHdr Cred), so before HTTP authentication.
      await syncml(req, res);
      return;
    }
    const principal = transportPrincipal(req.socket) ?? (await authenticate(req.headers.authorization, { remoteAddress: req.socket.remoteAddress }));
    // Roles and grants are read per request: a change by `zsync-server user|grant` applies at once.
    const access = principal && (await resolveAccess(options.store, principal));
    if (!principal || !access) throw new HttpError(401, "unauthorized", "valid credentials are required");
    caller.name = principal.name;
    const urlPath = req.url?.split("?")[0] ?? "/";
    if (urlPath === TOKENS_PATH || urlPath.startsWith(`${TOKENS_PATH}/`)) {
      await handleTokens(req, res, { store: options.store, principal, path: urlPath, ttlMs: options.tokenTtlMs ?? DEFAULT_TOKEN_TTL_DAYS * 86_400_000 });
      return;
    }
    if (urlPath === "/.well-known/zsync") {
      if (req.method !== "GET") throw new HttpError(405, "method-not-allowed", "use GET");
      const { uuid, head } = await options.store.info();
      const info: ServerInfo = {
        server: "zsync-server",
        version: options.version,
        protocol: { versions: [PROTOCOL_VERSION], features: [...PROTOCOL_FEATURES, ...(options.syncml ? ["syncml"] : [])] },
        repository: { uuid, revision: head },
        auth: ["basic", "bearer"],
        types: announceTypes(types),
        ...(options.syncml ? { syncml: syncmlDiscovery(options.syncml.root) } : {}),
      };
      sendJson(res, 200, info, { [REVISION_HEADER]: String(head) });
      return;
    }
    let target: RequestTarget;
    try {
      target = parseRequestTarget(req.url ?? "/");
    } catch (error) {
      if (error instanceof ArchivePathError || error instanceof URIError) throw new HttpError(400, "bad-path", `bad request path: ${(error as Error).message}`);
      throw error;
    }
    if (target.view === undefined) throw new HttpError(404, "not-found", "no view in the URL; see docs/PROTOCOL.md (e.g. /demo/@@toFS.snarf)");
    const methods = routes[target.view];
    if (!methods) throw new HttpError(404, "unknown-view", `unknown view @@${target.view}`);
    const handler = methods[req.method ?? ""];
    if (!handler) throw new HttpError(405, "method-not-allowed", `@@${target.view} accepts ${Object.keys(methods).join(", ")}`);
    const store = contentViewFor(options.store, access);
    await handler({ req, res, target, principal, access, store, limits: options.limits, tempDir: options.tempDir, types });
  }
}

/** Permission refusals from the authz module, and an unreachable database, as HTTP answers. */
function asHttpError(error: unknown): unknown {
  if (error instanceof ForbiddenError) return new HttpError(403, "forbidden", error.message);
  if (error instanceof HiddenPathError) return new HttpError(404, "not-found", error.message);
  if (error instanceof StoreUnavailableError) {
    return new HttpError(503, "store-unavailable", "the repository database is unavailable; try again shortly", undefined, { "retry-after": "5" });
  }
  if (isDiskFull(error)) return new HttpError(507, "insufficient-storage", "the server is out of disk space");
  return error;
}

/** A full disk, as the file system (ENOSPC, EDQUOT), SQLite (SQLITE_FULL) or PostgreSQL (53100) says it. */
function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | undefined)?.code ?? (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL" || code === "53100";
}

/** The request path for the log: no query (it may carry tokens), at most 200 characters. */
function logUrl(req: IncomingMessage): string {
  const path = req.url?.split("?")[0] ?? "";
  return path.length > 200 ? `${path.slice(0, 200)}…(${path.length} chars)` : path;
}
