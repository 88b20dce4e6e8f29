/**
 * Deciding whether content is text that may be three-way merged, or binary that never is
 * (pure: no I/O). Binary concurrent changes become conflicts with artifacts instead.
 */

/** How many leading bytes {@link looksBinary} inspects (git's heuristic window). */
export const BINARY_SNIFF_BYTES = 8000;

/**
 * True when the content looks binary: a NUL byte in the first {@link BINARY_SNIFF_BYTES} bytes
 * (as git decides), or bytes in that window that are not valid UTF-8. A multi-byte character cut
 * by the end of the window does not count as invalid; one cut by the end of the content does.
 * The empty content is text.
 */
export function looksBinary(bytes: Uint8Array): boolean {
  const window = bytes.subarray(0, BINARY_SNIFF_BYTES);
  if (window.includes(0)) return true;
  const truncated = bytes.length > BINARY_SNIFF_BYTES;
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(window, { stream: truncated });
    return false;
  } catch {
    return true;
  }
}

/**
 * What a content type says about text-ness, ignoring parameters (`; charset=…`) and case:
 * `true` for `text/*`, `application/json`, `application/xml`, `application/javascript` (and
 * `application/ecmascript`, `application/x-javascript`, `application/yaml`, `application/x-yaml`)
 * and any `…+xml` / `…+json` type (so `image/svg+xml` is text); `false` for `image/*`, `audio/*`,
 * `video/*`, `font/*`, `application/octet-stream`, `application/pdf`, `application/zip` and
 * `application/gzip`; `undefined` for anything else or no type, meaning "decide by content".
 */
export function isTextContentType(contentType: string | undefined): boolean | undefined {
  if (contentType === undefined) return undefined;
  const essence = contentType.split(";", 1)[0]!.trim().toLowerCase();
  if (essence === "") return undefined;
  const slash = essence.indexOf("/");
  if (slash <= 0) return undefined;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (type === "text") return true;
  if (subtype.endsWith("+xml") || subtype.endsWith("+json")) return true;
  if (type === "application" && TEXT_APPLICATION_SUBTYPES.has(subtype)) return true;
  if (BINARY_TOP_LEVEL_TYPES.has(type)) return false;
  if (type === "application" && BINARY_APPLICATION_SUBTYPES.has(subtype)) return false;
  return undefined;
}

const TEXT_APPLICATION_SUBTYPES = new Set([
  "json",
  "xml",
  "javascript",
  "ecmascript",
  "x-javascript",
  "yaml",
  "x-yaml",
]);
const BINARY_TOP_LEVEL_TYPES = new Set(["image", "audio", "video", "font"]);
const BINARY_APPLICATION_SUBTYPES = new Set(["octet-stream", "pdf", "zip", "gzip"]);

/**
 * Decodes UTF-8 without losing a byte: a leading byte order mark is kept (as U+FEFF), and invalid
 * UTF-8 anywhere gives `undefined` instead of replacement characters. Encoding the result with
 * `TextEncoder` gives back exactly `bytes`.
 */
export function decodeUtf8Exactly(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Whether the versions of one file may be text-merged: never when the content type says binary;
 * when it says nothing, only if no version {@link looksBinary}; and in every case only if every
 * version is entirely valid UTF-8, so that decoding, merging and encoding again cannot change a
 * byte outside the merged regions.
 */
export function canMergeAsText(contentType: string | undefined, versions: readonly Uint8Array[]): boolean {
  const declared = isTextContentType(contentType);
  if (declared === false) return false;
  for (const bytes of versions) {
    if (declared === undefined && looksBinary(bytes)) return false;
    if (decodeUtf8Exactly(bytes) === undefined) return false;
  }
  return true;
}
