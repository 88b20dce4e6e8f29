/**
 * The protocol client over HTTP(S), built on undici. The dispatcher is injectable so the same
 * client runs over an ssh channel (see DESIGN.md principle 4) or against a test double.
 */
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { parseSnapshotManifest } from "../../protocol/manifest.js";
import { viewUrlPath } from "../../protocol/request-path.js";
import { authorizationHeader } from "../auth-header.js";
import { decodeSnarf, encodeSnarf, readRecordBody, type SnarfInput, type SnarfRecord } from "../../protocol/snarf.js";
import {
  MANIFEST_RECORD,
  REPOSITORY_HEADER,
  REVISION_HEADER,
  SNARF_MEDIA_TYPE,
  type CommitManifest,
  type CommitResult,
  type ListResult,
  type LogEntry,
  type ObjectMeta,
  type ServerInfo,
  type SnapshotManifest,
} from "../../protocol/types.js";
import { describeTlsFailure } from "./tls.js";
import { readServerEvents, SILENT_HEARTBEATS, type ServerEvent } from "./events.js";
import type { FileDiff } from "../../merge/line-diff.js";

/** Errors that mean no request reached the server. */
const NEVER_CONNECTED = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

/** A non-success answer, or a server that does not speak the protocol. */
export class ProtocolError extends Error {
  readonly status: number;
  readonly code: string;
  readonly paths?: string[];
  constructor(status: number, code: string, message: string, paths?: string[]) {
    super(message);
    this.name = "ProtocolError";
    this.status = status;
    this.code = code;
    this.paths = paths;
  }
}

export interface ClientOptions {
  /** Server origin, e.g. `http://127.0.0.1:8080` (no path, no credentials). */
  origin: string;
  user?: string;
  password?: string;
  /** Login token: sent as `Authorization: Bearer`, and then no password is sent. */
  token?: string;
  /** Replaces a server's error answer (e.g. a 401 to a stored token becomes "run zsync login"). */
  mapError?: (error: ProtocolError) => Error;
  /** undici dispatcher (connection pool, ssh connector, …). */
  dispatcher?: Dispatcher;
  /** http origin requests are built on when `origin` is not one (`zsync+ssh://…` over an ssh dispatcher). */
  requestOrigin?: string;
  /** Largest manifest accepted from the server. */
  maxManifestBytes?: number;
}

/** Answer of `GET …/@@diff`: the object's kind and the file diffs, paths relative to it (a file by its own name). */
export interface RevisionDiffResult {
  from: number;
  to: number;
  kind: "file" | "folder";
  files: FileDiff[];
}

/** A snapshot as received: its manifest, then the remaining records, streamed. */
export interface Snapshot {
  /** Repository uuid the server sent with the snapshot. */
  repository?: string;
  manifest: SnapshotManifest;
  records: AsyncGenerator<SnarfRecord>;
}

/** The operations of the zsync protocol. */
export interface ZsyncClient {
  info(): Promise<ServerInfo>;
  snapshot(path: string, opts?: { since?: number; rev?: number }): Promise<Snapshot>;
  commit(path: string, manifest: CommitManifest, bodies: Iterable<SnarfInput> | AsyncIterable<SnarfInput>): Promise<CommitResult>;
  checkin(parent: string, name: string, records: AsyncIterable<SnarfInput>, opts?: { note?: string; meta?: Record<string, ObjectMeta> }): Promise<CommitResult>;
  /** History newest first: at most `limit` entries, from revision `from` (default head) down to `to` (default 0). */
  log(path: string, opts?: { limit?: number; from?: number; to?: number }): Promise<LogEntry[]>;
  cat(path: string, opts?: { rev?: number }): Promise<Readable>;
  /**
   * Subscribes to `@@events` under `path`, after revision `since` (sent as `Last-Event-ID`;
   * default: from now). The generator ends when the server ends the stream; it throws when the
   * connection breaks, or (a `stream-silent` ProtocolError, status 0) when nothing, not even a
   * heartbeat, arrives for 4 of the heartbeat intervals the server announces (before that, or
   * from a server that announces none: `idleMs`, default 60 s). `signal` stops it.
   */
  events(path: string, opts?: { since?: number; signal?: AbortSignal; idleMs?: number }): Promise<AsyncGenerator<ServerEvent>>;
  /** The object and its children at a revision (default head). */
  list(path: string, opts?: { rev?: number }): Promise<ListResult>;
  /** Differences under the object between two revisions (`to` default head). */
  diff(path: string, opts: { from: number; to?: number; context?: number }): Promise<RevisionDiffResult>;
  /** Exchanges the client's password (Basic) for a login token. */
  createToken(opts?: { label?: string }): Promise<CreatedToken>;
  /** Revokes the token this client authenticates with. */
  revokeCurrentToken(): Promise<void>;
}

/** The answer to `POST /.well-known/zsync/tokens`: the only time the token is shown. */
export interface CreatedToken {
  token: string;
  id: string;
  account: string;
  expiresAt: string | null;
}

/** Creates a protocol client for one server. */
export function createZsyncClient(options: ClientOptions): ZsyncClient {
  const headers: Record<string, string> = { "user-agent": "zsync" };
  const authorization = authorizationHeader(options);
  if (authorization !== undefined) headers.authorization = authorization;
  const maxManifestBytes = options.maxManifestBytes ?? 256 * 1024 * 1024;

  async function send(
    method: "GET" | "POST" | "DELETE",
    path: string,
    extra: { query?: Record<string, string | number | undefined>; headers?: Record<string, string>; body?: Readable | string; contentType?: string; signal?: AbortSignal; bodyTimeout?: number } = {},
  ) {
    const url = new URL(path, options.requestOrigin ?? options.origin);
    for (const [key, value] of Object.entries(extra.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    let response: Dispatcher.ResponseData;
    try {
      // undici is loaded on the first request: offline commands (status, diff, …) never need it.
      const { request } = await import("undici");
      response = await request(url, {
        method,
        headers: { ...headers, ...extra.headers, ...(extra.contentType ? { "content-type": extra.contentType } : {}) },
        body: extra.body,
        dispatcher: options.dispatcher,
        // The server answers an upload only once it has stored it, which for gigabytes takes
        // longer than undici's default 300 s: wait as long as the connection lives.
        headersTimeout: method === "POST" ? 0 : undefined,
        bodyTimeout: extra.bodyTimeout,
        signal: extra.signal,
      });
    } catch (error) {
      const tlsFailure = describeTlsFailure(error, options.origin);
      if (tlsFailure) throw new ProtocolError(0, tlsFailure.includes("speaks plain HTTP") ? "not-https" : "tls-verify-failed", tlsFailure);
      const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code ?? "";
      const detail = `${(error as Error).message}${cause ? ` (${cause})` : ""}`;
      if (method === "POST" && !NEVER_CONNECTED.has(cause)) {
        throw new ProtocolError(0, "connection-lost", `lost the connection to ${options.origin} during the upload: ${detail}. The server may have applied it: run \`zsync update\`, then \`zsync status\``);
      }
      throw new ProtocolError(0, "unreachable", `cannot reach ${options.origin}: ${detail}`);
    }
    if (response.statusCode >= 400) {
      const error = await errorFrom(response);
      throw options.mapError ? options.mapError(error) : error;
    }
    return response;
  }

  async function json<T>(response: Dispatcher.ResponseData): Promise<T> {
    const type = String(response.headers["content-type"] ?? "");
    if (!type.startsWith("application/json")) {
      await response.body.dump();
      throw new ProtocolError(response.statusCode, "not-zsync", `${options.origin} answered with ${type || "no content type"}, not a zsync server`);
    }
    return (await response.body.json()) as T;
  }

  return {
    async info() {
      const info = await json<ServerInfo>(await send("GET", "/.well-known/zsync"));
      if (info?.server !== "zsync-server" || !info.protocol?.versions?.includes(1)) {
        throw new ProtocolError(200, "not-zsync", `${options.origin} does not speak zsync protocol version 1`);
      }
      return info;
    },

    async snapshot(path, opts = {}) {
      const response = await send("GET", viewUrlPath(path, "toFS.snarf"), { query: { since: opts.since, rev: opts.rev } });
      if (String(response.headers["content-type"] ?? "").split(";")[0] !== SNARF_MEDIA_TYPE) {
        await response.body.dump();
        throw new ProtocolError(response.statusCode, "not-zsync", `${options.origin} did not answer with a SNARF archive`);
      }
      const records = decodeSnarf(response.body);
      let manifest: SnapshotManifest;
      try {
        const first = await records.next();
        if (first.done || first.value.path !== MANIFEST_RECORD) throw new Error("the snapshot does not start with its manifest");
        manifest = parseSnapshotManifest(JSON.parse((await readRecordBody(first.value, maxManifestBytes)).toString("utf8")));
      } catch (error) {
        // A hostile or broken server: say so, and write nothing (no caller has seen a path yet).
        response.body.destroy();
        throw new ProtocolError(200, "bad-archive", `${options.origin} sent an invalid snapshot, refused before anything was written: ${(error as Error).message}`);
      }
      const header = Number(response.headers[REVISION_HEADER]);
      if (header !== manifest.revision) throw new ProtocolError(200, "bad-archive", "snapshot revision header and manifest disagree");
      const repository = response.headers[REPOSITORY_HEADER];
      return { manifest, records, repository: typeof repository === "string" ? repository : undefined };
    },

    async commit(path, manifest, bodies) {
      const text = JSON.stringify(manifest);
      async function* records(): AsyncGenerator<SnarfInput> {
        yield { kind: "file", path: MANIFEST_RECORD, size: Buffer.byteLength(text), body: text };
        yield* bodies;
      }
      const response = await send("POST", viewUrlPath(path, "fromFS.snarf"), { body: encodeSnarf(records()), contentType: SNARF_MEDIA_TYPE });
      return json<CommitResult>(response);
    },

    async checkin(parent, name, records, opts = {}) {
      const text = JSON.stringify({ protocol: 1, note: opts.note, meta: opts.meta ?? {} });
      async function* all(): AsyncGenerator<SnarfInput> {
        yield { kind: "file", path: MANIFEST_RECORD, size: Buffer.byteLength(text), body: text };
        yield* records;
      }
      const response = await send("POST", viewUrlPath(parent, "checkin.snarf"), {
        query: { name, note: opts.note },
        body: encodeSnarf(all()),
        contentType: SNARF_MEDIA_TYPE,
      });
      return json<CommitResult>(response);
    },

    async log(path, opts = {}) {
      return (await json<{ revisions: LogEntry[] }>(await send("GET", viewUrlPath(path, "log"), { query: { limit: opts.limit, from: opts.from, to: opts.to } }))).revisions;
    },

    async list(path, opts = {}) {
      return json<ListResult>(await send("GET", viewUrlPath(path, "list"), { query: { rev: opts.rev } }));
    },

    async diff(path, opts) {
      return json<RevisionDiffResult>(await send("GET", viewUrlPath(path, "diff"), { query: { from: opts.from, to: opts.to, context: opts.context } }));
    },

    async cat(path, opts = {}) {
      const response = await send("GET", viewUrlPath(path, "cat"), { query: { rev: opts.rev } });
      return Readable.from(response.body);
    },

    async events(path, opts = {}) {
      // One signal for the caller's stop and the silence watch's cut.
      const cut = new AbortController();
      const stop = () => cut.abort();
      if (opts.signal?.aborted) stop();
      opts.signal?.addEventListener("abort", stop, { once: true });
      // Resuming: `Last-Event-ID` names the last event seen, as an EventSource does.
      const resume: Record<string, string> = opts.since === undefined ? {} : { "last-event-id": String(opts.since) };
      const response = await send("GET", viewUrlPath(path, "events"), { headers: resume, signal: cut.signal, bodyTimeout: 0 }).catch((error: unknown) => {
        opts.signal?.removeEventListener("abort", stop);
        throw error;
      });
      if (String(response.headers["content-type"] ?? "").split(";")[0] !== "text/event-stream") {
        opts.signal?.removeEventListener("abort", stop);
        await response.body.dump();
        throw new ProtocolError(response.statusCode, "not-zsync", `${options.origin} did not answer with an event stream`);
      }
      const events = readServerEvents(response.body, {
        idleMs: opts.idleMs ?? 60_000,
        onSilent(silentMs, announced) {
          cut.abort();
          const heartbeats = announced ? ` (${SILENT_HEARTBEATS} heartbeats)` : "";
          return new ProtocolError(0, "stream-silent", `the event stream from ${options.origin} was silent for ${silentMs / 1000} s${heartbeats}: the connection is dead`);
        },
      });
      return (async function* () {
        try {
          yield* events;
        } finally {
          opts.signal?.removeEventListener("abort", stop);
        }
      })();
    },

    async createToken(opts = {}) {
      const body = JSON.stringify({ label: opts.label ?? "" });
      const created = await json<CreatedToken>(await send("POST", "/.well-known/zsync/tokens", { body, contentType: "application/json" }));
      if (typeof created?.token !== "string" || typeof created.id !== "string") throw new ProtocolError(201, "not-zsync", `${options.origin} answered the login without a token`);
      return created;
    },

    async revokeCurrentToken() {
      const response = await send("DELETE", "/.well-known/zsync/tokens/current");
      await response.body.dump();
    },
  };
}

async function errorFrom(response: Dispatcher.ResponseData): Promise<ProtocolError> {
  const type = String(response.headers["content-type"] ?? "");
  if (type.startsWith("application/json")) {
    try {
      const body = (await response.body.json()) as { error?: { code?: string; message?: string; paths?: string[] } };
      if (body?.error?.code) return new ProtocolError(response.statusCode, body.error.code, body.error.message ?? body.error.code, body.error.paths);
    } catch {
      // fall through to the generic message
    }
  } else {
    await response.body.dump();
  }
  return new ProtocolError(response.statusCode, "http-error", `server answered ${response.statusCode} and no zsync error`);
}
