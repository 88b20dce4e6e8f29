/**
 * `POST /.well-known/zsync/tokens` (Basic only: tokens cannot mint tokens) and
 * `DELETE /.well-known/zsync/tokens/current` (revokes the Bearer token of the request).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Principal } from "../auth.js";
import type { Store } from "../store/types.js";
import { mintToken } from "../tokens.js";
import { HttpError, sendJson } from "./errors.js";

/** The URL path of the token collection. */
export const TOKENS_PATH = "/.well-known/zsync/tokens";

/** Largest accepted body of a token request, and label length. */
const MAX_BODY_BYTES = 4096;
const MAX_LABEL_CHARS = 200;

/** What the token handler needs besides the request. */
export interface TokenRouteOptions {
  store: Store;
  principal: Principal;
  /** Lifetime of new tokens. */
  ttlMs: number;
}

/** Handles a request under {@link TOKENS_PATH}; `path` is the URL path without query. */
export async function handleTokens(req: IncomingMessage, res: ServerResponse, options: TokenRouteOptions & { path: string }): Promise<void> {
  const { principal, store } = options;
  if (options.path === TOKENS_PATH) {
    if (req.method !== "POST") throw new HttpError(405, "method-not-allowed", "use POST to make a token");
    if (principal.via !== "password") {
      throw new HttpError(403, "forbidden", principal.via === "token" ? "a token cannot make tokens: authenticate with a password (HTTP Basic)" : "tokens are made with a password (HTTP Basic) on a server with accounts");
    }
    const { label } = parseTokenRequest(await readSmallBody(req));
    const minted = await mintToken(store, principal.name, { label, ttlMs: options.ttlMs });
    sendJson(res, 201, { token: minted.token, id: minted.record.id, account: minted.record.account, label: minted.record.label, expiresAt: minted.record.expiresAt }, { "cache-control": "no-store" });
    return;
  }
  if (options.path === `${TOKENS_PATH}/current`) {
    if (req.method !== "DELETE") throw new HttpError(405, "method-not-allowed", "use DELETE to revoke the current token");
    if (principal.tokenId === undefined) throw new HttpError(400, "bad-request", "authenticate with the token to revoke (Authorization: Bearer …)");
    await store.revokeToken(principal.tokenId);
    res.writeHead(204).end();
    return;
  }
  throw new HttpError(404, "not-found", `no such resource: ${options.path}`);
}

async function readSmallBody(req: IncomingMessage): Promise<string> {
  if (Number(req.headers["content-length"] ?? 0) > MAX_BODY_BYTES) throw new HttpError(413, "too-large", `a token request body is at most ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "too-large", `a token request body is at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseTokenRequest(text: string): { label: string } {
  if (text.trim() === "") return { label: "" };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "bad-request", "the token request body is not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "bad-request", 'the token request body must be a JSON object like {"label": "laptop"}');
  const label = (body as { label?: unknown }).label ?? "";
  if (typeof label !== "string" || label.length > MAX_LABEL_CHARS || /[\u0000-\u001f\u007f]/.test(label)) {
    throw new HttpError(400, "bad-request", `label must be a string of at most ${MAX_LABEL_CHARS} characters without control characters`);
  }
  return { label };
}
