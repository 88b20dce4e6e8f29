/**
 * SOURCE of a `merge`: another checkout of the same server folder, opened read-only — never
 * locked, never written — and refused while a command is running or was interrupted there.
 */
import { readFile, realpath } from "node:fs/promises";
import { resolve } from "node:path";
import { adminPaths, findWorkingCopy, readConfig, WcError, type WcConfig } from "./admin.js";
import { lstatOrNone } from "./add.js";
import { loadEntries, type Entries } from "./entries.js";
import { hasJournal } from "./journal.js";

/** Label of SOURCE's working version in conflict markers and artifact names (`FILE.source`). */
export const SOURCE_LABEL = ".source";

/** A checkout opened read-only as the source of a merge. */
export interface SourceCheckout {
  root: string;
  config: WcConfig;
  entries: Entries;
}

/**
 * The root of the checkout at `dir`; `dir` must be that root (merge works on whole checkouts, so a
 * folder inside one is refused rather than silently widened to the whole checkout).
 */
export async function requireCheckoutRoot(dir: string, what: string): Promise<string> {
  if (!(await lstatOrNone(resolve(dir)))?.isDirectory()) throw new WcError("not-found", `${what} ${dir} is not a folder`);
  const root = await findWorkingCopy(dir);
  const [given, top] = await Promise.all([realpath(resolve(dir)), realpath(root)]);
  if (given !== top) {
    throw new WcError("not-checkout-root", `${what} ${dir} is inside the checkout at ${root}; merge works on whole checkouts, name the checkout's top folder`, 2);
  }
  return root;
}

/** Opens SOURCE without locking or writing anything; refuses a checkout with an unfinished or running command. */
export async function openSource(dir: string): Promise<SourceCheckout> {
  const root = await requireCheckoutRoot(dir, "SOURCE");
  const config = await readConfig(root);
  await checkSourceIdle(root);
  return { root, config, entries: await loadEntries(root) };
}

/**
 * Refuses a SOURCE whose state is in the middle of changing: an interrupted command (its journal
 * is pending) or a zsync command running there now (its lock is held by a live process). Only reads.
 */
export async function checkSourceIdle(root: string): Promise<void> {
  if (await hasJournal(root)) {
    throw new WcError(
      "source-interrupted",
      `SOURCE ${root} has an interrupted command (.zsync/journal.json); run \`zsync cleanup\` there first (merge never writes to SOURCE)`,
    );
  }
  let holder: { pid?: unknown; command?: unknown } | undefined;
  try {
    holder = JSON.parse(await readFile(adminPaths(root).lock, "utf8"));
  } catch {
    return; // no lock (or a stale, unreadable one): nothing is running there
  }
  const pid = holder?.pid;
  if (typeof pid !== "number" || pid === process.pid) return;
  let alive = true;
  try {
    process.kill(pid, 0);
  } catch (error) {
    alive = (error as NodeJS.ErrnoException).code === "EPERM";
  }
  if (alive) {
    throw new WcError("source-busy", `SOURCE ${root} is in use by \`zsync ${String(holder?.command ?? "?")}\` (process ${pid}); wait for it to finish`);
  }
}
