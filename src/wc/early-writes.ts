/**
 * A new checkout's working files, created on a worker thread while the snapshot is still being
 * received. A checkout is bound by creating its files (~50–350 µs each in the kernel on the VM
 * this was measured on, most of a 20k checkout), and receiving its bodies (parsing, hashing,
 * the pack) keeps this thread busy meanwhile: on two threads the two overlap.
 *
 * This is only a head start for the journal, which stays the one place that decides: a `write`
 * step of a new file whose path the worker created with the same content is done (its stat was
 * taken as it was written), and every other step runs as before. The worker creates a file only
 * where nothing is (O_EXCL) and only in folders it made or found to be real folders, so it never
 * replaces or follows anything. Whatever it could not do (a name taken, a full disk, a worker
 * that failed) is left to the journal, which writes or moves aside as ever. A killed checkout
 * leaves these files as the journal's own writes would: the `update` that finishes it finds them
 * whole (or completes a prefix) and keeps them.
 */
import { lstatSync, rmdirSync, unlinkSync, type BigIntStats } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type * as WorkerThreads from "node:worker_threads";

/** A file the worker created, with the content it holds and its stat taken right after. */
export interface EarlyFile extends Pick<BigIntStats, "size" | "ino" | "mtimeNs"> {
  hash: string;
}

/** Smaller checkouts are written by the journal alone: a worker costs ~30 ms of start-up. */
export const EARLY_WRITE_MIN_FILES = 100;
/** Bodies are sent to the worker in batches of about this many bytes (or {@link BATCH_FILES}). */
const BATCH_BYTES = 1 << 20;
const BATCH_FILES = 512;
/** Receiving waits while the worker has this many bytes still to write (memory stays bounded). */
const MAX_IN_FLIGHT = 32 << 20;

/**
 * The worker, as source text (run with `eval`: the client is one bundle). A message is a batch:
 * paths, the end offset of each body in `bytes`, and `bytes`; the answer says per path whether
 * the file was created whole (1) with its size, inode and mtime, and which folders it made.
 * A file it created but could not fill is removed again: it was made a moment ago, by it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { closeSync, fstatSync, lstatSync, mkdirSync, openSync, unlinkSync, writeSync } = require("node:fs");
const root = workerData.root;
const ready = new Map([["", true]]);
let made = [];
function folderReady(dir) {
  let ok = ready.get(dir);
  if (ok !== undefined) return ok;
  const cut = dir.lastIndexOf("/");
  ok = folderReady(cut < 0 ? "" : dir.slice(0, cut));
  if (ok) {
    try {
      mkdirSync(root + "/" + dir);
      made.push(dir);
    } catch (error) {
      try {
        ok = error.code === "EEXIST" && lstatSync(root + "/" + dir).isDirectory();
      } catch {
        ok = false;
      }
    }
  }
  ready.set(dir, ok);
  return ok;
}
function create(absolute, data, start, end, stats, i) {
  let fd;
  try {
    fd = openSync(absolute, "wx");
  } catch {
    return 0;
  }
  let whole = false;
  try {
    for (let at = start; at < end; ) at += writeSync(fd, data, at, end - at);
    const s = fstatSync(fd, { bigint: true });
    stats[3 * i] = s.size;
    stats[3 * i + 1] = s.ino;
    stats[3 * i + 2] = s.mtimeNs;
    whole = true;
  } catch {}
  try {
    closeSync(fd);
  } catch {
    whole = false;
  }
  if (!whole) {
    try {
      unlinkSync(absolute);
    } catch {}
  }
  return whole ? 1 : 0;
}
parentPort.on("message", ({ seq, paths, ends, bytes }) => {
  const data = Buffer.from(bytes);
  const done = new Uint8Array(paths.length);
  const stats = new BigInt64Array(3 * paths.length);
  let start = 0;
  for (let i = 0; i < paths.length; i++) {
    const path = paths[i];
    const cut = path.lastIndexOf("/");
    if (folderReady(cut < 0 ? "" : path.slice(0, cut))) done[i] = create(root + "/" + path, data, start, ends[i], stats, i);
    start = ends[i];
  }
  const folders = made;
  made = [];
  parentPort.postMessage({ seq, done, stats, folders }, [done.buffer, stats.buffer]);
});
for (const folder of workerData.folders) folderReady(folder);
`;

interface Batch {
  paths: string[];
  hashes: string[];
  bytes: number;
}

/** Creates a new checkout's working files on a worker thread as their bodies arrive. */
export class EarlyWriter {
  readonly #root: string;
  readonly #folders: string[];
  #worker: WorkerThreads.Worker | undefined;
  #paths: string[] = [];
  #hashes: string[] = [];
  #bodies: Uint8Array[] = [];
  #batchBytes = 0;
  #seq = 0;
  readonly #sent = new Map<number, Batch>();
  #inFlight = 0;
  #wake: (() => void) | undefined;
  #stopped = false;
  readonly #written = new Map<string, EarlyFile>();
  /** Folders the worker made, parents first. */
  readonly #made: string[] = [];

  private constructor(root: string, folders: string[]) {
    this.#root = root;
    this.#folders = folders;
  }

  /**
   * A writer for a new checkout in `root` of `files` files (undefined below
   * {@link EARLY_WRITE_MIN_FILES}). Its worker starts with the first file, by which time the
   * snapshot's paths have been checked; it first makes `folders` (parents first), then the files'
   * in the order they come. Making every folder before any file, as the journal does, matters:
   * ext4 skips the inodes of files deleted in the last minute or more when it picks one for a
   * new file, and folders made as their first file arrives placed a 20k checkout made right after
   * deleting another where this cost ~5 s more.
   */
  static forCheckout(root: string, files: number, folders: string[]): EarlyWriter | undefined {
    return files < EARLY_WRITE_MIN_FILES ? undefined : new EarlyWriter(root, folders);
  }

  /** The worker, started on first use; undefined when it cannot start (the journal then writes everything). */
  #started(): WorkerThreads.Worker | undefined {
    if (this.#worker || this.#stopped) return this.#worker;
    try {
      // Loaded here, not at start-up: no other command needs it.
      const { Worker } = createRequire(import.meta.url)("node:worker_threads") as typeof WorkerThreads;
      this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { root: this.#root, folders: this.#folders } });
    } catch {
      this.#stopped = true;
      return undefined;
    }
    this.#worker.on("message", (answer: { seq: number; done: Uint8Array; stats: BigInt64Array; folders: string[] }) => this.#answered(answer));
    // A worker that fails leaves the rest to the journal; files it made without saying so are
    // found there (whole: kept; a prefix: completed).
    const stop = () => {
      this.#stopped = true;
      this.#sent.clear();
      this.#inFlight = 0;
      this.#wake?.();
    };
    this.#worker.on("error", stop);
    this.#worker.on("exit", stop);
    return this.#worker;
  }

  /**
   * Queues the working file `path` (relative, already checked safe) holding `data`, whose hash is
   * `hash`. Returns a promise to wait for when the worker is too far behind.
   */
  add(path: string, hash: string, data: Uint8Array): Promise<void> | undefined {
    if (this.#stopped) return undefined;
    this.#paths.push(path);
    this.#hashes.push(hash);
    this.#bodies.push(data);
    this.#batchBytes += data.length;
    if (this.#batchBytes >= BATCH_BYTES || this.#paths.length >= BATCH_FILES) this.#send();
    return this.#inFlight > MAX_IN_FLIGHT ? this.#drained(MAX_IN_FLIGHT) : undefined;
  }

  /**
   * Waits for the worker to write everything queued and stops it. Returns the files it created,
   * by path: the journal takes out each one a step of the same content accounts for.
   */
  async finish(): Promise<Map<string, EarlyFile>> {
    this.#send();
    await this.#drained(0);
    this.#stopped = true;
    await this.#worker?.terminate();
    return this.#written;
  }

  /**
   * Removes the files still in {@link finish}'s map (those no step took) that are exactly as the
   * worker wrote them (same inode, size and mtime), so only its own writes ever go.
   */
  removeUntaken(): void {
    for (const [path, file] of this.#written) {
      const now = lstatSync(join(this.#root, path), { bigint: true, throwIfNoEntry: false });
      if (now?.isFile() && now.ino === file.ino && now.size === file.size && now.mtimeNs === file.mtimeNs) unlinkSync(join(this.#root, path));
    }
    this.#written.clear();
  }

  /** Undoes a checkout that failed before its journal: its files as written, then its folders left empty. */
  async undo(): Promise<void> {
    await this.finish();
    this.removeUntaken();
    for (const folder of [...this.#made].reverse()) {
      try {
        rmdirSync(join(this.#root, folder));
      } catch {
        // Not empty (something else is in it) or already gone: it stays.
      }
    }
  }

  #send(): void {
    if (this.#paths.length === 0) return;
    const worker = this.#started();
    if (!worker) {
      this.#paths = [];
      this.#hashes = [];
      this.#bodies = [];
      this.#batchBytes = 0;
      return;
    }
    // One buffer of its own per batch, moved to the worker without a copy (a body may be a view of
    // a larger chunk of the response, which must not be sent whole or taken away).
    const bytes = new Uint8Array(this.#batchBytes);
    const ends: number[] = [];
    let at = 0;
    for (const body of this.#bodies) {
      bytes.set(body, at);
      ends.push((at += body.length));
    }
    const seq = this.#seq++;
    this.#sent.set(seq, { paths: this.#paths, hashes: this.#hashes, bytes: this.#batchBytes });
    this.#inFlight += this.#batchBytes;
    worker.postMessage({ seq, paths: this.#paths, ends, bytes: bytes.buffer }, [bytes.buffer]);
    this.#paths = [];
    this.#hashes = [];
    this.#bodies = [];
    this.#batchBytes = 0;
  }

  #answered({ seq, done, stats, folders }: { seq: number; done: Uint8Array; stats: BigInt64Array; folders: string[] }): void {
    const batch = this.#sent.get(seq);
    this.#made.push(...folders);
    if (!batch) return;
    this.#sent.delete(seq);
    for (let i = 0; i < batch.paths.length; i++) {
      if (done[i] === 1) this.#written.set(batch.paths[i], { hash: batch.hashes[i], size: stats[3 * i], ino: stats[3 * i + 1], mtimeNs: stats[3 * i + 2] });
    }
    this.#inFlight -= batch.bytes;
    this.#wake?.();
  }

  /** Resolves once at most `bytes` are still to be written (at once when the worker stopped). */
  async #drained(bytes: number): Promise<void> {
    while (!this.#stopped && (this.#inFlight > bytes || (bytes === 0 && this.#sent.size > 0))) {
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}
