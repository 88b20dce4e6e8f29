/**
 * Validation of typed content before anything is stored: every file of a commit or checkin whose
 * content type (from the change's metadata, else the stored object's) names a registered type is
 * parsed; the first that does not parse refuses the whole request (422, naming path and line).
 * A metadata-only change that gives stored content another type re-parses the stored content.
 */
import { readFile } from "node:fs/promises";
import type { CommitChange, ObjectMeta } from "../../protocol/types.js";
import type { ContentTypeDefinition } from "../types/interface.js";
import type { TypeRegistry } from "../types/registry.js";
import type { RequestContext } from "./context.js";
import { HttpError } from "./errors.js";
import { absoluteFrom } from "./params.js";
import type { ReceivedArchive } from "./upload.js";

/** Typed content larger than this is refused rather than parsed in memory. */
export const MAX_TYPED_CONTENT_BYTES = 64 * 1024 * 1024;

/** Parses `text` as `type`; throws 422 `invalid-content` naming `path`, the line and `consequence`. */
function parseOrRefuse(type: ContentTypeDefinition<any>, path: string, text: string, what: string, consequence: string): void {
  try {
    type.parse(text);
  } catch (error) {
    const line = (error as { line?: unknown }).line;
    const where = typeof line === "number" ? `line ${line}: ` : "";
    throw new HttpError(422, "invalid-content", `${what} is not a valid ${type.name}: ${where}${(error as Error).message}; ${consequence}`, [path]);
  }
}

/** Refuses typed content too large to parse. */
function checkSize(type: ContentTypeDefinition<any>, path: string, size: number): void {
  if (size > MAX_TYPED_CONTENT_BYTES) throw new HttpError(422, "invalid-content", `${path}: a ${type.name} larger than ${MAX_TYPED_CONTENT_BYTES} bytes is refused`, [path]);
}

/** Reads a stored blob as UTF-8 text. */
async function storedText(ctx: RequestContext, hash: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.store.readBlob(hash)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Throws 422 `invalid-content` for the first typed file of the commit that does not parse. */
export async function checkTypedContent(ctx: RequestContext, types: TypeRegistry, changes: CommitChange[], received: ReceivedArchive): Promise<void> {
  for (const change of changes) {
    if (change.schedule === "removed" || change.kind === "folder") continue;
    const staged = received.files.get(change.path);
    const stored = change.meta === undefined || change.meta === null || !staged ? await ctx.store.getObject(absoluteFrom(ctx.target.objectPath, change.path)) : undefined;
    const contentType = change.meta === undefined || change.meta === null ? stored?.meta?.contentType : change.meta.contentType;
    const type = types.forMediaType(contentType);
    if (type.name === "file") continue;
    if (staged) {
      checkSize(type, change.path, staged.size);
      parseOrRefuse(type, change.path, await readFile(staged.file, "utf8"), change.path, "nothing was committed");
      continue;
    }
    // A metadata-only change: content already stored under this type was checked when it was
    // stored; content that gets a new type must parse as that type.
    if (!stored?.hash || types.forMediaType(stored.meta?.contentType).name === type.name) continue;
    checkSize(type, change.path, stored.size ?? 0);
    parseOrRefuse(type, change.path, await storedText(ctx, stored.hash), `${change.path} (its stored content)`, `its type stays ${JSON.stringify(stored.meta?.contentType ?? "none")}; nothing was committed`);
  }
}

/** Throws 422 `invalid-content` for the first typed file of a checkin (types from its manifest's metadata) that does not parse. */
export async function checkTypedCheckin(types: TypeRegistry, received: ReceivedArchive, meta: Record<string, ObjectMeta>): Promise<void> {
  for (const staged of received.files.values()) {
    const type = types.forMediaType(meta[staged.path]?.contentType);
    if (type.name === "file") continue;
    checkSize(type, staged.path, staged.size);
    parseOrRefuse(type, staged.path, await readFile(staged.file, "utf8"), staged.path, "nothing was imported");
  }
}
