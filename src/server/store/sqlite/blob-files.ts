/**
 * Large blobs of the SQLite store as content-addressed files beside the database:
 * `<db>-blobs/ab/<hash>`, with `staging/` for files being written and `trash/` for files being
 * deleted. A file is written (or hard-linked) in `staging/`, fsynced, and renamed into place
 * inside the write transaction that inserts its `blobs` row, and moved to `trash/` inside the
 * transaction that deletes the row; so under SQLite's write lock the rows and the files always
 * agree, and a crash leaves at worst a file with no row (harmless, removed by gc), a staging file
 * (removed at open) or a trash file (put back or deleted at open, as its row says).
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { copyFile, link, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { CHUNK_SIZE } from "../rows.js";

/** Blobs larger than this (more than one chunk) are stored as files. */
export const FILE_BLOB_MIN = CHUNK_SIZE + 1;

/** Staging files are named `<pid>-<random>`: a file of a process no longer running is a leftover. */
const STAGING_NAME = /^(\d+)-[0-9a-f]+$/;
const HASH_NAME = /^[0-9a-f]{64}$/;

/** The blob folder of one database file. */
export class BlobFiles {
  readonly staging: string;
  readonly trash: string;
  private readonly made = new Set<string>();

  constructor(readonly dir: string) {
    this.staging = join(dir, "staging");
    this.trash = join(dir, "trash");
  }

  /** The folder beside the database `file`. */
  static beside(file: string): BlobFiles {
    return new BlobFiles(`${file}-blobs`);
  }

  /** Where blob `hash` lives. */
  pathOf(hash: string): string {
    return join(this.dir, hash.slice(0, 2), hash);
  }

  private mkdirSync(dir: string): void {
    if (this.made.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    this.made.add(dir);
  }

  /** A new staging file name (the folder exists on return). */
  stagingName(): string {
    this.mkdirSync(this.staging);
    return join(this.staging, `${process.pid}-${randomBytes(8).toString("hex")}`);
  }

  /**
   * Puts the `size` bytes of `file` in a new staging file, durably (fsync), and returns its
   * name. With `take`, the caller gives the file away and it is hard-linked instead of copied
   * (when the two are on one file system).
   */
  async stage(file: string, size: number, take: boolean): Promise<string> {
    const staged = this.stagingName();
    try {
      let linked = false;
      if (take) linked = await link(file, staged).then(() => true, () => false);
      if (!linked) await copyFile(file, staged, fs.constants.COPYFILE_EXCL);
      const handle = await open(staged, "r");
      try {
        const actual = (await handle.stat()).size;
        if (actual !== size) throw new Error(`file ${file} has ${actual} bytes, expected ${size}`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return staged;
    } catch (error) {
      await rm(staged, { force: true });
      throw error;
    }
  }

  /** Renames a staged (fsynced) file into place as blob `hash` and makes the rename durable. Synchronous: runs inside a write transaction. */
  placeSync(staged: string, hash: string): void {
    const target = this.pathOf(hash);
    const dir = join(this.dir, hash.slice(0, 2));
    this.mkdirSync(dir);
    fs.renameSync(staged, target);
    syncDirSync(dir);
  }

  /** Moves blob `hash`'s file to the trash (inside the transaction deleting its row); false when it has none. */
  trashSync(hash: string): boolean {
    this.mkdirSync(this.trash);
    try {
      fs.renameSync(this.pathOf(hash), join(this.trash, hash));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
  }

  /** Puts trashed files back (their transaction did not commit). */
  untrashSync(hashes: string[]): void {
    for (const hash of hashes) {
      this.mkdirSync(join(this.dir, hash.slice(0, 2)));
      fs.renameSync(join(this.trash, hash), this.pathOf(hash));
    }
  }

  /** Deletes trashed files (their rows are gone for good). */
  async emptyTrash(hashes: string[]): Promise<void> {
    for (const hash of hashes) await rm(join(this.trash, hash), { force: true });
  }

  /** Hashes in the trash folder. */
  trashedSync(): string[] {
    return listSync(this.trash).filter((name) => HASH_NAME.test(name));
  }

  /** Hashes of all blob files in place. */
  placedSync(): string[] {
    const hashes: string[] = [];
    for (const sub of listSync(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      for (const name of listSync(join(this.dir, sub))) if (HASH_NAME.test(name) && name.startsWith(sub)) hashes.push(name);
    }
    return hashes;
  }

  /**
   * Removes staging files whose writing process is gone (a crash or kill during an upload);
   * files of running processes (this one included) are left alone.
   */
  async removeStaleStaging(): Promise<number> {
    let removed = 0;
    for (const name of listSync(this.staging)) {
      const m = STAGING_NAME.exec(name);
      if (m && isRunning(Number(m[1]))) continue;
      await rm(join(this.staging, name), { force: true });
      removed++;
    }
    return removed;
  }

  /** Size of blob `hash`'s file, or undefined when it is missing. */
  async sizeOf(hash: string): Promise<number | undefined> {
    return stat(this.pathOf(hash)).then((s) => s.size, () => undefined);
  }
}

function listSync(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** fsync of a folder, so a rename in it survives a crash. */
function syncDirSync(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
