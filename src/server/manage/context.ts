/** What every /manage page handler gets, and the small helpers they share (forms, paths, answers). */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ArchivePathError, checkArchivePath } from "../../protocol/paths.js";
import type { Principal } from "../auth.js";
import type { Access } from "../authz/access.js";
import type { ContentStore } from "../authz/content-view.js";
import type { ServerLimits } from "../http/context.js";
import type { Store } from "../store/types.js";
import type { Session, SessionStore } from "./sessions.js";

/** What the /manage app needs from the server. */
export interface ManageDeps {
  store: Store;
  /** The API's authenticator (same failed-login limits). */
  authenticate: (authorization: string | undefined, context?: { remoteAddress?: string }) => Promise<Principal | undefined>;
  sessions: SessionStore;
  limits: ServerLimits;
  tempDir: string;
  tokenTtlMs: number;
  log: (line: string) => void;
}

/** One request to a logged-in page. */
export interface Page {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  session: Session;
  access: Access;
  /** The repository as this account may see and change it. */
  view: ContentStore;
  deps: ManageDeps;
  secure: boolean;
}

/** An answer other than the normal page: an error page with this status. */
export class ManageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ManageError";
  }
}

/** The answer for a path that is missing or hidden: the same for both. */
export function notFound(path: string, revision?: number): ManageError {
  return new ManageError(404, `no object at /${path}${revision === undefined ? "" : ` in revision ${revision}`}`);
}

/**
 * A repository path from a page parameter (`/demo/a`, `demo/a` or empty for the root). Anything
 * that is not a plain repository path (`..`, `@@` names, NUL, backslashes…) is a 400.
 */
export function pathParam(value: string | null | undefined): string {
  const path = (value ?? "").replace(/^\/+/, "").replace(/\/+$/, "");
  try {
    checkArchivePath(path);
  } catch (error) {
    if (error instanceof ArchivePathError) throw new ManageError(400, `bad path: ${error.message}`);
    throw error;
  }
  return path;
}

/**
 * For a path that is not there now: true when this account could see it at the form's base
 * revision (so someone deleted it meanwhile); false when it never was there for this account —
 * missing or hidden, answered alike with `notFound`.
 */
export async function deletedSince(page: Page, path: string, base: number): Promise<boolean> {
  const { head } = await page.view.info();
  if (!Number.isSafeInteger(base) || base < 0 || base > head) return false;
  return (await page.view.getObject(path, { revision: base })) !== undefined;
}

/** A revision number parameter: undefined when absent; 400 when malformed or after head. */
export function revisionParam(value: string | null | undefined, head: number): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new ManageError(400, "a revision must be a number");
  const revision = Number(value);
  if (revision > head) throw new ManageError(400, `there is no revision ${revision} yet (head is ${head})`);
  return revision;
}

/**
 * Longest value of one page form field (a commit message, a name, a path…), in UTF-8 bytes: the
 * same limit for urlencoded forms and uploads. The edited text (`content`) and metadata values
 * (`value`, `json`, `annotations`) and ssh keys (`key`) have their own, larger limits (4 MiB text; the protocol's
 * `maxMetaBytes`).
 */
export const MAX_FORM_FIELD_BYTES = 64 * 1024;

/** The fields that may be longer than MAX_FORM_FIELD_BYTES (limited where they are used). */
const LONG_FIELDS = new Set(["content", "value", "json", "annotations", "key"]);

/** 413 for a field over MAX_FORM_FIELD_BYTES: nothing is changed. */
export function fieldTooLong(name: string): ManageError {
  return new ManageError(413, `the field "${name}" is longer than ${MAX_FORM_FIELD_BYTES} bytes (for a message: ${MAX_FORM_FIELD_BYTES / 1024} KiB); nothing was changed`);
}

/** 413 for more changes than the server's limit (`--max-changes`, shared with protocol commits). */
export function tooManyChanges(what: string, count: number, limit: number): ManageError {
  return new ManageError(413, `${what} takes ${count} changes in one revision, more than the server's limit of ${limit}; nothing was changed`);
}

/** Reads an `application/x-www-form-urlencoded` body of at most `maxBytes`; a field over MAX_FORM_FIELD_BYTES is a 413. */
export async function readForm(req: IncomingMessage, maxBytes: number): Promise<URLSearchParams> {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") throw new ManageError(415, "this form must be sent as application/x-www-form-urlencoded");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new ManageError(413, `the form is larger than ${maxBytes} bytes`);
    chunks.push(chunk as Buffer);
  }
  const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
  for (const [name, value] of form) {
    if (!LONG_FIELDS.has(name) && Buffer.byteLength(value) > MAX_FORM_FIELD_BYTES) throw fieldTooLong(name);
  }
  return form;
}

/** 303 to a page (after a POST). */
export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { location, "cache-control": "no-store", ...headers });
  res.end();
}

/** Joins a folder path and a name. */
export function childPath(folder: string, name: string): string {
  return folder === "" ? name : `${folder}/${name}`;
}

/** A single new object name: non-empty, no `/`, valid as a path. */
export function nameParam(value: string | null): string {
  const name = (value ?? "").trim();
  if (name === "" || name.includes("/")) throw new ManageError(400, "a name must be non-empty and must not contain '/'");
  pathParam(name);
  return name;
}
