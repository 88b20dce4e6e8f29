/**
 * The repository as one principal may see and change it. The HTTP app gives every handler this
 * view instead of the store, so an endpoint cannot forget a check: hidden paths are absent from
 * every read (objects, listings, deltas, history), and a commit naming a path the principal may
 * not write throws before the store sees it.
 */
import type { RevisionInfo, Store } from "../store/types.js";
import type { Access } from "./access.js";

/** The content operations of a store; what request handlers get. */
export type ContentStore = Pick<Store, "info" | "getObject" | "listTree" | "changesSince" | "putBlobFromFile" | "hasBlob" | "readBlob" | "readSmallBlobs" | "commit" | "log">;

/** Revisions fetched per step when a `limit` must be filled from filtered history. */
const LOG_PAGE = 200;

function atOrInside(path: string, base: string): boolean {
  return base === "" || path === base || path.startsWith(base + "/");
}

/**
 * A log entry as the principal may see it (hidden changes left out), or undefined when nothing it
 * may see at or under `base` changed. Used by `log` here and by the `@@events` stream.
 */
export function visibleRevision(access: Access, entry: RevisionInfo, base: string): RevisionInfo | undefined {
  const changes = entry.changes.filter((c) => access.canRead(c.path));
  if (!changes.some((c) => atOrInside(c.path, base))) return undefined;
  return changes.length === entry.changes.length ? entry : { ...entry, changes };
}

/** Wraps `store` so that it shows and changes only what `access` allows. */
export function contentViewFor(store: ContentStore, access: Access): ContentStore {
  const visibleEntry = (entry: RevisionInfo, base: string) => visibleRevision(access, entry, base);

  return {
    info: () => store.info(),
    hasBlob: (hash) => store.hasBlob(hash),
    readBlob: (hash) => store.readBlob(hash),
    readSmallBlobs: (hashes) => store.readSmallBlobs(hashes),
    putBlobFromFile: (hash, size, file, opts) => store.putBlobFromFile(hash, size, file, opts),

    async getObject(path, opts) {
      if (!access.canRead(path)) return undefined;
      return store.getObject(path, opts);
    },

    async listTree(path, opts) {
      if (!access.canRead(path)) return [];
      return (await store.listTree(path, opts)).filter((object) => access.canSeeFrom(path, object.path));
    },

    async changesSince(path, since, opts) {
      // A path hidden now is in neither list, so hiding a path never shows as deleting it.
      if (!access.canRead(path)) return { changed: [], deleted: [] };
      const delta = await store.changesSince(path, since, opts);
      return {
        changed: delta.changed.filter((object) => access.canSeeFrom(path, object.path)),
        deleted: delta.deleted.filter((p) => access.canSeeFrom(path, p)),
      };
    },

    async log(path, opts = {}) {
      if (!access.canRead(path)) return [];
      if (opts.limit === undefined) {
        return (await store.log(path, opts)).flatMap((entry) => visibleEntry(entry, path) ?? []);
      }
      // Filtering drops entries, so read on until `limit` visible ones are found or history ends.
      const found: RevisionInfo[] = [];
      let from = opts.from;
      for (;;) {
        const page = await store.log(path, { limit: Math.max(opts.limit, LOG_PAGE), from });
        for (const entry of page) {
          const visible = visibleEntry(entry, path);
          if (visible) found.push(visible);
          if (found.length === opts.limit) return found;
        }
        const last = page[page.length - 1];
        if (page.length < Math.max(opts.limit, LOG_PAGE) || last === undefined || last.revision === 0) return found;
        from = last.revision - 1;
      }
    },

    async commit(input) {
      for (const change of input.changes) access.checkChange(change.op, change.path);
      return store.commit(input);
    },
  };
}
