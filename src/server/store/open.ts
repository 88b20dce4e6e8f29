/** Opens a store from a `--store` spec: `sqlite:PATH` (PostgreSQL comes later). */
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { openSqliteStore } from "./sqlite.js";
import type { Store } from "./types.js";

/** Thrown for a store spec that names no known backend. */
export class StoreSpecError extends Error {}

/** Opens the store named by `spec`, creating its directory when needed. */
export async function openStore(spec: string): Promise<Store> {
  const colon = spec.indexOf(":");
  const scheme = colon < 0 ? "" : spec.slice(0, colon);
  if (scheme !== "sqlite") throw new StoreSpecError(`unknown store ${JSON.stringify(spec)}: use sqlite:PATH`);
  const file = resolve(spec.slice(colon + 1));
  await mkdir(dirname(file), { recursive: true });
  return openSqliteStore(file);
}
