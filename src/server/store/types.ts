/**
 * The repository store interface, implemented by SQLite (sqlite.ts, sqlite/) and PostgreSQL (postgres.ts, postgres/).
 * Paths here are absolute repository paths without a leading slash: "" is the repository
 * root folder, "demo/index.html" a file. All methods are async so a networked database fits.
 */
import type { Readable } from "node:stream";
import type { ObjectKind, ObjectMeta } from "../../protocol/types.js";

/** One object as stored (current state, or its state at some revision). */
export interface StoredObject {
  path: string;
  kind: ObjectKind;
  /** Revision in which the object last changed. */
  revision: number;
  /** SHA-256 hex of the content (files). */
  hash?: string;
  size?: number;
  meta?: ObjectMeta;
}

/** One revision of the repository. */
export interface RevisionInfo {
  revision: number;
  author: string;
  /** ISO 8601. */
  date: string;
  note: string;
  changes: { path: string; action: "A" | "M" | "D" }[];
}

/**
 * A change to apply in a commit, already validated by the caller. `commit` re-checks every rule
 * against head anyway (see `Store.commit`).
 *
 * Bases (`modify`, `delete`; at least one is required): `baseRevision` is accepted when the
 * object has not changed after it — i.e. the object's current revision is <= baseRevision — so
 * either the object's revision as the client saw it (`EntryInfo.revision`) or the client's
 * working revision (the snapshot revision its copy was updated to) works; a baseRevision beyond
 * head is invalid. `baseHash` (files only) must equal the current content hash. When both are
 * given, both must hold. Deleting a folder additionally requires that nothing inside it was
 * added, modified or deleted after `baseRevision` (`baseHash` is invalid for folders), so for a
 * folder delete send the working revision: the folder's own `EntryInfo.revision` does not move
 * when its contents change, and would make the delete out of date forever.
 */
export type StoreChange =
  | { op: "add"; path: string; kind: ObjectKind; hash?: string; meta?: ObjectMeta }
  | {
      op: "modify";
      path: string;
      /** Optimistic-concurrency base: the object's revision, or (files) its content hash. */
      baseRevision?: number;
      baseHash?: string;
      /** New content (files); omitted = unchanged. */
      hash?: string;
      /** New metadata; undefined = unchanged, null = cleared. */
      meta?: ObjectMeta | null;
    }
  | { op: "delete"; path: string; baseRevision?: number; baseHash?: string };

export interface CommitInput {
  author: string;
  note: string;
  changes: StoreChange[];
}

/** Raised by `commit` when bases are stale; nothing was changed. */
export class OutOfDateError extends Error {
  readonly paths: string[];
  constructor(paths: string[]) {
    super(`out of date: ${paths.join(", ")}`);
    this.name = "OutOfDateError";
    this.paths = paths;
  }
}

/** Raised by `commit` for changes that cannot apply (missing parent, exists already, …). */
export class InvalidChangeError extends Error {
  readonly paths: string[];
  constructor(message: string, paths: string[]) {
    super(message);
    this.name = "InvalidChangeError";
    this.paths = paths;
  }
}

/**
 * Raised by any method when the database cannot be reached right now (a networked backend
 * whose server is down or restarting). Nothing was changed; the same call may succeed later.
 * The HTTP layer answers 503 `store-unavailable`.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreUnavailableError";
  }
}

export interface Account {
  name: string;
  /** manager | editor | reader */
  role: string;
}

/** An ssh public key that authenticates an account. */
export interface AccountKey {
  account: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it; unique per account. */
  fingerprint: string;
  /** e.g. ssh-ed25519 */
  type: string;
  /** The public key blob, base64 (the second field of an authorized_keys line). */
  data: string;
  comment: string;
}

/** A role granted to an account on a subtree ("" is the whole repository). */
export interface Grant {
  account: string;
  path: string;
  role: string;
}

/** A bearer token; the secret itself is never stored, only its SHA-256 (hex). */
export interface TokenRecord {
  id: string;
  secretHash: string;
  account: string;
  label: string;
  /** ISO dates. */
  createdAt: string;
  expiresAt: string | null;
  revoked: boolean;
}

/** One item a SyncML device holds, as the server last agreed with it. */
export interface SyncItemState {
  /** The device's local id (LUID), once the device has told it (its Add, or a Map). */
  luid?: string;
  /** SHA-256 of the content both sides last agreed on (the base of a later merge). */
  hash: string;
}

/**
 * SyncML state of one datastore of one device of one account (issue 17): the anchors of the
 * last completed session and the items the device holds, by server id (the path relative to
 * the datastore's folder).
 */
export interface SyncState {
  account: string;
  device: string;
  datastore: string;
  /** The device's Next anchor of the last completed session (its Last at the next one). */
  clientAnchor: string;
  /** The server's Next anchor of the last completed session. */
  serverAnchor: string;
  items: Record<string, SyncItemState>;
}

export interface Store {
  /** Repository uuid and head revision. */
  info(): Promise<{ uuid: string; head: number }>;
  /**
   * The object at `path`, at head or at `revision`; undefined when absent.
   * Reads taking a revision throw a RangeError unless it is an integer in 0..head.
   */
  getObject(path: string, opts?: { revision?: number }): Promise<StoredObject | undefined>;
  /**
   * The object at `path` and all its descendants ([] when absent), in tree order: paths compared
   * name by name (as `path.split("/")` arrays, names by UTF-16 code units), so each folder comes
   * right before its contents and siblings are sorted by name ("a", "a/b", "a-b").
   */
  listTree(path: string, opts?: { revision?: number }): Promise<StoredObject[]>;
  /**
   * What changed under `path` (inclusive) after revision `since` up to `until` (default head):
   * objects present at `until` that changed, and paths that existed at `since` but not at `until`.
   * A path deleted and re-added in between is only in `changed` (possibly with another kind);
   * one added and deleted in between is in neither. Both lists are in tree order (see listTree).
   * Requires 0 <= since <= until <= head (RangeError otherwise).
   */
  changesSince(
    path: string,
    since: number,
    opts?: { until?: number },
  ): Promise<{ changed: StoredObject[]; deleted: string[] }>;
  /**
   * Stores a blob from a file on disk whose SHA-256 is already known. Idempotent (storing an
   * existing blob renews its storage date, see `deleteUnreferencedBlobs`).
   * A crash part-way leaves no visible blob. Throws if the file's size is not `size`; the hash
   * is not re-checked. With `take`, the caller gives `file` away (a staged upload it deletes
   * next, never changes): the store may hard-link it instead of copying its bytes.
   */
  putBlobFromFile(hash: string, size: number, file: string, opts?: { take?: boolean }): Promise<void>;
  hasBlob(hash: string): Promise<boolean>;
  /**
   * Deletes blobs that no revision references (uploaded for commits that failed or never came)
   * and that were stored or re-used before `storedBefore` (ISO date): the grace period protects
   * uploads whose commit is still on its way. Safe beside running servers: it runs under the
   * commit lock, and `putBlobFromFile` of an existing blob renews its date. Returns what it freed.
   */
  deleteUnreferencedBlobs(storedBefore: string): Promise<{ blobs: number; bytes: number }>;
  /** Streams a blob's bytes without holding it all in memory; the stream errors for an unknown blob. */
  readBlob(hash: string): Readable;
  /**
   * The bytes of those of `hashes` that are stored as at most one chunk in the database, read in
   * one query: a snapshot of thousands of small files asks once per batch instead of once per
   * file. Blobs in files, blobs of more than one chunk and unknown hashes are left out; read
   * them with {@link readBlob}. The caller bounds the batch (its bytes are all in memory).
   */
  readSmallBlobs(hashes: readonly string[]): Promise<Map<string, Buffer>>;
  /**
   * Applies all changes in one transaction as a new revision, or throws and changes nothing.
   * Changes apply in the given order (folders before their contents). Every change is checked
   * first; then InvalidChangeError (malformed or impossible: no changes, a path twice, a change
   * inside a folder the same commit deletes, adding or deleting the root, a missing blob, a
   * parent that is a file, no base, a modify that changes nothing, …) wins over OutOfDateError,
   * which lists every stale path: a modified/deleted object that is gone or changed after its
   * base, an added path that exists, an added path whose folder is gone, and for a folder delete
   * each path inside it that changed after the base. Returns the new state of added and
   * modified objects (in change order) and every removed path (a deleted folder's contents too).
   */
  commit(input: CommitInput): Promise<{ revision: number; objects: StoredObject[]; deleted: string[] }>;
  /**
   * Revisions that touched `path` or anything under it, newest first, starting at `from`
   * (default head; RangeError beyond head), at most `limit` (a positive integer). "Touched" means
   * a change named the path or a path inside it; the deletion of an enclosing folder is not
   * listed for the paths inside it. For the root: every revision, down to 0 (author "system",
   * change `{ path: "", action: "A" }`). Each entry lists all changes of its revision, in tree order.
   */
  log(path: string, opts?: { limit?: number; from?: number }): Promise<RevisionInfo[]>;
  /** Adds an account. InvalidChangeError when the name is taken. */
  addAccount(name: string, passwordHash: string, role: string): Promise<void>;
  getAccount(name: string): Promise<(Account & { passwordHash: string }) | undefined>;
  countAccounts(): Promise<number>;
  /** All accounts, by name. */
  listAccounts(): Promise<Account[]>;
  /** Changes an account's password hash and/or role. InvalidChangeError for an unknown account. */
  updateAccount(name: string, change: { passwordHash?: string; role?: string }): Promise<void>;
  /** Removes an account with its keys, grants and tokens. InvalidChangeError for an unknown account. */
  removeAccount(name: string): Promise<void>;
  /** Adds an ssh key. InvalidChangeError for an unknown account or a key the account has already. */
  addAccountKey(key: AccountKey): Promise<void>;
  /** Removes a key by fingerprint; false when the account has no such key. */
  removeAccountKey(account: string, fingerprint: string): Promise<boolean>;
  /** One account's keys, or every account's when `account` is undefined. */
  listAccountKeys(account?: string): Promise<AccountKey[]>;
  /** Sets (adds or replaces) the role of `account` on `path`. InvalidChangeError for an unknown account. */
  setGrant(grant: Grant): Promise<void>;
  /** False when there was no such grant. */
  removeGrant(account: string, path: string): Promise<boolean>;
  /** One account's grants, or all, ordered by account then path. */
  listGrants(account?: string): Promise<Grant[]>;
  /** Stores a new token. InvalidChangeError for an unknown account or a duplicate id. */
  addToken(token: TokenRecord): Promise<void>;
  getToken(id: string): Promise<TokenRecord | undefined>;
  /** One account's tokens, or all, oldest first. */
  listTokens(account?: string): Promise<TokenRecord[]>;
  /** Marks a token revoked; false when unknown. */
  revokeToken(id: string): Promise<boolean>;
  /** The SyncML state of (account, device, datastore), or undefined when there is none. */
  getSyncState(account: string, device: string, datastore: string): Promise<SyncState | undefined>;
  /**
   * Stores (adds or replaces) a SyncML state in one statement. InvalidChangeError for an unknown
   * account. Removing the account removes its states.
   */
  putSyncState(state: SyncState): Promise<void>;
  /**
   * Every SyncML state with the time it was last stored (ISO), ordered by account, device and
   * datastore (code-unit order on every backend); `copy-store` compares source and copy with it.
   */
  listSyncStates(): Promise<(SyncState & { updatedAt: string })[]>;
  /**
   * Calls `listener` first with the head revision when listening starts, then with the revision
   * number of each new commit once it is committed, always increasing; returns a function that
   * unsubscribes. PostgreSQL reports commits made through ANY server on the same database and
   * schema (LISTEN/NOTIFY on channel `zsync_commits`, payload `SCHEMA:REVISION`); SQLite those of
   * this store at once and those of other connections and processes on the same file at its next
   * `data_version` check (`OpenStoreOptions.sqlitePollMs`). Notifications sent while the database
   * was unreachable are lost; after reconnecting PostgreSQL reports the head again, so a listener
   * may skip numbers and should read what it missed (`changesSince(path, lastSeen)`). Listeners
   * must not throw.
   */
  subscribeCommits(listener: (revision: number) => void): () => void;
  close(): Promise<void>;
}
