/**
 * `POST <path>/@@fromFS.snarf`: applies a commit all-or-nothing, or answers 409 with the
 * out-of-date paths. Bodies are staged first, so nothing reaches the store from a truncated
 * or malformed upload.
 */
import { parseCommitManifest } from "../../protocol/manifest.js";
import type { CommitChange, CommitManifest, CommitResult } from "../../protocol/types.js";
import { HiddenPathError } from "../authz/access.js";
import { InvalidChangeError, OutOfDateError, type StoreChange } from "../store/types.js";
import type { RequestContext } from "./context.js";
import { HttpError, sendJson } from "./errors.js";
import { absoluteFrom, relativeTo } from "./params.js";
import { toEntryInfo } from "./snapshot.js";
import { checkTypedContent } from "./typed-content.js";
import { asClientError, receiveArchive, type ReceivedArchive } from "./upload.js";

/** Handles a commit; see docs/PROTOCOL.md. */
export async function handleCommit(ctx: RequestContext): Promise<void> {
  const { store, target } = ctx;
  const object = await store.getObject(target.objectPath);
  if (!object) throw new HttpError(404, "not-found", `no object at /${target.objectPath}`);
  // Refuse before reading the body: a reader's commit costs the server nothing.
  ctx.access.checkMayCommitTo(target.objectPath);
  let manifest: CommitManifest | undefined;
  const received = await receiveArchive(ctx, {
    onManifest(value) {
      try {
        manifest = parseCommitManifest(value, ctx.limits);
      } catch (error) {
        throw asClientError(error);
      }
      if (manifest.changes.length === 0) throw new HttpError(400, "bad-manifest", "commit has no changes");
      if (object.kind === "file" && manifest.changes.some((change) => change.path !== "")) {
        throw new HttpError(400, "bad-manifest", "a commit posted to a file can only modify that file (path \"\")");
      }
      // Permissions of every change before any file body is staged. A change naming a path the
      // principal may not read gets what a change naming a missing or taken path gets (409
      // out-of-date): a 404 would tell hidden paths from missing ones.
      const hidden: string[] = [];
      for (const change of manifest.changes) {
        try {
          ctx.access.checkChange(SCHEDULE_OP[change.schedule], absoluteFrom(target.objectPath, change.path));
        } catch (error) {
          if (!(error instanceof HiddenPathError)) throw error;
          hidden.push(change.path);
        }
      }
      if (hidden.length > 0) throw new HttpError(409, "out-of-date", `out of date (update first): ${hidden.join(", ")}`, hidden);
    },
  });
  try {
    if (manifest === undefined) throw new HttpError(400, "bad-manifest", "commit archive must start with the manifest record");
    checkBodiesMatch(manifest.changes, received);
    const changes = toStoreChanges(target.objectPath, manifest.changes, received);
    await checkTypedContent(ctx, ctx.types, manifest.changes, received);
    for (const staged of received.files.values()) await store.putBlobFromFile(staged.hash, staged.size, staged.file, { take: true });
    const note = manifest.note ?? target.query.get("note") ?? "";
    const result = await commitOrExplain(ctx, { author: ctx.principal.name, note, changes });
    sendJson(ctx.res, 200, result);
  } finally {
    await received.cleanup();
  }
}

const SCHEDULE_OP = { added: "add", modified: "modify", removed: "delete" } as const;

/** Runs a store commit, turning store verdicts into HTTP answers with paths relative to the target. */
export async function commitOrExplain(
  ctx: RequestContext,
  input: { author: string; note: string; changes: StoreChange[] },
  base = ctx.target.objectPath,
): Promise<CommitResult> {
  try {
    const done = await ctx.store.commit(input);
    return {
      revision: done.revision,
      entries: done.objects.map((o) => toEntryInfo(o, relativeTo(base, o.path))),
      deleted: done.deleted.map((p) => relativeTo(base, p)),
    };
  } catch (error) {
    if (error instanceof OutOfDateError) {
      const paths = error.paths.map((p) => relativeTo(base, p));
      throw new HttpError(409, "out-of-date", `out of date (update first): ${paths.join(", ")}`, paths);
    }
    if (error instanceof InvalidChangeError) {
      throw new HttpError(409, "invalid-change", error.message, error.paths.map((p) => relativeTo(base, p)));
    }
    throw error;
  }
}

function checkBodiesMatch(changes: CommitChange[], received: ReceivedArchive): void {
  const wanted = new Set(changes.filter((c) => c.content).map((c) => c.path));
  for (const path of wanted) {
    if (!received.files.has(path)) throw new HttpError(400, "bad-archive", `manifest announces content for ${path} but the archive has no such record`);
  }
  for (const path of received.files.keys()) {
    if (!wanted.has(path)) throw new HttpError(400, "bad-archive", `archive carries ${path}, which the manifest does not announce`);
  }
  if (received.dirs.length > 0) throw new HttpError(400, "bad-archive", "commit archives carry no directory records (folders are in the manifest)");
}

function toStoreChanges(base: string, changes: CommitChange[], received: ReceivedArchive): StoreChange[] {
  const removed = new Set(changes.filter((c) => c.schedule === "removed").map((c) => c.path));
  const coveredByRemovedAncestor = (path: string) => {
    for (let i = path.lastIndexOf("/"); i > 0; i = path.lastIndexOf("/", i - 1)) {
      if (removed.has(path.slice(0, i))) return true;
    }
    return false;
  };
  const depth = (path: string) => (path === "" ? 0 : path.split("/").length);
  // Parents before children, so additions find their folder; removals inside a removed folder are implied.
  return [...changes]
    .filter((change) => !(change.schedule === "removed" && coveredByRemovedAncestor(change.path)))
    .sort((a, b) => depth(a.path) - depth(b.path))
    .map((change): StoreChange => {
      const path = absoluteFrom(base, change.path);
      const hash = change.content ? received.files.get(change.path)!.hash : undefined;
      const bases = { baseRevision: change.baseRevision, baseHash: change.baseHash };
      switch (change.schedule) {
        case "added":
          return { op: "add", path, kind: change.kind, hash, meta: change.meta ?? undefined };
        case "removed":
          return { op: "delete", path, ...bases };
        case "modified":
          if (change.meta === undefined && hash === undefined) throw new HttpError(400, "bad-manifest", `modified path ${change.path} carries neither content nor metadata`);
          return { op: "modify", path, ...bases, hash, meta: change.meta };
      }
    });
}
