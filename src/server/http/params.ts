/** Small parsers for query parameters and paths shared by the handlers. */
import { HttpError } from "./errors.js";

/** Parses a revision number parameter; undefined when absent; 400 when malformed or above `max`. */
export function parseRevision(value: string | null, max: number, name: string): number | undefined {
  if (value === null || value === "") return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new HttpError(400, "bad-request", `${name} must be a revision number, got ${JSON.stringify(value)}`);
  const revision = Number(value);
  if (revision > max) throw new HttpError(400, "bad-request", `${name}=${revision} is after revision ${max}`);
  return revision;
}

/** `relativeTo("demo", "demo/a/b")` → `a/b`; the base itself → "". */
export function relativeTo(base: string, path: string): string {
  if (base === "") return path;
  if (path === base) return "";
  return path.slice(base.length + 1);
}

/** `absoluteFrom("demo", "a/b")` → `demo/a/b`. */
export function absoluteFrom(base: string, relative: string): string {
  if (base === "") return relative;
  if (relative === "") return base;
  return `${base}/${relative}`;
}
