/**
 * The pristine pack: a new checkout's small BASE copies in one file (`.zsync/pristine/pack`)
 * with a sorted index (`pack.idx`), instead of one file each. Creating a file is most of what a
 * checkout costs (two per file before: the BASE copy and the working file); git's pack is the
 * model. A pack is written once, by the checkout that makes the store, and never changed; later
 * BASE copies are loose files (src/wc/pristine.ts), and a hash may be in both.
 *
 * `pack` is a run of records: the SHA-256 (32 bytes), the size (u32, big-endian), the bytes.
 * It describes itself, so a lost or damaged index is rebuilt from it (`zsync cleanup`).
 * `pack.idx` is: "zsyncpk1", the record count (u32), the pack's length (u48), then per record
 * sorted by hash: hash (32), offset of the bytes (u48), size (u32); then a CRC-32 of all before.
 */
import fs from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { nodeCrypto } from "../protocol/crypto.js";
import { adminPaths, WcError } from "./admin.js";
import { namePathOnDiskFull, uniqueTempPart } from "./atomic.js";

const MAGIC = Buffer.from("zsyncpk1");
const HEAD = MAGIC.length + 4 + 6;
const SLOT = 32 + 6 + 4;
const RECORD_HEAD = 32 + 4;
/**
 * Bodies up to this size are gathered in memory and written at once (src/wc/pristine.ts), and
 * only they go into a pack: the most bytes a record holds.
 */
export const SMALL_BODY = 1 << 20;
/** Bytes gathered before a write to the pack (a checkout's bodies are small). */
const WRITE_CHUNK = 1 << 20;

/** Where a checkout's pack and its index live. */
export function packPaths(root: string): { pack: string; index: string } {
  const store = adminPaths(root).pristine;
  return { pack: join(store, "pack"), index: join(store, "pack.idx") };
}

/** An open pack: its index in memory, its bytes read on demand. */
interface Pack {
  index: Buffer;
  fd: number;
  /** The last bytes read from the pack and where they start (a checkout reads its records nearly in order). */
  window?: { start: number; bytes: Buffer };
}

/** Bytes read from a pack at once: one read serves the small records that follow. */
const READ_WINDOW = 1 << 20;

/** Packs opened, per checkout root (null: none). Forgotten when a command opens a checkout. */
const opened = new Map<string, Pack | null>();

/** Forgets every pack opened so far (a command's start: another process may have changed them). */
export function forgetPacks(): void {
  for (const pack of opened.values()) if (pack) fs.closeSync(pack.fd);
  opened.clear();
}

function damaged(root: string, why: string): WcError {
  return new WcError(
    "corrupt-admin",
    `${packPaths(root).index} is damaged (${why}). Your files are untouched; run \`zsync cleanup\` to rebuild it from the pack.`,
  );
}

function openPack(root: string): Pack | null {
  let pack = opened.get(root);
  if (pack !== undefined) return pack;
  const paths = packPaths(root);
  let index: Buffer;
  try {
    index = fs.readFileSync(paths.index);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    opened.set(root, null);
    return null;
  }
  const count = index.length >= HEAD ? index.readUInt32BE(MAGIC.length) : -1;
  if (index.length < HEAD + 4 || !index.subarray(0, MAGIC.length).equals(MAGIC) || index.length !== HEAD + count * SLOT + 4) {
    throw damaged(root, "not a pack index, or cut short");
  }
  if (crc32(index.subarray(0, index.length - 4)) !== index.readUInt32BE(index.length - 4)) throw damaged(root, "checksum mismatch");
  let fd: number;
  try {
    fd = fs.openSync(paths.pack, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw damaged(root, "its pack is missing");
    throw error;
  }
  if (fs.fstatSync(fd).size !== index.readUIntBE(MAGIC.length + 4, 6)) {
    fs.closeSync(fd);
    throw damaged(root, "the pack's length differs from the one it records");
  }
  pack = { index, fd };
  opened.set(root, pack);
  return pack;
}

/** Where the bytes of `hash` are in the pack of `root`, or undefined. */
function find(root: string, hash: string): { pack: Pack; offset: number; size: number } | undefined {
  const pack = openPack(root);
  if (!pack || !/^[0-9a-f]{64}$/.test(hash)) return undefined;
  const key = Buffer.from(hash, "hex");
  let lo = 0;
  let hi = (pack.index.length - HEAD - 4) / SLOT - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = HEAD + mid * SLOT;
    const order = pack.index.compare(key, 0, 32, at, at + 32);
    if (order === 0) return { pack, offset: pack.index.readUIntBE(at + 32, 6), size: pack.index.readUInt32BE(at + 38) };
    // compare() orders the index's slot against the key: a slot above the key means look lower.
    if (order > 0) hi = mid - 1;
    else lo = mid + 1;
  }
  return undefined;
}

/** The size of `hash` in the pack of `root`, or undefined when the pack does not hold it. */
export function packedSize(root: string, hash: string): number | undefined {
  return find(root, hash)?.size;
}

/** The bytes of `hash` from the pack of `root`, or undefined when the pack does not hold it. */
export function readPacked(root: string, hash: string): Buffer | undefined {
  const found = find(root, hash);
  if (!found) return undefined;
  const { pack, offset, size } = found;
  const window = pack.window;
  if (window && offset >= window.start && offset + size <= window.start + window.bytes.length) {
    return window.bytes.subarray(offset - window.start, offset - window.start + size);
  }
  // Reading on from the last window (as a checkout does): a window; a jump elsewhere (a revert
  // of a few files): the record alone. A new buffer each time, so slices handed out stay valid.
  const onward = !window || (offset >= window.start && offset < window.start + window.bytes.length + READ_WINDOW);
  const bytes = Buffer.allocUnsafe(onward ? Math.max(size, READ_WINDOW) : size);
  const done = readUpTo(pack.fd, bytes, offset);
  if (done < size) throw damaged(root, "the pack ends inside a record");
  pack.window = { start: offset, bytes: bytes.subarray(0, done) };
  return bytes.subarray(0, size);
}

/**
 * Writes a new checkout's pack, body by body, in `.zsync/tmp/`; `finish` puts it in place (the
 * pack, then its index: an index is only ever next to its whole pack). Not fsynced, like the
 * files a new checkout writes: a kill leaves the checkout marked incomplete, and the update that
 * finishes it stores every body again as a loose copy.
 */
export class PackWriter {
  private readonly temp: string;
  private readonly fd: number;
  private readonly slots = new Map<string, { offset: number; size: number }>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private length = 0;

  constructor(private readonly root: string) {
    const { tmp } = adminPaths(root);
    fs.mkdirSync(tmp, { recursive: true });
    // "in-": a partial download, which the next command to open the checkout removes.
    this.temp = join(tmp, `in-pack-${uniqueTempPart()}`);
    this.fd = fs.openSync(this.temp, "wx");
  }

  /** Adds the bytes of `hash` (already checked by the caller); the same hash twice is stored once. */
  add(hash: string, data: Uint8Array): void {
    if (data.length > SMALL_BODY) throw new Error(`zsync: a body of ${data.length} bytes is too large for the pristine pack`);
    if (this.slots.has(hash)) return;
    const head = Buffer.allocUnsafe(RECORD_HEAD);
    head.write(hash, 0, 32, "hex");
    head.writeUInt32BE(data.length, 32);
    this.slots.set(hash, { offset: this.length + RECORD_HEAD, size: data.length });
    this.length += RECORD_HEAD + data.length;
    this.pending.push(head, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.pendingBytes += RECORD_HEAD + data.length;
    if (this.pendingBytes >= WRITE_CHUNK) this.flush();
  }

  private flush(): void {
    try {
      fs.writevSync(this.fd, this.pending);
    } catch (error) {
      throw namePathOnDiskFull(error, this.temp);
    }
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Puts the pack and its index in place; nothing when no body was added. */
  finish(): void {
    if (this.pendingBytes > 0) this.flush();
    fs.closeSync(this.fd);
    if (this.slots.size === 0) {
      fs.rmSync(this.temp, { force: true });
      return;
    }
    const index = encodeIndex([...this.slots].map(([hash, slot]) => ({ hash, ...slot })), this.length);
    const paths = packPaths(this.root);
    const indexTemp = `${this.temp}.idx`;
    try {
      fs.writeFileSync(indexTemp, index, { flag: "wx" });
      fs.renameSync(this.temp, paths.pack);
      fs.renameSync(indexTemp, paths.index);
    } catch (error) {
      throw namePathOnDiskFull(error, paths.index);
    }
    opened.delete(this.root);
  }

  /** Removes the unfinished pack (a failed receive). */
  abandon(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed by finish
    }
    fs.rmSync(this.temp, { force: true });
  }
}

function encodeIndex(slots: { hash: string; offset: number; size: number }[], packLength: number): Buffer {
  slots.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const index = Buffer.alloc(HEAD + slots.length * SLOT + 4);
  MAGIC.copy(index);
  index.writeUInt32BE(slots.length, MAGIC.length);
  index.writeUIntBE(packLength, MAGIC.length + 4, 6);
  let at = HEAD;
  for (const slot of slots) {
    index.write(slot.hash, at, 32, "hex");
    index.writeUIntBE(slot.offset, at + 32, 6);
    index.writeUInt32BE(slot.size, at + 38);
    at += SLOT;
  }
  index.writeUInt32BE(crc32(index.subarray(0, at)), at);
  return index;
}

/** What {@link rebuildPackIndex} found. */
export interface PackRebuild {
  /** Records whose bytes match their hash, now in the index. */
  kept: number;
  /** Records whose bytes do not match their hash, or a cut-off end: left out. */
  dropped: number;
}

/**
 * Checks the pack of `root` and rebuilds its index from the pack's own records when the index
 * is missing or damaged: every record's bytes are checked against its hash, and a damaged or
 * cut-off record is left out (that BASE copy is then missing, as a deleted loose copy would be).
 * An index whose pack is gone is removed. Undefined when there is no pack, or its index is sound.
 */
export function rebuildPackIndex(root: string): PackRebuild | undefined {
  const paths = packPaths(root);
  if (!fs.existsSync(paths.pack)) {
    // An index without its pack: the copies it listed are gone; without it, they are missing.
    const index = fs.existsSync(paths.index) ? fs.readFileSync(paths.index) : undefined;
    if (!index) return undefined;
    fs.rmSync(paths.index);
    forgetPacks();
    const count = index.length >= HEAD && index.subarray(0, MAGIC.length).equals(MAGIC) ? index.readUInt32BE(MAGIC.length) : 0;
    return { kept: 0, dropped: count };
  }
  try {
    forgetPacks();
    if (openPack(root)) return undefined;
  } catch (error) {
    if (!(error instanceof WcError) || error.code !== "corrupt-admin") throw error;
  }
  forgetPacks();
  // Read record by record: a pack may be larger than one Buffer can hold.
  const fd = fs.openSync(paths.pack, "r");
  const slots: { hash: string; offset: number; size: number }[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  let length: number;
  try {
    length = fs.fstatSync(fd).size;
    for (const record of packRecords(fd, length)) {
      if (!record.bytes) dropped++;
      else if (nodeCrypto().createHash("sha256").update(record.bytes).digest("hex") !== record.hash) dropped++;
      else if (!seen.has(record.hash)) {
        slots.push({ hash: record.hash, offset: record.offset, size: record.bytes.length });
        seen.add(record.hash);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  const temp = join(adminPaths(root).tmp, `pack-idx-${uniqueTempPart()}`);
  fs.mkdirSync(adminPaths(root).tmp, { recursive: true });
  fs.writeFileSync(temp, encodeIndex(slots, length));
  fs.renameSync(temp, paths.index);
  return { kept: slots.length, dropped };
}

/**
 * The records of the pack open as `fd` (`length` bytes), in order, as they say they are (their
 * hashes are not checked here). The last one has no `bytes` when the pack ends inside it, or
 * when its size is more than a record can hold (a damaged size: nothing after it can be found).
 */
export function* packRecords(fd: number, length: number): Generator<{ hash: string; offset: number; bytes?: Buffer }> {
  const head = Buffer.alloc(RECORD_HEAD);
  let at = 0;
  while (at < length) {
    if (at + RECORD_HEAD > length) {
      yield { hash: "", offset: at };
      return;
    }
    readExactly(fd, head, at);
    const hash = head.toString("hex", 0, 32);
    const size = head.readUInt32BE(32);
    const offset = at + RECORD_HEAD;
    if (size > SMALL_BODY || offset + size > length) {
      yield { hash, offset };
      return;
    }
    const bytes = Buffer.allocUnsafe(size);
    readExactly(fd, bytes, offset);
    yield { hash, offset, bytes };
    at = offset + size;
  }
}

/** Fills `into` from `position` on, or as much as the file holds; the count of bytes read. */
function readUpTo(fd: number, into: Buffer, position: number): number {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function readExactly(fd: number, into: Buffer, position: number): void {
  if (readUpTo(fd, into, position) < into.length) throw new Error(`the pack ended while being read at ${position}`);
}
