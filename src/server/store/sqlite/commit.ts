/**
 * A commit in SQLite: one `BEGIN IMMEDIATE` transaction (writers of every process queue for the
 * lock) that plans the changes against head (plan.ts) and writes the new revision.
 */
import type { ObjectKind } from "../../../protocol/types.js";
import { sortByPath, subtreeCondition } from "../paths.js";
import { checkCommitInput, planCommit } from "../plan.js";
import { toStored, type ObjectRow } from "../rows.js";
import type { CommitInput, StoredObject } from "../types.js";
import type { SqliteConnection } from "./connection.js";

/** What `Store.commit` returns. */
export interface CommitResult {
  revision: number;
  objects: StoredObject[];
  deleted: string[];
}

/** `Store.commit`: applies `input` as the next revision, or throws and changes nothing. */
export function commitSqlite(conn: SqliteConnection, input: CommitInput): CommitResult {
  return conn.db.transaction((i: CommitInput) => commitInTransaction(conn, i)).immediate(input);
}

function commitInTransaction(conn: SqliteConnection, input: CommitInput): CommitResult {
  checkCommitInput(input);
  const head = conn.head();
  const plan = planCommit(input.changes, head, {
    objectRow: (path) => conn.objectRow(path),
    blobSize: (hash) => conn.blobRow(hash)?.size,
    changedInside: (folder, baseRevision) => {
      const cond = subtreeCondition("path", folder, { includeSelf: false });
      const rows = conn.stmt(`SELECT DISTINCT path FROM history WHERE ${cond.sql} AND revision > ?`).all(...cond.params, baseRevision) as {
        path: string;
      }[];
      return rows.map((r) => r.path);
    },
  });

  const revision = head + 1;
  conn.stmt("INSERT INTO revisions (revision, author, date, note) VALUES (?, ?, ?, ?)").run(revision, input.author, new Date().toISOString(), input.note);
  const insertChange = conn.stmt("INSERT INTO changes (revision, path, action) VALUES (?, ?, ?)");
  const insertHistory = conn.stmt("INSERT INTO history (path, revision, kind, hash, size, meta, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const objects: StoredObject[] = [];
  const deleted: string[] = [];
  for (const p of plan) {
    if (p.op === "add") {
      const size = p.hash === null ? null : conn.blobRow(p.hash)!.size;
      const row: ObjectRow = { path: p.path, kind: p.kind, revision, hash: p.hash, size, meta: p.meta };
      conn
        .stmt("INSERT INTO objects (path, kind, revision, hash, size, meta) VALUES (?, ?, ?, ?, ?, ?)")
        .run(row.path, row.kind, revision, row.hash, row.size, row.meta);
      insertHistory.run(row.path, revision, row.kind, row.hash, row.size, row.meta, 0);
      objects.push(toStored(row));
    } else if (p.op === "modify") {
      const cur = p.current;
      const hash = p.hash ?? cur.hash;
      const size = p.hash === undefined ? cur.size : conn.blobRow(p.hash)!.size;
      const meta = p.meta === undefined ? cur.meta : p.meta;
      const row: ObjectRow = { path: p.path, kind: cur.kind, revision, hash, size, meta };
      conn.stmt("UPDATE objects SET revision = ?, hash = ?, size = ?, meta = ? WHERE path = ?").run(revision, hash, size, meta, p.path);
      insertHistory.run(row.path, revision, row.kind, row.hash, row.size, row.meta, 0);
      objects.push(toStored(row));
    } else {
      const cond = subtreeCondition("path", p.path);
      const gone = conn.stmt(`SELECT path, kind FROM objects WHERE ${cond.sql}`).all(...cond.params) as { path: string; kind: ObjectKind }[];
      sortByPath(gone, (g) => g.path);
      conn.stmt(`DELETE FROM objects WHERE ${cond.sql}`).run(...cond.params);
      for (const g of gone) {
        insertHistory.run(g.path, revision, g.kind, null, null, null, 1);
        deleted.push(g.path);
      }
    }
    insertChange.run(revision, p.path, p.op === "add" ? "A" : p.op === "modify" ? "M" : "D");
  }
  return { revision, objects, deleted };
}
