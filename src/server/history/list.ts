/**
 * An object and its children at a revision, with who changed each last: what `zsync list` and
 * the /manage browser show. Reads through the caller's content view, so hidden objects are absent.
 */
import { baseName } from "../../protocol/paths.js";
import type { ListEntry, ListResult } from "../../protocol/types.js";
import type { ContentStore } from "../authz/content-view.js";
import type { RevisionInfo, StoredObject } from "../store/types.js";

/** Author and date of revisions, looked up once each. */
export function revisionLookup(store: Pick<ContentStore, "log">): (revision: number) => Promise<RevisionInfo | undefined> {
  const cache = new Map<number, Promise<RevisionInfo | undefined>>();
  return (revision) => {
    let found = cache.get(revision);
    if (!found) {
      // The root's history lists every revision the caller may see; one with no visible change is absent.
      found = store.log("", { from: revision, limit: 1 }).then(([info]) => (info?.revision === revision ? info : undefined));
      cache.set(revision, found);
    }
    return found;
  };
}

/** Folders first, then by name (code units, as the store sorts). */
export function folderFirst(a: { kind: string; name: string }, b: { kind: string; name: string }): number {
  if (a.kind !== b.kind) return a.kind === "folder" ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The wire form of a stored object, with its last revision's author and date. */
export async function toListEntry(object: StoredObject, lookup: ReturnType<typeof revisionLookup>): Promise<ListEntry> {
  const info = await lookup(object.revision);
  return {
    path: "/" + object.path,
    name: baseName(object.path),
    kind: object.kind,
    revision: object.revision,
    ...(object.kind === "file" ? { hash: object.hash, size: object.size } : {}),
    ...(object.meta ? { meta: object.meta } : {}),
    ...(info ? { author: info.author, date: info.date } : {}),
  };
}

/** The object at `path` (at `revision`, default head) and its direct children; undefined when absent or hidden. */
export async function listObject(store: ContentStore, path: string, opts: { revision?: number } = {}): Promise<ListResult | undefined> {
  const revision = opts.revision ?? (await store.info()).head;
  const object = await store.getObject(path, { revision });
  if (!object) return undefined;
  const lookup = revisionLookup(store);
  const depth = path === "" ? 1 : path.split("/").length + 1;
  const children = object.kind === "folder" ? (await store.listTree(path, { revision })).filter((o) => o.path !== "" && o.path.split("/").length === depth) : [];
  const entries = await Promise.all(children.map((child) => toListEntry(child, lookup)));
  return { revision, entry: await toListEntry(object, lookup), children: entries.sort(folderFirst) };
}
