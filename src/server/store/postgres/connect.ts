/**
 * Connecting to PostgreSQL: the `--store` spec, the pool, and which driver errors mean "the
 * database is unreachable" (answered as 503 by the HTTP layer, see `StoreUnavailableError`).
 */
import pg from "pg";
import { StoreUnavailableError } from "../types.js";

/** The schema used when the spec names none. */
export const DEFAULT_SCHEMA = "zsync";
/** Connections per server process unless `?pool=N` says otherwise. */
export const DEFAULT_POOL_SIZE = 10;

/** What a `postgres://…` spec resolves to. */
export interface PostgresTarget {
  /** The connection string without our own parameters (`schema`, `pool`). */
  connectionString: string;
  schema: string;
  poolSize: number;
}

/** True when `spec` names a PostgreSQL store. */
export function isPostgresSpec(spec: string): boolean {
  return /^postgres(ql)?:/i.test(spec);
}

/**
 * Parses `postgres://USER:PASS@HOST:PORT/DB?schema=NAME&pool=N` (or `postgresql://`). Parts left
 * out come from the usual PG* environment variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
 * PGDATABASE), as libpq does: `postgres://` alone uses only the environment.
 */
export function parsePostgresSpec(spec: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new Error(`invalid PostgreSQL connection string ${JSON.stringify(redact(spec))}`);
  }
  const schema = url.searchParams.get("schema") ?? DEFAULT_SCHEMA;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid schema name ${JSON.stringify(schema)}: use lower-case letters, digits and _`);
  }
  const poolText = url.searchParams.get("pool");
  // Decimal digits only: Number() would also take "1e2", "0x10" and " 5".
  const poolSize = poolText === null ? DEFAULT_POOL_SIZE : /^[0-9]{1,4}$/.test(poolText) ? Number(poolText) : NaN;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw new Error(`invalid pool size ${JSON.stringify(poolText)}: use a whole number from 1 to 1000`);
  }
  url.searchParams.delete("schema");
  url.searchParams.delete("pool");
  return { connectionString: url.toString(), schema, poolSize };
}

/** The spec with any password replaced by "***", for messages and logs. */
export function redact(spec: string): string {
  return spec.replace(/^(postgres(?:ql)?:\/\/[^:@/]*:)[^@/]*@/i, "$1***@");
}

/** BIGINT (sizes, counts) as a JS number: sizes stay far below 2^53. */
function parseBigint(value: string): number {
  return Number(value);
}

/** A pool on `target`, every connection using `target.schema` as its search path. */
export function createPool(target: PostgresTarget): pg.Pool {
  const pool = new pg.Pool({
    // pg parses the string (sslmode, host=/socket/dir, …) and takes what it leaves out from PG*.
    connectionString: target.connectionString,
    max: target.poolSize,
    // The schema as search path from the start, so no query can run against another one.
    options: `-c search_path=${target.schema}`,
    connectionTimeoutMillis: 10_000,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === pg.types.builtins.INT8 ? parseBigint : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection dropped by the server (restart, admin shutdown) must not crash the
  // process; the pool replaces it on the next query.
  pool.on("error", () => {});
  return pool;
}

/** SQLSTATE classes and codes meaning the server is gone or refusing connections now. */
const UNAVAILABLE_SQLSTATES = new Set(["57P01", "57P02", "57P03", "53300"]);
const UNAVAILABLE_ERRNO = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** True when `error` says the database cannot be reached (rather than that a query was wrong). */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith("08") || UNAVAILABLE_ERRNO.has(code)) return true;
  }
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    error.message,
  );
}

/** Rethrows driver errors about an unreachable database as `StoreUnavailableError`. */
export function translate(error: unknown): never {
  if (isUnavailable(error)) throw new StoreUnavailableError(`the database is unavailable: ${(error as Error).message}`, { cause: error });
  throw error;
}
