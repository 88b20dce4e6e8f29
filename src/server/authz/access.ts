/**
 * Who may read and write what: roles, per-path grants, and the errors a refused operation
 * raises. Every endpoint goes through here — through the permission-checked store view
 * (`content-view.ts`) that the HTTP app hands to the handlers, plus the early checks handlers
 * make before reading an upload. Rules (docs/PROTOCOL.md, "Authentication and permissions"):
 *
 * - An account's role applies to the whole repository; a grant gives the account a role on a
 *   subtree, and the nearest grant (the path itself, else its closest granted ancestor) wins.
 * - `reader` reads, `editor` and `manager` read and write, `none` (grants only) hides.
 */
import type { Principal } from "../auth.js";
import type { Grant, Store } from "../store/types.js";

/** Roles an account can have. */
export const ACCOUNT_ROLES = ["manager", "editor", "reader"] as const;
/** Roles a grant can give: an account role, or `none`, which hides the subtree. */
export const GRANT_ROLES = [...ACCOUNT_ROLES, "none"] as const;

export type AccountRole = (typeof ACCOUNT_ROLES)[number];
export type GrantRole = (typeof GRANT_ROLES)[number];

const WRITE_ROLES: ReadonlySet<string> = new Set(["manager", "editor"]);
// An unknown role string in the store (a typo, a newer server's role) grants nothing.
const READ_ROLES: ReadonlySet<string> = new Set(ACCOUNT_ROLES);

/** A change names a path the principal may read but not change (HTTP 403 `forbidden`). */
export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ForbiddenError";
  }
}

/**
 * A change names a path hidden from the principal (HTTP 404, worded like a missing object).
 * The answer depends only on the principal's grants, never on what is stored there.
 */
export class HiddenPathError extends Error {
  readonly path: string;
  constructor(path: string) {
    super(`no object at /${path}`);
    this.name = "HiddenPathError";
    this.path = path;
  }
}

/** `docs/a` → [``, `docs`, `docs/a`]: the path and every ancestor, root first. */
function selfAndAncestors(path: string): string[] {
  if (path === "") return [""];
  const parts = path.split("/");
  return ["", ...parts.map((_, i) => parts.slice(0, i + 1).join("/"))];
}

function isInside(path: string, base: string): boolean {
  return base === "" ? path !== "" : path.startsWith(base + "/");
}

/** What one principal may do, from its account role and its grants (repository paths, no leading slash). */
export class Access {
  readonly name: string;
  readonly accountRole: string;
  private readonly grants: Map<string, string>;

  constructor(name: string, accountRole: string, grants: Pick<Grant, "path" | "role">[] = []) {
    this.name = name;
    this.accountRole = accountRole;
    this.grants = new Map(grants.map((g) => [g.path, g.role]));
  }

  /** The role that applies at `path`: the nearest grant, else the account's role. */
  roleAt(path: string): string {
    if (this.grants.size === 0) return this.accountRole;
    const chain = selfAndAncestors(path);
    for (let i = chain.length - 1; i >= 0; i--) {
      const granted = this.grants.get(chain[i]);
      if (granted !== undefined) return granted;
    }
    return this.accountRole;
  }

  /** The principal may see the object at `path` when addressing it directly. */
  canRead(path: string): boolean {
    return READ_ROLES.has(this.roleAt(path));
  }

  /** The principal may add, change or delete the object at `path` (not counting its contents). */
  canWrite(path: string): boolean {
    return WRITE_ROLES.has(this.roleAt(path));
  }

  /**
   * `path` shows in a listing rooted at `base` (a snapshot): it and every folder between `base`
   * and it are readable, so a listing is always a connected tree.
   */
  canSeeFrom(base: string, path: string): boolean {
    if (path !== base && !isInside(path, base)) return false;
    if (this.grants.size === 0) return READ_ROLES.has(this.accountRole);
    // One walk from the root down: after each folder, `role` is roleAt(that folder). A snapshot
    // asks this of every path it lists (100k at a time), so no chain is built per ancestor.
    let role = this.grants.get("") ?? this.accountRole;
    if (base === "" && !READ_ROLES.has(role)) return false;
    for (let end = path.indexOf("/"); ; end = path.indexOf("/", end + 1)) {
      const prefix = end < 0 ? path : path.slice(0, end);
      if (prefix === "") break;
      role = this.grants.get(prefix) ?? role;
      if (prefix.length >= base.length && !READ_ROLES.has(role)) return false;
      if (end < 0) break;
    }
    return true;
  }

  /** Some path at or below `path` is writable: a commit posted there may be allowed. */
  mayWriteUnder(path: string): boolean {
    if (this.canWrite(path)) return true;
    for (const [granted, role] of this.grants) if (isInside(granted, path) && WRITE_ROLES.has(role)) return true;
    return false;
  }

  /**
   * Checks one change of a commit; throws HiddenPathError or ForbiddenError. Deleting a folder
   * deletes all in it, so it needs no grant inside it that takes writing away (whatever is stored:
   * the answer depends on grants only, so it reveals nothing hidden).
   */
  checkChange(op: "add" | "modify" | "delete", path: string): void {
    if (!this.canRead(path)) throw new HiddenPathError(path);
    if (!this.canWrite(path)) throw new ForbiddenError(`you (${this.roleAt(path)}) may not ${op === "add" ? "add" : op === "modify" ? "change" : "delete"} /${path}`);
    if (op === "delete") {
      for (const [granted, role] of this.grants) {
        if (isInside(granted, path) && !WRITE_ROLES.has(role)) {
          throw new ForbiddenError(`you may not delete /${path}: it holds content you may not change`);
        }
      }
    }
  }

  /** Throws ForbiddenError unless a commit posted to `path` could change something. */
  checkMayCommitTo(path: string): void {
    if (!this.mayWriteUnder(path)) throw new ForbiddenError(`you (${this.roleAt(path)}) may not commit to /${path}`);
  }
}

/**
 * The access of a principal as the store says now: the account's current role and grants, so
 * a role change, a grant or a removal applies to the very next request, whatever transport
 * authenticated it. Undefined when the account no longer exists (the caller answers 401).
 * Without any account, the server's anonymous principal keeps its role and has no grants.
 */
export async function resolveAccess(store: Pick<Store, "getAccount" | "countAccounts" | "listGrants">, principal: Principal): Promise<Access | undefined> {
  const account = await store.getAccount(principal.name);
  if (!account) {
    if ((await store.countAccounts()) === 0) return new Access(principal.name, principal.role);
    return undefined;
  }
  return new Access(account.name, account.role, await store.listGrants(account.name));
}
