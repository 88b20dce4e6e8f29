/** Opens a store from a `--store` spec: `sqlite:PATH`, or `postgres://…` / `postgresql://…`. */
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { OpenStoreOptions } from "./options.js";
import { isPostgresSpec, openPostgresStore } from "./postgres.js";
import { openSqliteStore } from "./sqlite.js";
import type { Store } from "./types.js";

/** Thrown for a store spec that names no known backend. */
export class StoreSpecError extends Error {}

/**
 * Opens the store named by `spec` (creating a SQLite file's directory when needed), migrating
 * its schema first; `migrated` learns the schema versions before and after, `log` the commit
 * feed's status lines (see OpenStoreOptions).
 */
export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<Store> {
  if (isPostgresSpec(spec)) return openPostgresStore(spec, opts);
  const colon = spec.indexOf(":");
  const scheme = colon < 0 ? "" : spec.slice(0, colon);
  if (scheme !== "sqlite") throw new StoreSpecError(`unknown store ${JSON.stringify(spec)}: use sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB`);
  const file = resolve(spec.slice(colon + 1));
  await mkdir(dirname(file), { recursive: true });
  return openSqliteStore(file, opts);
}
