/**
 * Validation of typed content in a commit: every file whose content type (from the change's
 * metadata, else the stored object's) names a registered type is parsed before anything is
 * stored; the first that does not parse refuses the whole commit (422, naming path and line).
 */
import { readFile } from "node:fs/promises";
import type { CommitChange } from "../../protocol/types.js";
import type { TypeRegistry } from "../types/registry.js";
import type { RequestContext } from "./context.js";
import { HttpError } from "./errors.js";
import { absoluteFrom } from "./params.js";
import type { ReceivedArchive } from "./upload.js";

/** Typed content larger than this is refused rather than parsed in memory. */
export const MAX_TYPED_CONTENT_BYTES = 64 * 1024 * 1024;

/** Throws 422 `invalid-content` for the first typed file of the commit that does not parse. */
export async function checkTypedContent(ctx: RequestContext, types: TypeRegistry, changes: CommitChange[], received: ReceivedArchive): Promise<void> {
  for (const change of changes) {
    if (change.schedule === "removed" || change.kind === "folder") continue;
    let contentType = change.meta?.contentType;
    if (change.meta === undefined || change.meta === null) contentType = (await ctx.store.getObject(absoluteFrom(ctx.target.objectPath, change.path)))?.meta?.contentType;
    const type = types.forMediaType(contentType);
    if (type.name === "file") continue;
    const staged = received.files.get(change.path);
    let text: string;
    if (staged) {
      if (staged.size > MAX_TYPED_CONTENT_BYTES) throw new HttpError(422, "invalid-content", `${change.path}: a ${type.name} larger than ${MAX_TYPED_CONTENT_BYTES} bytes is refused`, [change.path]);
      text = await readFile(staged.file, "utf8");
    } else {
      continue; // metadata-only change of stored content: the content was checked when it was stored, or predates the type
    }
    try {
      type.parse(text);
    } catch (error) {
      const line = (error as { line?: unknown }).line;
      const where = typeof line === "number" ? `line ${line}: ` : "";
      throw new HttpError(422, "invalid-content", `${change.path} is not a valid ${type.name}: ${where}${(error as Error).message}; nothing was committed`, [change.path]);
    }
  }
}
