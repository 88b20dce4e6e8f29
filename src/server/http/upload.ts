/**
 * Receives a SNARF request body: the manifest record, then file bodies streamed to temp files
 * (hashed on the way) so that nothing large is ever held in memory and nothing reaches the
 * store until the whole body has arrived intact.
 */
import { createHash, randomBytes } from "node:crypto";
import type { EventEmitter } from "node:events";
import { createWriteStream, fdatasync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { ManifestError } from "../../protocol/manifest.js";
import { ArchivePathError } from "../../protocol/paths.js";
import { decodeSnarf, readRecordBody, SnarfError } from "../../protocol/snarf.js";
import { MANIFEST_RECORD, SNARF_MEDIA_TYPE } from "../../protocol/types.js";
import type { RequestContext } from "./context.js";
import { HttpError } from "./errors.js";

/** Write buffer of the staging files (8 MiB). */
const UPLOAD_WRITE_BUFFER = 8 << 20;

/**
 * A staged body's bytes are flushed to disk in the background each time this many more have
 * been written (one flush at a time). The SQLite store keeps a large staged file as the blob
 * and fsyncs it before it commits; flushed while the body arrives, that fsync finds little
 * left to write instead of the whole file (a 1 GiB commit: ~0.3–1.3 s less in 6 alternating
 * runs, this machine). PostgreSQL copies the file into the database and deletes it: there the
 * flush writes a temp file to disk for nothing, in the background.
 */
export const FLUSH_EVERY = 64 << 20;

/** A file body that arrived and sits in a temp file. */
export interface StagedFile {
  path: string;
  hash: string;
  size: number;
  file: string;
}

/** What a SNARF upload contained. */
export interface ReceivedArchive {
  manifest?: unknown;
  files: Map<string, StagedFile>;
  dirs: string[];
  /** Removes the temp files; always call it. */
  cleanup(): Promise<void>;
}

/**
 * Reads and stages a SNARF request body, enforcing the configured limits. `onManifest` sees the
 * manifest before any file body is read, so a refused request (bad manifest, no permission)
 * stages nothing.
 */
export async function receiveArchive(ctx: RequestContext, opts: { onManifest?: (manifest: unknown) => void } = {}): Promise<ReceivedArchive> {
  const { req, limits } = ctx;
  const contentType = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (contentType !== SNARF_MEDIA_TYPE) {
    throw new HttpError(415, "unsupported-media-type", `request body must be ${SNARF_MEDIA_TYPE}, got ${contentType || "nothing"}`);
  }
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > limits.maxBodyBytes) {
    throw new HttpError(413, "too-large", `request body of ${declared} bytes exceeds the limit of ${limits.maxBodyBytes} bytes`);
  }

  const received: ReceivedArchive = {
    files: new Map(),
    dirs: [],
    async cleanup() {
      await Promise.all([...received.files.values()].map((staged) => rm(staged.file, { force: true })));
    },
  };
  try {
    let first = true;
    for await (const record of decodeSnarf(limitedBody(ctx))) {
      if (first && record.path === MANIFEST_RECORD) {
        const text = (await readRecordBody(record, limits.maxManifestBytes)).toString("utf8");
        try {
          received.manifest = JSON.parse(text);
        } catch {
          throw new HttpError(400, "bad-manifest", "manifest record is not valid JSON");
        }
        opts.onManifest?.(received.manifest);
      } else if (record.path.startsWith("@@")) {
        throw new HttpError(400, "bad-archive", `unexpected protocol record ${record.path}`);
      } else if (record.kind === "dir") {
        received.dirs.push(record.path);
      } else {
        if (received.files.has(record.path)) throw new HttpError(400, "bad-archive", `file ${record.path} appears twice`);
        received.files.set(record.path, await stageBody(ctx, record.path, record.body));
      }
      first = false;
    }
  } catch (error) {
    await received.cleanup();
    throw asClientError(error);
  }
  return received;
}

async function stageBody(ctx: RequestContext, path: string, body: AsyncIterable<Buffer>): Promise<StagedFile> {
  const file = join(ctx.tempDir, `upload-${randomBytes(12).toString("hex")}`);
  const staged: StagedFile = { path, hash: "", size: 0, file };
  const hash = createHash("sha256");
  // A large write buffer: a big body goes to disk in few large writes.
  const out = createWriteStream(file, { highWaterMark: UPLOAD_WRITE_BUFFER });
  const flusher = backgroundFlusher(out);
  try {
    // pipeline: a write error (ENOSPC) rejects here instead of becoming an unhandled 'error' event.
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          staged.size += chunk.length;
          flusher.wrote(chunk.length);
          yield chunk;
        }
      },
      out,
    );
  } catch (error) {
    await flusher.settled();
    await rm(file, { force: true });
    throw error;
  }
  await flusher.settled();
  staged.hash = hash.digest("hex");
  return staged;
}

/**
 * Flushes the file that `out` (a file write stream) writes to disk in the background, every
 * {@link FLUSH_EVERY} bytes written, one flush at a time. Only a hint: a failed flush is ignored
 * (the store's own fsync reports a disk error), and a flush still running when the stream closes
 * its descriptor at worst fails or flushes some other file. `flush` is for tests.
 */
export function backgroundFlusher(
  out: EventEmitter,
  flush: (fd: number, done: () => void) => void = (fd, done) => fdatasync(fd, () => done()),
): { wrote(bytes: number): void; settled(): Promise<void> } {
  let fd: number | undefined;
  out.once("open", (opened: number) => (fd = opened));
  out.once("close", () => (fd = undefined));
  let unflushed = 0;
  let flushing: Promise<void> | undefined;
  return {
    wrote(bytes) {
      unflushed += bytes;
      if (unflushed < FLUSH_EVERY || flushing || fd === undefined) return;
      unflushed = 0;
      const started = fd;
      flushing = new Promise<void>((resolve) => flush(started, resolve)).then(() => {
        flushing = undefined;
      });
    },
    settled: async () => {
      await flushing;
    },
  };
}

/** The request body, failing with 413 once it passes the limit (chunked bodies have no length). */
async function* limitedBody(ctx: RequestContext): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > ctx.limits.maxBodyBytes) {
      throw new HttpError(413, "too-large", `request body exceeds the limit of ${ctx.limits.maxBodyBytes} bytes`);
    }
    yield chunk;
  }
}

/** Maps decoder and validation errors to 400 answers. */
export function asClientError(error: unknown): unknown {
  if (error instanceof SnarfError) return new HttpError(400, "bad-archive", error.message);
  if (error instanceof ArchivePathError) return new HttpError(400, "bad-path", error.message);
  if (error instanceof ManifestError) return new HttpError(400, "bad-manifest", error.message);
  return error;
}
