/**
 * What `commit` does before and after the one request that matters:
 *
 * - replacements: a local addition that replaces a server object of the other kind (kept in a
 *   tree conflict with `resolve --accept working`) cannot go in one commit — a commit names a path
 *   once — so the server's object is removed by a commit of its own first;
 * - lost answers: a commit the server applied whose answer never arrived (the client was killed,
 *   the connection died) leaves the paths looking modified and out of date. When the server
 *   answers "out of date" for a path whose current object holds exactly the bytes and metadata we
 *   would send, that is our own earlier commit (or an identical one): it is recorded as BASE.
 */
import { join } from "node:path";
import type { CommitChange } from "../protocol/types.js";
import type { ZsyncClient } from "../transport/http/client.js";
import { entryFromRemote, type Entry } from "./entries.js";
import { runJournal } from "./journal.js";
import { statCache } from "./stat-cache.js";
import { sameMeta } from "./meta-files.js";
import { scanWorkingCopy } from "./scan.js";
import type { WorkingCopy } from "./session.js";

/**
 * Which of `paths` (the changes a commit found) are local additions recorded as replacing a server
 * object (`revision` set on an `added` entry). Only those entries are read: the others may never
 * be decoded (lazy-entries.ts).
 */
export function replacements(wc: WorkingCopy, paths: Iterable<string>): string[] {
  const found: string[] = [];
  for (const path of paths) {
    const e = wc.entries.entries.get(path);
    if (path !== "" && e?.schedule === "added" && e.revision !== undefined && !e.conflict) found.push(path);
  }
  return found;
}

/**
 * Removes the server objects the named local additions replace, in one commit, and records them
 * as plain additions. Throws the client's error (out of date: the user updates first).
 */
export async function removeReplacedObjects(wc: WorkingCopy, client: ZsyncClient, paths: string[], message: string): Promise<number> {
  const entries = wc.entries.entries;
  const changes: CommitChange[] = paths.map((path) => {
    const e = entries.get(path)!;
    const kind = e.kind === "file" ? "folder" : "file";
    const baseRevision = kind === "folder" ? Math.max(wc.entries.revision, e.revision!) : e.revision;
    return { path, kind, schedule: "removed", baseRevision };
  });
  const result = await client.commit(wc.config.path, { protocol: 1, note: `${message} (removing what the next part replaces)`, changes }, []);
  const next: Record<string, Entry> = {};
  for (const path of paths) {
    const e: Entry = { ...entries.get(path)! };
    delete e.revision;
    next[path] = e;
  }
  await runJournal(wc.root, { command: "commit", steps: [], entries: next });
  for (const [path, e] of Object.entries(next)) entries.set(path, e);
  return result.revision;
}

/**
 * For out-of-date `paths` whose server object already equals what this checkout would commit,
 * records the server's object as BASE. Returns the paths adopted.
 */
export async function adoptAlreadyCommitted(wc: WorkingCopy, client: ZsyncClient, paths: string[]): Promise<string[]> {
  const entries = wc.entries.entries;
  const candidates = paths.filter((p) => entries.has(p));
  if (candidates.length === 0) return [];
  const { manifest, records } = await client.snapshot(wc.config.path, { since: wc.entries.revision });
  await records.return(undefined);
  const onServer = new Map(manifest.entries.map((e) => [e.path, e]));
  const gone = new Set(manifest.deleted);
  const scan = await scanWorkingCopy(wc.root, entries, { within: candidates });
  const changes: Record<string, Entry | null> = {};
  for (const item of scan.items) {
    if (!candidates.includes(item.path) || !item.entry) continue;
    const entry = item.entry;
    const remote = onServer.get(item.path);
    if (entry.schedule === "removed") {
      if (!remote && (gone.has(item.path) || (entry.revision ?? 0) > wc.entries.revision)) changes[item.path] = null;
      continue;
    }
    if (!remote || remote.kind !== entry.kind || item.content === "!" || item.content === "~") continue;
    if (entry.kind === "file" && remote.hash !== item.workingHash) continue;
    if (!sameMeta(remote.meta, item.workingMeta)) continue;
    const next = entryFromRemote(remote);
    if (entry.kind === "file") next.cache = await statCache(join(wc.root, item.path), remote.hash!);
    changes[item.path] = next;
  }
  const adopted = Object.keys(changes);
  if (adopted.length === 0) return [];
  await runJournal(wc.root, { command: "commit", steps: [], entries: changes });
  for (const [path, e] of Object.entries(changes)) {
    if (e) entries.set(path, e);
    else entries.delete(path);
  }
  return adopted;
}
