/**
 * SNARF ("Simple New ARchival Format"), zsync's archive format: a concatenation of records,
 * each an ASCII decimal size, one space, the UTF-8 path, one LF, then exactly `size` bytes.
 * Directory records have size 0 and a path ending in `/`; the root directory is `0 \n`.
 * No header, no trailer. Both directions stream: bodies are never held whole in memory.
 */
import { Readable } from "node:stream";
import { ArchivePathError, checkArchivePath, isProtocolPath } from "./paths.js";

/** Any malformed archive, or a record the encoder cannot write faithfully. */
export class SnarfError extends Error {
  override name = "SnarfError";
}

/** One record to encode. A string body is UTF-8; `size` must equal the body's byte length. */
export type SnarfInput =
  | { kind: "dir"; path: string }
  | {
      kind: "file";
      path: string;
      size: number;
      body: Uint8Array | string | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array>);
    };

/** One decoded record. `path` has no trailing `/`; a directory has size 0 and an empty body. */
export interface SnarfRecord {
  kind: "dir" | "file";
  path: string;
  size: number;
  /** The body's bytes as they arrive; consume it before asking the decoder for the next record. */
  body: AsyncIterable<Buffer>;
}

const LF = 0x0a;
const SPACE = 0x20;
const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Encodes records as a SNARF byte stream. Bodies are read only when their record is written
 * and pulled as the consumer reads (backpressure), so a tree of any size streams through.
 * Each path is validated with {@link checkArchivePath}; a directory "" is the root (`0 \n`).
 * A body yielding more or fewer bytes than its declared `size` makes the stream fail with
 * {@link SnarfError} instead of emitting a corrupt archive.
 *
 * @param opts.sizeWidth zero-pad sizes to this many digits (zsync's server wrote 8);
 *   larger sizes are simply written wider, which every reader accepts.
 */
export function encodeSnarf(
  records: Iterable<SnarfInput> | AsyncIterable<SnarfInput>,
  opts: { sizeWidth?: number } = {},
): Readable {
  return Readable.from(encodeRecords(records, opts.sizeWidth ?? 0), { objectMode: false });
}

/**
 * Records whose bytes are in memory (directories, headers, bodies given as bytes) are gathered
 * into chunks of about this size: a snapshot of thousands of small files is then a few hundred
 * writes to the socket instead of two per file. A body at least this large is passed on as it is.
 */
const GATHER_BYTES = 64 * 1024;

async function* encodeRecords(
  records: Iterable<SnarfInput> | AsyncIterable<SnarfInput>,
  sizeWidth: number,
): AsyncGenerator<Buffer> {
  const header = (size: number, path: string) =>
    Buffer.from(`${String(size).padStart(sizeWidth, "0")} ${path}\n`, "utf8");
  let gathered: Buffer[] = [];
  let gatheredBytes = 0;
  const gather = (bytes: Buffer) => {
    gathered.push(bytes);
    gatheredBytes += bytes.length;
  };
  const flush = (): Buffer => {
    const out = gathered.length === 1 ? gathered[0] : Buffer.concat(gathered, gatheredBytes);
    gathered = [];
    gatheredBytes = 0;
    return out;
  };

  for await (const record of records) {
    checkPathForEncoding(record.path);
    if (record.kind === "dir") {
      gather(header(0, record.path === "" ? "" : record.path + "/"));
    } else {
      const { path, size, body } = record;
      if (path === "") throw new SnarfError("cannot encode a file with the empty (root) path");
      if (!Number.isSafeInteger(size) || size < 0) {
        throw new SnarfError(`invalid size ${size} for ${JSON.stringify(path)}`);
      }
      if (typeof body === "string" || body instanceof Uint8Array) {
        const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : asBuffer(body);
        if (bytes.length !== size) throw sizeMismatch(path, size, bytes.length);
        gather(header(size, path));
        if (size >= GATHER_BYTES) {
          yield flush();
          yield bytes;
        } else if (size > 0) {
          gather(bytes);
        }
      } else {
        gather(header(size, path));
        yield flush();
        let written = 0;
        for await (const chunk of typeof body === "function" ? body() : body) {
          written += chunk.length;
          // Fail before emitting the excess: the stream must never carry bytes of a wrong size.
          if (written > size) throw sizeMismatch(path, size, `at least ${written}`);
          if (chunk.length > 0) yield asBuffer(chunk);
        }
        if (written !== size) throw sizeMismatch(path, size, written);
      }
    }
    if (gatheredBytes >= GATHER_BYTES) yield flush();
  }
  if (gatheredBytes > 0) yield flush();
}

function checkPathForEncoding(path: string): void {
  try {
    checkArchivePath(path);
  } catch (error) {
    if (error instanceof ArchivePathError) throw new SnarfError(`cannot encode: ${error.message}`, { cause: error });
    throw error;
  }
}

function sizeMismatch(path: string, size: number, actual: number | string): SnarfError {
  return new SnarfError(`body of ${JSON.stringify(path)} has ${actual} bytes, declared size is ${size}`);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes a SNARF byte stream, yielding each record as soon as its header is parsed.
 * A record's `body` yields slices of the input chunks as they arrive; consume it before
 * requesting the next record — if you don't, the decoder skips the rest of it itself.
 * Nothing is buffered beyond one header, so bodies of any size (up to
 * `Number.MAX_SAFE_INTEGER`) stream through. A clean end of input at a record boundary
 * ends the generator; everything malformed throws {@link SnarfError}.
 *
 * @param opts.maxHeaderBytes longest accepted header line, without its LF (default 8192)
 * @param opts.maxFileSize largest accepted body size (default unlimited)
 * @param opts.allowProtocolRecords accept `@@zsync/…` records (default true)
 */
export async function* decodeSnarf(
  input: AsyncIterable<Uint8Array>,
  opts: { maxHeaderBytes?: number; maxFileSize?: number; allowProtocolRecords?: boolean } = {},
): AsyncGenerator<SnarfRecord> {
  const maxHeaderBytes = opts.maxHeaderBytes ?? 8192;
  const maxFileSize = opts.maxFileSize ?? Number.MAX_SAFE_INTEGER;
  const allowProtocolRecords = opts.allowProtocolRecords ?? true;

  const source = input[Symbol.asyncIterator]();
  let sourceDone = false;
  /** Unconsumed rest of the current input chunk; `offset` is its position in the archive. */
  let chunk: Buffer = EMPTY;
  let offset = 0;
  /** Body bytes of the current record not yet consumed (by the body or by skipping). */
  let remaining = 0;
  let currentPath = "";
  let currentSize = 0;
  /** Counts records, so a body iterated after the decoder moved on can tell it is stale. */
  let recordIndex = 0;
  let bodyReading = false;

  /** Makes `chunk` non-empty; false at the end of input. */
  async function fill(): Promise<boolean> {
    while (chunk.length === 0 && !sourceDone) {
      const next = await source.next();
      if (next.done) sourceDone = true;
      else if (!(next.value instanceof Uint8Array)) throw new SnarfError(`input chunk at byte ${offset} is not bytes`);
      else chunk = asBuffer(next.value);
    }
    return chunk.length > 0;
  }

  /** Takes up to `remaining` body bytes from the current chunk. */
  async function takeBody(): Promise<Buffer> {
    if (!(await fill())) {
      const got = currentSize - remaining;
      throw new SnarfError(
        `truncated archive: expected ${currentSize} bytes for ${JSON.stringify(currentPath)}, got ${got}`,
      );
    }
    const piece = chunk.subarray(0, Math.min(remaining, chunk.length));
    chunk = chunk.subarray(piece.length);
    offset += piece.length;
    remaining -= piece.length;
    return piece;
  }

  async function* body(index: number, path: string): AsyncGenerator<Buffer> {
    for (;;) {
      if (index !== recordIndex) throw new SnarfError(`body of ${JSON.stringify(path)} read after the decoder moved on`);
      if (remaining === 0) return;
      bodyReading = true;
      let piece: Buffer;
      try {
        piece = await takeBody();
      } finally {
        bodyReading = false;
      }
      yield piece;
    }
  }

  /** Reads one header line (without LF); undefined at a clean end of input. */
  async function readHeaderLine(): Promise<Buffer | undefined> {
    const start = offset;
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      if (!(await fill())) {
        if (length === 0) return undefined;
        throw new SnarfError(`truncated archive: incomplete header at byte ${start}`);
      }
      // Look no further than the limit allows, so a huge LF-less chunk is not scanned whole.
      const window = chunk.subarray(0, maxHeaderBytes - length + 1);
      const lf = window.indexOf(LF);
      const part = lf === -1 ? window : window.subarray(0, lf);
      if (lf === -1 && length + part.length > maxHeaderBytes) {
        throw new SnarfError(`header at byte ${start} is longer than ${maxHeaderBytes} bytes without a line feed`);
      }
      parts.push(part);
      length += part.length;
      const consumed = lf === -1 ? part.length : lf + 1;
      chunk = chunk.subarray(consumed);
      offset += consumed;
      if (lf !== -1) return parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
    }
  }

  try {
    for (;;) {
      if (bodyReading) throw new SnarfError("next record requested while its body is still being read");
      while (remaining > 0) await takeBody(); // skip what the consumer left unread
      const start = offset;
      const line = await readHeaderLine();
      if (line === undefined) return;
      const record = parseHeader(line, start, maxFileSize);
      if (!allowProtocolRecords && isProtocolPath(record.path)) {
        throw new SnarfError(`protocol record ${JSON.stringify(record.path)} not allowed here (header at byte ${start})`);
      }
      currentPath = record.path;
      currentSize = remaining = record.size;
      recordIndex++;
      yield { ...record, body: record.kind === "dir" ? emptyBody() : body(recordIndex, record.path) };
    }
  } finally {
    // Stopped early (error or consumer break): release the input.
    if (!sourceDone) await source.return?.();
  }
}

async function* emptyBody(): AsyncGenerator<Buffer> {}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function parseHeader(
  line: Buffer,
  start: number,
  maxFileSize: number,
): { kind: "dir" | "file"; path: string; size: number } {
  const where = `header at byte ${start}`;
  const space = line.indexOf(SPACE);
  if (space === -1) throw new SnarfError(`${where}: missing space between size and path`);
  const sizeToken = line.subarray(0, space).toString("latin1");
  if (!/^[0-9]+$/.test(sizeToken)) {
    throw new SnarfError(`${where}: size ${JSON.stringify(sizeToken)} is not a decimal number`);
  }
  const size = Number(sizeToken);
  // Anything above MAX_SAFE_INTEGER rounds to at least 2**53, which is not a safe integer.
  if (!Number.isSafeInteger(size)) throw new SnarfError(`${where}: size ${sizeToken} is too large`);

  let rawPath: string;
  try {
    rawPath = utf8.decode(line.subarray(space + 1));
  } catch {
    throw new SnarfError(`${where}: path is not valid UTF-8`);
  }
  const isDir = rawPath === "" || rawPath.endsWith("/");
  const path = isDir ? rawPath.slice(0, -1) : rawPath;
  if (isDir && rawPath !== "" && path === "") {
    throw new SnarfError(`${where}: invalid archive path "/": absolute paths are not allowed`);
  }
  try {
    checkArchivePath(path);
  } catch (error) {
    if (error instanceof ArchivePathError) throw new SnarfError(`${where}: ${error.message}`, { cause: error });
    throw error;
  }
  if (isDir && size !== 0) {
    throw new SnarfError(`${where}: directory record ${JSON.stringify(rawPath)} has non-zero size ${size}`);
  }
  if (size > maxFileSize) {
    throw new SnarfError(`${where}: ${JSON.stringify(path)} is ${size} bytes, more than the limit of ${maxFileSize}`);
  }
  return { kind: isDir ? "dir" : "file", path, size };
}

/**
 * Collects a (small) record body into one Buffer.
 * Throws {@link SnarfError} if it is larger than `maxBytes`.
 */
export async function readRecordBody(record: SnarfRecord, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new SnarfError(`record ${JSON.stringify(record.path)} is larger than the limit of ${maxBytes} bytes`);
  if (record.size > maxBytes) throw tooLarge();
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of record.body) {
    length += part.length;
    if (length > maxBytes) throw tooLarge();
    parts.push(part);
  }
  return Buffer.concat(parts, length);
}
