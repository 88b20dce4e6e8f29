/**
 * Commit validation shared by the store backends: checks a commit's changes against head and
 * turns them into a plan of writes, without writing. The backend supplies the lookups
 * (synchronous, so SQLite answers them inside its transaction and PostgreSQL from rows it
 * fetched under the head lock) and then applies the plan.
 */
import type { ObjectKind } from "../../protocol/types.js";
import { ancestorPaths, comparePaths, isValidPath, parentPath } from "./paths.js";
import { encodeMeta, isSafeNonNegative, type ObjectRow } from "./rows.js";
import { InvalidChangeError, OutOfDateError, type CommitInput, type StoreChange } from "./types.js";

/** What validation needs to know about head, answered by the backend. */
export interface PlanLookups {
  /** The object at `path` at head. */
  objectRow(path: string): ObjectRow | undefined;
  /** The size of a stored blob; undefined when it is not stored. */
  blobSize(hash: string): number | undefined;
  /** Paths strictly inside `folder` with a history row after `baseRevision`. */
  changedInside(folder: string, baseRevision: number): Iterable<string>;
}

/** A validated change, ready to apply. */
export type Planned =
  | { op: "add"; path: string; kind: ObjectKind; hash: string | null; meta: string | null }
  | { op: "modify"; path: string; current: ObjectRow; hash: string | undefined; meta: string | null | undefined }
  | { op: "delete"; path: string };

/** Throws InvalidChangeError unless the commit has changes, an author and a note. */
export function checkCommitInput(input: CommitInput): void {
  if (!input || !Array.isArray(input.changes) || input.changes.length === 0) {
    throw new InvalidChangeError("a commit needs at least one change", []);
  }
  if (typeof input.author !== "string" || typeof input.note !== "string") {
    throw new InvalidChangeError("a commit needs an author and a note (strings)", []);
  }
}

/**
 * Checks every change against head (and the earlier changes of the same commit) without
 * writing. Throws InvalidChangeError if any change is malformed or cannot apply, else
 * OutOfDateError listing every stale path, else returns the plan.
 */
export function planCommit(changes: StoreChange[], head: number, lookups: PlanLookups): Planned[] {
  const invalid: { path: string; message: string }[] = [];
  const outOfDate = new Set<string>();
  const plan: Planned[] = [];
  const seen = new Set<string>(); // paths of the changes so far
  const containsSeen = new Set<string>(); // strict ancestors of those paths
  const deletedHere = new Set<string>(); // paths deleted by this commit
  const addedKinds = new Map<string, ObjectKind>(); // paths added by this commit so far
  const addPaths = new Set<string>();
  for (const ch of changes) if (ch && ch.op === "add" && typeof ch.path === "string") addPaths.add(ch.path);

  for (const ch of changes) {
    const path = (ch as { path?: unknown } | null)?.path;
    let ok = true;
    const bad = (message: string): void => {
      invalid.push({ path: String(path), message });
      ok = false;
    };
    if (typeof path !== "string" || !isValidPath(path)) {
      bad("invalid path");
      continue;
    }
    if (seen.has(path)) {
      bad("the path appears more than once in the commit");
      continue;
    }
    // Structure within the commit: nothing may change inside a folder the commit deletes.
    const ancestors = ancestorPaths(path);
    const deletedAncestor = ancestors.find((a) => deletedHere.has(a));
    if (deletedAncestor !== undefined) bad(`inside "${deletedAncestor}", which this commit deletes`);
    if (ch.op === "delete" && containsSeen.has(path)) bad("this commit also changes paths inside it");
    seen.add(path);
    for (const a of ancestors) containsSeen.add(a);
    if (ch.op === "delete") deletedHere.add(path);

    switch (ch.op) {
      case "add": {
        if (path === "") bad("the root folder cannot be added");
        let hash: string | null = null;
        if (ch.kind === "folder") {
          if (ch.hash !== undefined) bad("a folder has no content hash");
        } else if (ch.kind === "file") {
          if (typeof ch.hash !== "string") bad("a file needs a content hash");
          else if (lookups.blobSize(ch.hash) === undefined) bad("unknown blob (upload the content first)");
          else hash = ch.hash;
        } else {
          bad("unknown kind");
        }
        let meta: string | null = null;
        if (ch.meta !== undefined && ch.meta !== null) {
          const m = encodeMeta(ch.meta);
          if (m === undefined) bad("metadata must be a JSON object");
          else meta = m;
        }
        if (!ok) break;
        if (lookups.objectRow(path)) outOfDate.add(path);
        const parent = parentPath(path);
        const parentKind = addedKinds.get(parent) ?? lookups.objectRow(parent)?.kind;
        if (parentKind === undefined) {
          if (addPaths.has(parent)) bad("its folder is added later in the commit (parents first)");
          else outOfDate.add(path); // the folder was deleted since the client looked
        } else if (parentKind !== "folder") {
          bad("its parent is not a folder");
        }
        addedKinds.set(path, ch.kind);
        if (ok) plan.push({ op: "add", path, kind: ch.kind, hash, meta });
        break;
      }
      case "modify": {
        checkBases(ch, head, bad);
        if (ch.hash === undefined && ch.meta === undefined) bad("the change modifies nothing");
        if (ch.hash !== undefined) {
          if (typeof ch.hash !== "string") bad("invalid content hash");
          else if (lookups.blobSize(ch.hash) === undefined) bad("unknown blob (upload the content first)");
        }
        let meta: string | null | undefined;
        if (ch.meta === null) meta = null;
        else if (ch.meta !== undefined) {
          meta = encodeMeta(ch.meta);
          if (meta === undefined) bad("metadata must be a JSON object or null");
        }
        if (!ok) break;
        const current = lookups.objectRow(path);
        if (!current) {
          outOfDate.add(path);
          break;
        }
        if (current.kind === "folder" && (ch.hash !== undefined || ch.baseHash !== undefined)) {
          bad("a folder has no content hash");
          break;
        }
        if (!baseMatches(current, ch)) outOfDate.add(path);
        plan.push({ op: "modify", path, current, hash: ch.hash, meta });
        break;
      }
      case "delete": {
        if (path === "") bad("the root folder cannot be deleted");
        checkBases(ch, head, bad);
        if (!ok) break;
        const current = lookups.objectRow(path);
        if (!current) {
          outOfDate.add(path);
          break;
        }
        if (current.kind === "folder" && ch.baseHash !== undefined) {
          bad("a folder has no content hash (use baseRevision)");
          break;
        }
        if (!baseMatches(current, ch)) outOfDate.add(path);
        if (current.kind === "folder") {
          // Deleting a folder deletes its contents: refuse if any of it changed after the base
          // (added, modified or deleted), since the client never saw that work.
          for (const p of [...lookups.changedInside(path, ch.baseRevision!)].sort(comparePaths)) outOfDate.add(p);
        }
        plan.push({ op: "delete", path });
        break;
      }
      default:
        bad(`unknown operation ${String((ch as { op?: unknown }).op)}`);
    }
  }
  if (invalid.length > 0) {
    const shown = invalid.slice(0, 5).map((i) => `${i.path === "" ? "(root)" : i.path}: ${i.message}`);
    if (invalid.length > 5) shown.push(`… ${invalid.length - 5} more`);
    throw new InvalidChangeError(`invalid commit: ${shown.join("; ")}`, [...new Set(invalid.map((i) => i.path))]);
  }
  if (outOfDate.size > 0) throw new OutOfDateError([...outOfDate]);
  return plan;
}

function checkBases(ch: { baseRevision?: number; baseHash?: string }, head: number, bad: (m: string) => void): void {
  if (ch.baseRevision === undefined && ch.baseHash === undefined) bad("needs baseRevision or baseHash");
  if (ch.baseRevision !== undefined && (!isSafeNonNegative(ch.baseRevision) || ch.baseRevision > head)) {
    bad(`invalid baseRevision ${String(ch.baseRevision)} (head is ${head})`);
  }
  if (ch.baseHash !== undefined && typeof ch.baseHash !== "string") bad("invalid baseHash");
}

/**
 * Every given base must hold: the object has not changed after `baseRevision` (its revision is
 * at most the base: equal when the client sends the revision it saw, or lower when it sends its
 * working revision), and (files) its content hash is `baseHash`.
 */
function baseMatches(current: ObjectRow, ch: { baseRevision?: number; baseHash?: string }): boolean {
  if (ch.baseRevision !== undefined && current.revision > ch.baseRevision) return false;
  if (ch.baseHash !== undefined && ch.baseHash !== current.hash) return false;
  return true;
}
