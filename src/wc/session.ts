/**
 * Opening a checkout for a command: find it, take the lock when the command writes (waiting for
 * a live holder such as a watcher's action, up to a minute), finish
 * any interrupted command from its journal, load config and entries.
 */
import { readdir, rm } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { adminPaths, findWorkingCopy, readConfig, WcError, type WcConfig } from "./admin.js";
import { loadEntries, type Entries } from "./entries.js";
import { rebuildIndexIfDamaged, type IndexRebuild } from "./index-rebuild.js";
import { readIndexSummary, type IndexSummary } from "./index-summary.js";
import { hasJournal, replayJournal, type JournalReport } from "./journal.js";
import { acquireLock, LOCK_WAIT_MS } from "./lock.js";
import { forgetPacks, rebuildPackIndex, type PackRebuild } from "./pristine-pack.js";

/** An open checkout. */
export interface WorkingCopy {
  root: string;
  config: WcConfig;
  entries: Entries;
  /** What finishing an interrupted command did (empty when there was none). */
  recovered: JournalReport;
  /** What rebuilding a damaged index did (only with `repairIndex`, and only when it was damaged). */
  rebuiltIndex?: IndexRebuild;
  /** What rebuilding the pristine pack's missing or damaged index did (only with `repairIndex`). */
  rebuiltPack?: PackRebuild;
  /** Partial downloads a killed command left in `.zsync/tmp/`, removed on opening with the lock (relative to the root). */
  removedDownloads?: string[];
  /**
   * Opened with `summaryFirst` and the index summary was current: `entries` are not read yet
   * (reading them throws) until {@link loadDeferredEntries}, which drops the summary.
   */
  summary?: IndexSummary;
  /** Releases the lock (none for read-only sessions) and closes the pristine pack. */
  release(): Promise<void>;
}

/** How to open a checkout. */
export interface OpenOptions {
  /** Take the lock for this command name. */
  lock?: string;
  /** Rebuild a damaged index and pristine pack index (with `lock`; `zsync cleanup`). */
  repairIndex?: boolean;
  /**
   * Decode each entry when it is first read: for commands that read few entries when little
   * changed (`update`), or check plain files' stat caches without decoding them (`status`, `commit`).
   */
  lazyEntries?: boolean;
  /**
   * Read the index summary instead of the entries when it is current (`update`, which needs no
   * entry when the server has nothing new): see {@link WorkingCopy.summary}.
   */
  summaryFirst?: boolean;
  /**
   * Longest wait in ms for a lock a live process holds (default: `ZSYNC_LOCK_WAIT` seconds, else
   * 60 s, saying on stderr whom it waits for); the watcher passes 0 and retries by itself.
   */
  lockWaitMs?: number;
}

/** The default wait for the lock: `ZSYNC_LOCK_WAIT` seconds, else `LOCK_WAIT_MS`. */
export function defaultLockWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.ZSYNC_LOCK_WAIT;
  if (text === undefined || text === "") return LOCK_WAIT_MS;
  const seconds = Number(text);
  if (!(seconds >= 0) || !Number.isFinite(seconds)) throw new WcError("bad-option", `ZSYNC_LOCK_WAIT takes a number of seconds, got ${JSON.stringify(text)}`, 2);
  return seconds * 1000;
}

/**
 * Opens the checkout containing `start`. With `lock`, takes the lock for that command name.
 * Read-only commands still finish a pending journal when they can take the lock.
 */
export async function openWorkingCopy(start: string, opts: OpenOptions = {}): Promise<WorkingCopy> {
  const root = await findWorkingCopy(start);
  const config = await readConfig(root);
  forgetPacks(); // another command may have written the pack since this process last read it
  let release = async () => {};
  let recovered: JournalReport = { savedAside: [] };
  let rebuiltIndex: IndexRebuild | undefined;
  let rebuiltPack: PackRebuild | undefined;
  let removedDownloads: string[] = [];
  if (opts.lock) {
    const waitMs = opts.lockWaitMs ?? defaultLockWaitMs();
    release = await acquireLock(root, opts.lock, {
      waitMs,
      onWait: (holder) => process.stderr.write(`zsync: waiting for ${holder} to release the checkout (up to ${Math.round(waitMs / 1000)} s)…\n`),
    });
  }
  try {
    if (opts.lock && opts.repairIndex) {
      // The pack first: finding which BASE copies are missing, and the journal, read it.
      rebuiltPack = rebuildPackIndex(root);
      rebuiltIndex = await rebuildIndexIfDamaged(root);
    }
    if (opts.lock) {
      recovered = await replayJournal(root);
      removedDownloads = await removePartialDownloads(root);
    }
    else if (await hasJournal(root)) {
      // An interrupted command: finish it first (unless another command is at work right now),
      // or the entries would not match the files and every status letter would be off.
      const unlock = await acquireLock(root, "recover").catch(() => undefined);
      if (unlock) {
        try {
          recovered = await replayJournal(root);
        } finally {
          await unlock();
        }
      }
    }
    const summary = opts.summaryFirst ? await readIndexSummary(root) : undefined;
    const entries = summary ? undefined : await loadEntries(root, { lazy: opts.lazyEntries });
    const unlock = release;
    // The pack's descriptor is closed with the session: a long-lived process (the watcher, a
    // test) must not hold a checkout's files open after it is done with them.
    const close = async () => {
      forgetPacks();
      await unlock();
    };
    const wc: WorkingCopy = { root, config, entries: entries!, recovered, release: close, ...(rebuiltIndex ? { rebuiltIndex } : {}), ...(rebuiltPack ? { rebuiltPack } : {}), ...(removedDownloads.length ? { removedDownloads } : {}) };
    if (summary) deferEntries(wc, summary, opts.lazyEntries);
    return wc;
  } catch (error) {
    await release();
    throw error;
  }
}

const deferred = new WeakMap<WorkingCopy, () => Promise<void>>();

/** Makes `wc.entries` throw until {@link loadDeferredEntries} reads them. */
function deferEntries(wc: WorkingCopy, summary: IndexSummary, lazy: boolean | undefined): void {
  let entries: Entries | undefined;
  Object.defineProperty(wc, "entries", {
    enumerable: true,
    get: () => entries ?? fail(),
    set: (value: Entries) => (entries = value),
  });
  wc.summary = summary;
  deferred.set(wc, async () => {
    entries ??= await loadEntries(wc.root, { lazy });
    delete wc.summary;
  });
}

function fail(): never {
  throw new Error("zsync: the entries of a checkout opened with summaryFirst were read before loadDeferredEntries");
}

/** Reads the entries of a checkout opened with `summaryFirst` (no-op when they are read already). */
export async function loadDeferredEntries(wc: WorkingCopy): Promise<void> {
  await deferred.get(wc)?.();
}

/** The checkout's revision, from the summary while the entries are not read. */
export function checkoutRevision(wc: WorkingCopy): number {
  return wc.summary?.revision ?? wc.entries.revision;
}

/**
 * Partial downloads a killed command left in `.zsync/tmp/` (only pristine bodies go there, and
 * no other command runs while we hold the lock): removed by the next command, not only `cleanup`.
 */
async function removePartialDownloads(root: string): Promise<string[]> {
  const tmp = adminPaths(root).tmp;
  const removed: string[] = [];
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    if (!name.startsWith("in-")) continue;
    await rm(join(tmp, name), { force: true });
    removed.push(`.zsync/tmp/${name}`);
  }
  return removed;
}

/** Runs `work` with the checkout open and always releases it. */
export async function withWorkingCopy<T>(start: string, opts: OpenOptions, work: (wc: WorkingCopy) => Promise<T>): Promise<T> {
  const wc = await openWorkingCopy(start, opts);
  try {
    return await work(wc);
  } finally {
    await wc.release();
  }
}

/**
 * Where to look for the checkout of a command: the checkout holding the path arguments (svn
 * style, so `zsync commit ./parts/checkout` works from outside it), or the current folder when
 * there are none. Paths in two different checkouts are a usage error that changes nothing.
 */
export async function checkoutOfPaths(paths: readonly string[], cwd = process.cwd()): Promise<string> {
  if (paths.length === 0) return cwd;
  let found: { root: string; arg: string } | undefined;
  for (const arg of paths) {
    const root = await findWorkingCopy(resolve(cwd, arg)).catch(async (error: unknown) => {
      if ((error as WcError).code !== "not-a-working-copy") throw error;
      // A path in no checkout is a usage error, named against the current folder's checkout if any.
      const here = await findWorkingCopy(cwd).catch(() => undefined);
      throw new WcError("outside-checkout", here ? `${arg} is not inside the checkout at ${here}` : `${arg} is not inside a zsync checkout (no .zsync/ found above it)`, 2);
    });
    if (found && found.root !== root) {
      throw new WcError("different-checkouts", `${found.arg} and ${arg} are in different checkouts (${found.root} and ${root}); run the command once for each checkout`, 2);
    }
    found ??= { root, arg };
  }
  return found!.root;
}

/**
 * Turns user path arguments (relative to cwd) into checkout paths ("" = root). A path outside
 * the checkout, or into `.zsync/`, is a usage error that changes nothing.
 */
export function toCheckoutPaths(root: string, args: string[], cwd = process.cwd()): string[] {
  return args.map((arg) => {
    const absolute = resolve(cwd, arg);
    const rel = relative(root, absolute);
    if (rel === ".." || rel.startsWith(".." + sep) || resolve(root, rel) !== absolute || rel.split(sep)[0] === ".zsync") {
      throw new WcError("outside-checkout", `${arg} is not inside the checkout at ${root}`, 2);
    }
    return rel.split(sep).join("/");
  });
}

let lastBase: { cwd: string; root: string; base: string } | undefined;

/** How a checkout path is shown to the user: relative to the current directory, `/`-separated. */
export function displayPath(root: string, path: string, cwd = process.cwd()): string {
  // The checkout root as seen from cwd, once per command (a checkout prints a line per file):
  // from the root or above it, a (normalized) checkout path just follows it.
  if (lastBase?.cwd !== cwd || lastBase.root !== root) lastBase = { cwd, root, base: relative(cwd, root).split(sep).join("/") };
  const { base } = lastBase;
  if (base === "" || !(base === ".." || base.startsWith("../") || isAbsolute(base))) {
    const shown = base === "" ? path : path === "" ? base : `${base}/${path}`;
    return shown === "" ? "." : shown;
  }
  const shown = relative(cwd, resolve(root, path)).split(sep).join("/");
  return shown === "" ? "." : shown;
}
