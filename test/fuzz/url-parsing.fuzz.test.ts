/**
 * Fuzz target: URL parsing on both sides — the client's `parseServerUrl`
 * (src/transport/credentials.ts) and the server's `parseRequestTarget`
 * (src/protocol/request-path.ts).
 *
 * Neither ever accepts a URL whose decoded path escapes or is re-aimed (`..`, `%2e%2e`, encoded
 * slashes, `@@` or `.zsync` names): an accepted path is a valid archive path; credentials never
 * end up in the origin; both refuse with their documented errors only.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ArchivePathError, isProtocolPath } from "../../src/protocol/paths.js";
import { parseRequestTarget, viewUrlPath } from "../../src/protocol/request-path.js";
import { parseServerUrl, type ParsedUrl } from "../../src/transport/credentials.js";
import { WcError } from "../../src/wc/admin.js";
import { edgeNameArb, validNameArb } from "./arbitraries.js";
import { assertSafeArchivePath } from "./invariants.js";
import { fuzzTextParser } from "./text-parser.js";

/** A name as typed in a URL: escaped, or raw when it needs no escaping. */
const typedName = (name: string, raw: boolean) => (raw && /^[A-Za-z0-9._~-]+$/.test(name) ? name : encodeURIComponent(name));

/** Percent-encodes a name; a lone surrogate becomes its (invalid) WTF-8 bytes. */
const escapeAny = (name: string) => [...name].map((c) => (/\p{Cs}/u.test(c) ? "%ED%A0%80" : encodeURIComponent(c))).join("");

/** Path pieces that try to escape or hide: dot segments in every spelling, encoded slashes. */
const trickArb = fc.constantFrom("..", ".", "%2e%2e", "%2E%2e", ".%2e", "%2e", "%2f", "%2F..", "a%2fb", "%5c", "..%5c..", "%00", "%zz", "%", "@@toFS.snarf", "@@zsync", ".zsync", "%2ezsync", "\\..", "\t..", "..\u0000", "//", ";", "?x=..", "#..");

const pathArb = fc
  .array(fc.oneof({ weight: 3, arbitrary: fc.tuple(validNameArb, fc.boolean()).map(([n, raw]) => typedName(n, raw)) }, { weight: 1, arbitrary: trickArb }, { weight: 1, arbitrary: edgeNameArb.map(escapeAny) }), { maxLength: 4 })
  .map((segments) => segments.join("/"));

const userinfoArb = fc.oneof(
  fc.constant(""),
  fc.tuple(fc.constantFrom("zsync", "u%40x", "a%zz", "", "x:y"), fc.option(fc.constantFrom("pw", "p%3Aw", "%", "s3cr%2Ft", "..", "@"), { nil: undefined }))
    .map(([user, password]) => `${user}${password === undefined ? "" : ":" + password}@`),
);

const serverUrlArb = fc
  .tuple(fc.constantFrom("http://", "https://", "HTTP://", "ftp://", "http:/", "zsync+ssh://"), userinfoArb, fc.constantFrom("example.org", "127.0.0.1:8080", "[::1]:1", "h:99999", ""), pathArb)
  .map(([scheme, userinfo, host, path]) => `${scheme}${userinfo}${host}/${path}`);

const validServerUrlArb = fc
  .tuple(fc.constantFrom("http://", "https://"), fc.constantFrom("", "zsync@", "zsync:pw@", "a%20b:p%40ss@"), fc.constantFrom("example.org", "127.0.0.1:8080", "[::1]:8443"), fc.array(fc.tuple(validNameArb, fc.boolean()), { maxLength: 4 }))
  .map(([scheme, userinfo, host, names]) => `${scheme}${userinfo}${host}/${names.map(([n, raw]) => typedName(n, raw)).join("/")}`);

/** The typed path, decoded segment by segment, as the user meant it (when it decodes). */
function typedPath(url: string): string[] | undefined {
  try {
    return url.split(/[?#]/)[0].replace(/^[^:]*:[/\\]*[^/\\]*/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

fuzzTextParser<ParsedUrl>({
  name: "parseServerUrl",
  parse: parseServerUrl,
  isOwnError: (error) => error instanceof WcError && error.code === "bad-url" && error.exitCode === 2,
  validArb: validServerUrlArb,
  noiseArb: serverUrlArb,
  invariant(parsed, text) {
    assertSafeArchivePath(parsed.path, "repository path");
    assert.ok(!parsed.path.split("/").some((name) => name.startsWith("@@")), "a view or protocol path as repository path");
    // The origin is what .zsync/config.json stores (readConfig's rule): scheme, host, port only.
    assert.match(parsed.origin, /^https?:\/\/[^/@]+$/);
    assert.equal(parsed.origin, new URL(text).origin);
    // Not re-aimed: the path is what was typed (when what was typed decodes at all).
    const typed = typedPath(text.replace(/^[\0-\x20]+|[\0-\x20]+$/g, ""));
    if (typed !== undefined && !/[\t\n\r\\]/.test(text)) assert.deepEqual(parsed.path.split("/").filter(Boolean), typed);
  },
  examples: [
    // Fixed: malformed escapes threw URIError ("URI malformed", exit 1) instead of a usage error.
    "http://h/%zz",
    "http://u%zz:p@h/x",
    // Fixed: an encoded slash made "x//.." of this; `.zsync`, NUL and `..` spellings were accepted or re-aimed.
    "http://h/x/%2F..",
    "http://h/demo/.zsync/x",
    "http://h/a%00b",
    "http://h/demo/%2e%2e/etc",
    "http://h/demo/.\t./etc",
    "http://h/demo\\..\\etc",
    "http://h/demo/..\u0000",
  ],
});

const requestArb = fc
  .tuple(pathArb, fc.constantFrom("", "/@@toFS.snarf", "/@@info", "/@@%2e%2e", "/@@x%2Fy", "/"), fc.constantFrom("", "?since=3", "?a=%zz&b", "?x=/../"))
  .map(([path, view, query]) => `/${path}${view}${query}`);
const validRequestArb = fc
  .tuple(fc.array(validNameArb, { maxLength: 4 }), fc.option(fc.constantFrom("toFS.snarf", "info", "log"), { nil: undefined }))
  .map(([names, view]) => viewUrlPath(names.join("/"), view));

fuzzTextParser<ReturnType<typeof parseRequestTarget>>({
  name: "parseRequestTarget",
  parse: parseRequestTarget,
  // Documented: ArchivePathError for a bad path, URIError for bad percent-encoding (both answered 400 bad-path).
  isOwnError: (error) => error instanceof ArchivePathError || error instanceof URIError,
  validArb: validRequestArb,
  noiseArb: requestArb,
  invariant(target, text) {
    assertSafeArchivePath(target.objectPath, "object path");
    // What a client builds from a parsed target reaches the same object and view (protocol
    // paths and the empty view are no objects or views a client asks for: 404 at the server).
    if (isProtocolPath(target.objectPath) || target.view === "") return;
    const again = parseRequestTarget(viewUrlPath(target.objectPath, target.view));
    assert.equal(again.objectPath, target.objectPath);
    assert.equal(again.view, target.view || undefined);
  },
  examples: [
    // Fixed: an encoded slash split a segment in two, or made a view named "x/y".
    "/a%2Fb/@@info",
    "/demo/@@x%2Fy",
    "/%2F..%2Fetc",
    // Fixed: viewUrlPath wrote the view unescaped, so a view "%" made a URL that does not parse.
    "/x/@@%25",
  ],
});
