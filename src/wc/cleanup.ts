/**
 * `cleanup`: opening the checkout with the lock already took over a lock left by a dead process
 * and finished an interrupted command from its journal; this removes what such a command may
 * have left besides: temp files of atomic writes (`.NAME.zsync-tmp-XXXX`, anywhere in the
 * checkout) and `.zsync/tmp/*`. Symlinks are never followed.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { adminPaths, findWorkingCopy } from "./admin.js";
import { replayJournal, type JournalReport } from "./journal.js";
import type { WorkingCopy } from "./session.js";

/** Names our atomic writes give their temp files (src/wc/atomic.ts). */
const TEMP_FILE = /\.zsync-tmp-[0-9a-f]+$/;

export interface CleanupOptions {
  /** The command whose journal was pending when cleanup started (see {@link pendingJournal}). */
  interrupted?: string;
}

export interface CleanupResult {
  /** The interrupted command that was finished, if any. */
  finished?: string;
  /** Files that had changed under the interrupted command and were moved aside. */
  savedAside: JournalReport["savedAside"];
  /** Temp files and folders removed, relative to the root. */
  removed: string[];
}

/**
 * Reads the command name of a pending journal of the checkout containing `start`, before the
 * checkout is opened (opening with the lock replays it). Undefined when there is none.
 */
export async function pendingJournal(start: string): Promise<string | undefined> {
  try {
    const root = await findWorkingCopy(start);
    const journal = JSON.parse(await readFile(adminPaths(root).journal, "utf8")) as { command?: unknown };
    return typeof journal.command === "string" ? journal.command : "?";
  } catch {
    return undefined;
  }
}

/** Cleans up the checkout `wc`, which must have been opened with the lock. */
export async function cleanup(wc: WorkingCopy, opts: CleanupOptions = {}): Promise<CleanupResult> {
  const savedAside = [...wc.recovered.savedAside, ...(await replayJournal(wc.root)).savedAside];
  // Opening with the lock already removed partial downloads; they are reported here all the same.
  const removed: string[] = [...(wc.removedDownloads ?? [])];

  const walk = async (dir: string) => {
    let items;
    try {
      items = await readdir(join(wc.root, dir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const item of items) {
      const path = dir === "" ? item.name : `${dir}/${item.name}`;
      if (item.isDirectory()) await walk(path);
      else if (item.isFile() && TEMP_FILE.test(item.name)) {
        await rm(join(wc.root, path), { force: true });
        removed.push(path);
      }
    }
  };
  await walk("");

  const tmp = adminPaths(wc.root).tmp;
  const inTmp = await readdir(tmp).catch(() => [] as string[]);
  for (const name of inTmp.sort()) {
    await rm(join(tmp, name), { recursive: true, force: true });
    removed.push(`.zsync/tmp/${name}`);
  }
  removed.sort();
  return { ...(opts.interrupted ? { finished: opts.interrupted } : {}), savedAside, removed };
}
