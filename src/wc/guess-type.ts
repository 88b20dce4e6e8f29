/**
 * The content type `add` and `import` record for a file that names none: by extension (a
 * built-in type's canonical media type, so a `.vcf` is `text/vcard`), else by the first bytes
 * (`BEGIN:VCARD`, `BEGIN:VCALENDAR`). One function, so both commands guess alike.
 */
import { open } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { BUILTIN_MEDIA_TYPES, builtinTypeOf, noteTitleOf, sniffContentType } from "../merge/content-kinds.js";
import { baseName } from "../protocol/paths.js";
import type { ObjectMeta } from "../protocol/types.js";

/** The guessed content type of the file `path` under `root`, or undefined. */
export async function guessContentType(root: string, path: string): Promise<string | undefined> {
  const byName = mimeTypes().lookup(baseName(path));
  if (typeof byName === "string") {
    const builtin = builtinTypeOf(byName);
    return builtin ? BUILTIN_MEDIA_TYPES[builtin] : byName;
  }
  const handle = await open(join(root, path), "r").catch(() => undefined);
  if (!handle) return undefined;
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return sniffContentType(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** The metadata for a guessed type: a note's title is its file name, kept in its metadata too. */
export function guessedMeta(contentType: string, path: string): ObjectMeta {
  return builtinTypeOf(contentType) === "note" ? { contentType, extra: { title: noteTitleOf(path) } } : { contentType };
}

/** The MIME database, loaded on first use: it is large, and most commands never need it. */
function mimeTypes(): typeof import("mime-types") {
  return createRequire(import.meta.url)("mime-types");
}
