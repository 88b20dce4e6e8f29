/**
 * `status`: the state of every path, and which are out of date on the server (`-u`).
 */
import { parentPath } from "../protocol/paths.js";
import type { ZsyncClient } from "../transport/http/client.js";
import { entriesAreCurrent, loadEntries, saveEntries, type Entries, type Entry } from "./entries.js";
import { hasJournal } from "./journal.js";
import { writeIndexSummary } from "./index-summary.js";
import { acquireLock } from "./lock.js";
import { adoptScanCaches, scanWorkingCopy, type PathStatus, type ScanResult } from "./scan.js";
import type { WorkingCopy } from "./session.js";

export interface StatusOptions {
  /** Checkout paths to report ("" = everything). */
  paths?: string[];
  /** Include unchanged paths. */
  verbose?: boolean;
  /** Ask the server which paths changed since the checkout's revision. */
  server?: ZsyncClient;
  /** The clock that judges whether a stat is old enough to cache (default: the real one; tests move it). */
  now?: () => number;
}

export interface StatusReport {
  revision: number;
  items: (PathStatus & { outOfDate?: boolean })[];
  /** Head revision on the server (with `server`). */
  head?: number;
}

/** Computes the status of a checkout; saves refreshed stat caches when the lock is free. */
export async function status(wc: WorkingCopy, opts: StatusOptions = {}): Promise<StatusReport> {
  const scan = await scanWorkingCopy(wc.root, wc.entries.entries, { within: opts.paths, changedOnly: !opts.verbose && !opts.server, now: opts.now });
  const report: StatusReport = { revision: wc.entries.revision, items: scan.items };
  if (opts.server) {
    const { manifest, records } = await opts.server.snapshot(wc.config.path, { since: wc.entries.revision });
    await records.return(undefined);
    report.head = manifest.revision;
    const changed = new Set<string>();
    for (const remote of manifest.entries) {
      if (wc.entries.entries.get(remote.path)?.revision !== remote.revision) changed.add(remote.path);
    }
    for (const path of manifest.deleted) if (wc.entries.entries.has(path)) changed.add(path);
    for (const item of report.items) if (changed.has(item.path)) item.outOfDate = true;
    for (const path of changed) {
      if (!report.items.some((i) => i.path === path) && (!opts.paths || opts.paths.some((p) => p === "" || path === p || path.startsWith(p + "/")))) {
        const remote = manifest.entries.find((e) => e.path === path);
        report.items.push({ path, kind: remote?.kind ?? "file", content: "=", meta: " ", outOfDate: true });
      }
    }
    report.items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  // Only now (a failed `-u` changes nothing), and only when no other command holds the lock.
  // A listing already recorded as it is now needs no write.
  for (const [path, listing] of scan.refreshedListings) {
    const known = wc.entries.entries.get(path)?.listing;
    if (known && JSON.stringify(known) === JSON.stringify(listing)) scan.refreshedListings.delete(path);
  }
  if (scan.refreshedCaches.size > 0 || scan.refreshedListings.size > 0 || scan.refreshedMetaCaches.size > 0) await saveCaches(wc.root, wc.entries, scan);
  if (!opts.verbose) report.items = report.items.filter((i) => i.content !== "=" || i.meta !== " " || i.outOfDate);
  return report;
}

/**
 * Records fresh stat caches. The entries are re-read under the lock: the ones loaded for the
 * scan may have been replaced meanwhile by a command that held the lock (an update), and
 * saving those would undo its work. A cache says only "a file with this stat has this hash",
 * so it is valid on any version of the entries.
 */
async function saveCaches(root: string, scanned: Entries, refreshed: Pick<ScanResult, "refreshedCaches" | "refreshedListings" | "refreshedMetaCaches">): Promise<void> {
  const release = await acquireLock(root, "status").catch(() => undefined);
  if (!release) return;
  try {
    if (await hasJournal(root)) return; // an interrupted command is pending: leave the entries to it
    // Unchanged on disk since the scan read them (the usual case): no need to read them again.
    const fresh = (await entriesAreCurrent(root, scanned)) ? scanned : await loadEntries(root);
    await saveEntries(root, fresh, { changed: adoptScanCaches(fresh.entries, refreshed), fsync: false });
    // Listings just recorded are what the next no-op update needs (index-summary.ts).
    await writeIndexSummary(root, fresh);
  } finally {
    await release();
  }
}

