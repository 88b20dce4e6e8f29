/**
 * Errors the HTTP layer turns into JSON answers. Anything else becomes a 500 with a generic
 * message: clients never see stack traces.
 */
import type { ServerResponse } from "node:http";
import type { ErrorBody } from "../../protocol/types.js";

/** An error with an HTTP status and a stable machine-readable code. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly paths?: string[];
  /** Extra answer headers, e.g. `Retry-After`. */
  readonly headers?: Record<string, string>;
  constructor(status: number, code: string, message: string, paths?: string[], headers?: Record<string, string>) {
    super(message);
    this.headers = headers;
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.paths = paths;
  }
}

/** Writes a JSON error answer (if headers were not sent yet). */
export function sendError(res: ServerResponse, error: HttpError, headers: Record<string, string> = {}): void {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.paths) body.error.paths = error.paths;
  sendJson(res, error.status, body, { ...error.headers, ...headers });
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
