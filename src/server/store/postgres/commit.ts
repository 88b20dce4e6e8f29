/**
 * Commits in PostgreSQL. The concurrency decision is made inside the database, not in the
 * process: the transaction first locks the repository's `meta` uuid row (`FOR UPDATE`), so
 * commits from any number of servers run one after another; under that lock it reads head,
 * validates against head (shared `planCommit`), and writes revision head + 1. A second commit on
 * the same base waits for the lock, then sees the first one's rows and is out of date. The lock
 * is held only for the validation queries and the batched writes; blob uploads happen before,
 * outside it, in parallel.
 */
import type pg from "pg";
import type { ObjectKind } from "../../../protocol/types.js";
import { ancestorPaths, isValidPath, sortByPath, subtreeCondition } from "../paths.js";
import { checkCommitInput, planCommit, type Planned } from "../plan.js";
import { toStored, type ObjectRow } from "../rows.js";
import type { CommitInput, StoredObject } from "../types.js";
import { maybePauseInCommit } from "./fault-injection.js";
import { COMMIT_CHANNEL, commitPayload } from "./notify.js";
import { rows, run, transaction } from "./sql.js";

export interface CommitResult {
  revision: number;
  objects: StoredObject[];
  deleted: string[];
}

/** See `Store.commit`. */
export async function commitPostgres(pool: pg.Pool, input: CommitInput, schema: string): Promise<CommitResult> {
  checkCommitInput(input);
  return transaction(pool, async (client) => {
    await rows(client, "SELECT 1 FROM meta WHERE key = 'uuid' FOR UPDATE");
    const head = (await rows<{ head: number }>(client, "SELECT MAX(revision) AS head FROM revisions"))[0]!.head;
    await maybePauseInCommit("locked", head + 1); // tests only (fault-injection.ts)
    const lookups = await fetchLookups(client, input);
    const plan = planCommit(input.changes, head, lookups);
    const result = await apply(client, plan, head + 1, input, lookups.blobSize);
    // Delivered to every listening server when (and only if) this transaction commits.
    await run(client, "SELECT pg_notify(?, ?)", [COMMIT_CHANNEL, commitPayload(schema, result.revision)]);
    await maybePauseInCommit("written", result.revision); // tests only (fault-injection.ts)
    return result;
  });
}

/** Reads, in a few queries, everything `planCommit` will ask about. */
async function fetchLookups(client: pg.PoolClient, input: CommitInput) {
  const paths = new Set<string>();
  const hashes = new Set<string>();
  for (const ch of input.changes) {
    const c = ch as { path?: unknown; hash?: unknown } | null;
    if (typeof c?.path === "string" && isValidPath(c.path)) {
      paths.add(c.path);
      for (const a of ancestorPaths(c.path)) paths.add(a);
    }
    if (typeof c?.hash === "string") hashes.add(c.hash);
  }
  const objects = new Map<string, ObjectRow>();
  for (const r of await rows<ObjectRow>(client, "SELECT path, kind, revision, hash, size, meta FROM objects WHERE path = ANY(?::text[])", [
    [...paths],
  ])) {
    objects.set(r.path, r);
  }
  const blobs = new Map<string, number>();
  for (const r of await rows<{ hash: string; size: number }>(client, "SELECT hash, size FROM blobs WHERE hash = ANY(?::text[])", [[...hashes]])) {
    blobs.set(r.hash, r.size);
  }
  // Folder deletes: what changed inside each folder after the base the client sent.
  const changedInside = new Map<string, string[]>();
  for (const ch of input.changes) {
    if (ch?.op !== "delete" || typeof ch.baseRevision !== "number" || objects.get(ch.path)?.kind !== "folder") continue;
    const cond = subtreeCondition("path", ch.path, { includeSelf: false });
    const found = await rows<{ path: string }>(client, `SELECT DISTINCT path FROM history WHERE ${cond.sql} AND revision > ?`, [
      ...cond.params,
      ch.baseRevision,
    ]);
    changedInside.set(`${ch.baseRevision}:${ch.path}`, found.map((r) => r.path));
  }
  return {
    objectRow: (path: string) => objects.get(path),
    blobSize: (hash: string) => blobs.get(hash),
    changedInside: (folder: string, baseRevision: number) => {
      const found = changedInside.get(`${baseRevision}:${folder}`);
      if (!found) throw new Error(`internal: folder ${folder} was not looked up`);
      return found;
    },
  };
}

interface HistoryInsert {
  path: string;
  kind: ObjectKind;
  hash: string | null;
  size: number | null;
  meta: string | null;
  deleted: 0 | 1;
}

/** Writes the plan as `revision`, batching rows of a kind into one statement each. */
async function apply(
  client: pg.PoolClient,
  plan: Planned[],
  revision: number,
  input: CommitInput,
  blobSize: (hash: string) => number | undefined,
): Promise<CommitResult> {
  await run(client, "INSERT INTO revisions (revision, author, date, note) VALUES (?, ?, ?, ?)", [
    revision,
    input.author,
    new Date().toISOString(),
    input.note,
  ]);
  const objects: StoredObject[] = [];
  const deleted: string[] = [];
  const added: ObjectRow[] = [];
  const modified: ObjectRow[] = [];
  const history: HistoryInsert[] = [];
  for (const p of plan) {
    if (p.op === "add") {
      const row: ObjectRow = { path: p.path, kind: p.kind, revision, hash: p.hash, size: p.hash === null ? null : blobSize(p.hash)!, meta: p.meta };
      added.push(row);
      history.push({ ...row, deleted: 0 });
      objects.push(toStored(row));
    } else if (p.op === "modify") {
      const cur = p.current;
      const row: ObjectRow = {
        path: p.path,
        kind: cur.kind,
        revision,
        hash: p.hash ?? cur.hash,
        size: p.hash === undefined ? cur.size : blobSize(p.hash)!,
        meta: p.meta === undefined ? cur.meta : p.meta,
      };
      modified.push(row);
      history.push({ ...row, deleted: 0 });
      objects.push(toStored(row));
    } else {
      const cond = subtreeCondition("path", p.path);
      const gone = sortByPath(await rows<{ path: string; kind: ObjectKind }>(client, `DELETE FROM objects WHERE ${cond.sql} RETURNING path, kind`, cond.params), (g) => g.path);
      for (const g of gone) {
        history.push({ path: g.path, kind: g.kind, hash: null, size: null, meta: null, deleted: 1 });
        deleted.push(g.path);
      }
    }
  }
  if (added.length > 0) {
    await run(
      client,
      `INSERT INTO objects (path, kind, revision, hash, size, meta)
       SELECT p, k, ?, h, s, m FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[]) AS u(p, k, h, s, m)`,
      [revision, ...columns(added)],
    );
  }
  if (modified.length > 0) {
    await run(
      client,
      `UPDATE objects o SET revision = ?, hash = u.h, size = u.s, meta = u.m
       FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[]) AS u(p, k, h, s, m) WHERE o.path = u.p`,
      [revision, ...columns(modified)],
    );
  }
  if (history.length > 0) {
    await run(
      client,
      `INSERT INTO history (path, revision, kind, hash, size, meta, deleted)
       SELECT p, ?, k, h, s, m, d FROM unnest(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::int[]) AS u(p, k, h, s, m, d)`,
      [revision, ...columns(history), history.map((h) => h.deleted)],
    );
  }
  await run(client, "INSERT INTO changes (revision, path, action) SELECT ?, p, a FROM unnest(?::text[], ?::text[]) AS u(p, a)", [
    revision,
    plan.map((p) => p.path),
    plan.map((p) => (p.op === "add" ? "A" : p.op === "modify" ? "M" : "D")),
  ]);
  return { revision, objects, deleted };
}

/** The object columns as parallel arrays, for `unnest`. */
function columns(list: { path: string; kind: string; hash: string | null; size: number | null; meta: string | null }[]): unknown[] {
  return [list.map((r) => r.path), list.map((r) => r.kind), list.map((r) => r.hash), list.map((r) => r.size), list.map((r) => r.meta)];
}
