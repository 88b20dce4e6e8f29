/**
 * The content types the checkout's server announced (snapshot manifests carry them), kept in
 * `.zsync/types.json` so that commands that do not talk to the server (`merge`, `add`) merge and
 * name plug-in types the way the server says. A cache: missing or unreadable means "built-ins only".
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parseAnnouncedTypes } from "../protocol/manifest.js";
import type { AnnouncedType } from "../protocol/types.js";
import { ADMIN_DIR } from "./admin.js";
import { writeFileAtomic } from "./atomic.js";

const typesFile = (root: string) => join(root, ADMIN_DIR, "types.json");

/** The types last announced by the server; empty when none were (an older server) or the file is unreadable. */
export async function readServerTypes(root: string): Promise<AnnouncedType[]> {
  try {
    return parseAnnouncedTypes(JSON.parse(await readFile(typesFile(root), "utf8")), "types.json");
  } catch {
    return [];
  }
}

/** Records the announced types when they differ from the ones kept (a no-op for `undefined`). */
export async function rememberServerTypes(root: string, types: AnnouncedType[] | undefined): Promise<void> {
  if (types === undefined) return;
  if (isDeepStrictEqual(await readServerTypes(root), types)) return;
  await writeFileAtomic(typesFile(root), JSON.stringify(types, null, 2) + "\n", { fsync: false });
}
