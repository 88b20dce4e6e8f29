/**
 * Object paths and view names in request URLs: `/demo/index.html/@@toFS.snarf?since=3`.
 */
import { ArchivePathError, checkArchivePath } from "./paths.js";

/** A parsed request target: the repository object path (no leading slash) and the view. */
export interface RequestTarget {
  objectPath: string;
  /** View name without `@@`, or undefined for a plain object URL. */
  view?: string;
  query: URLSearchParams;
}

/**
 * Splits a request URL into object path and view. Throws URIError on malformed
 * percent-encoding, ArchivePathError on an encoded `/` or a path that breaks the archive path
 * rules (`..`, `@@` names, …).
 */
export function parseRequestTarget(url: string): RequestTarget {
  // Not `new URL`: it resolves `..` and `%2e%2e`, and a request must never be silently re-aimed.
  const question = url.indexOf("?");
  const pathname = question < 0 ? url : url.slice(0, question);
  const raw = pathname.split("/").filter((segment) => segment !== "");
  let segments = raw.map((segment) => decodeURIComponent(segment));
  // An encoded `/` would re-split the path (or name a view "x/y"); clients never send one.
  const slashed = segments.find((segment) => segment.includes("/"));
  if (slashed !== undefined) throw new ArchivePathError(slashed, "encoded '/' in a path segment");
  let view: string | undefined;
  const last = segments[segments.length - 1];
  if (last !== undefined && last.startsWith("@@")) {
    view = last.slice(2);
    segments = segments.slice(0, -1);
  }
  const objectPath = segments.join("/");
  checkArchivePath(objectPath);
  return { objectPath, view, query: new URLSearchParams(question < 0 ? "" : url.slice(question + 1)) };
}

/** Builds the URL path for an object and a view: `("demo/a b", "toFS.snarf")` → `/demo/a%20b/@@toFS.snarf`. */
export function viewUrlPath(objectPath: string, view?: string): string {
  const encoded = objectPath === "" ? "" : "/" + objectPath.split("/").map(encodeURIComponent).join("/");
  return view ? `${encoded}/@@${encodeURIComponent(view)}` : encoded || "/";
}
