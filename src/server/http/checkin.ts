/**
 * `POST <parent>/@@checkin.snarf?name=NEW`: imports a tree (or one file) as a new object in
 * one revision. Archive paths are relative to the parent: `NEW` is a file, `NEW/…` a folder.
 */
import { parseCheckinManifest } from "../../protocol/manifest.js";
import { ArchivePathError, checkArchivePath, isReservedName, parentPath } from "../../protocol/paths.js";
import type { ObjectMeta } from "../../protocol/types.js";
import type { StoreChange } from "../store/types.js";
import { commitOrExplain } from "./commit.js";
import type { RequestContext } from "./context.js";
import { HiddenPathError } from "../authz/access.js";
import { HttpError, sendJson } from "./errors.js";
import { absoluteFrom } from "./params.js";
import { checkTypedCheckin } from "./typed-content.js";
import { asClientError, receiveArchive } from "./upload.js";

/** Handles a checkin; see docs/PROTOCOL.md. */
export async function handleCheckin(ctx: RequestContext): Promise<void> {
  const { store, target } = ctx;
  const name = target.query.get("name") ?? "";
  if (name === "" || name.includes("/")) throw new HttpError(400, "bad-request", "checkin needs ?name=NEW, a single object name");
  if (isReservedName(name)) throw new HttpError(400, "reserved-name", `object names starting with @@ are reserved: ${name}`);
  try {
    checkArchivePath(name);
  } catch (error) {
    if (error instanceof ArchivePathError) throw new HttpError(400, "bad-path", error.message);
    throw error;
  }
  const parent = await store.getObject(target.objectPath);
  if (!parent) throw new HttpError(404, "not-found", `no object at /${target.objectPath}`);
  if (parent.kind !== "folder") throw new HttpError(409, "not-a-folder", `/${target.objectPath} is not a folder`);
  const newPath = absoluteFrom(target.objectPath, name);
  // Refuse before reading the body. A hidden name gets what a taken name gets, whatever is (or is
  // not) there: a 404 would tell hidden names from free ones, and creating it is not allowed.
  try {
    ctx.access.checkChange("add", newPath);
  } catch (error) {
    if (error instanceof HiddenPathError) throw new HttpError(409, "exists", `/${newPath} already exists`);
    throw error;
  }
  if (await store.getObject(newPath)) throw new HttpError(409, "exists", `/${newPath} already exists`);

  const received = await receiveArchive(ctx);
  try {
    let meta: Record<string, ObjectMeta> = {};
    let note = target.query.get("note") ?? "";
    if (received.manifest !== undefined) {
      try {
        const manifest = parseCheckinManifest(received.manifest, ctx.limits);
        meta = manifest.meta;
        note = manifest.note ?? note;
      } catch (error) {
        throw asClientError(error);
      }
    }
    const inside = (path: string) => path === name || path.startsWith(name + "/");
    for (const path of [...received.dirs, ...received.files.keys(), ...Object.keys(meta)]) {
      if (!inside(path)) throw new HttpError(400, "bad-archive", `checkin of ${name} carries ${path}, which is outside it`);
    }
    const isFile = received.files.has(name);
    if (isFile && (received.files.size > 1 || received.dirs.some((d) => d !== name))) {
      throw new HttpError(400, "bad-archive", `${name} is both a file and a folder in the archive`);
    }
    if (!isFile && received.files.size === 0 && received.dirs.length === 0) throw new HttpError(400, "bad-archive", "checkin archive is empty");

    const folders = new Set<string>();
    if (!isFile) {
      for (const path of [...received.dirs, ...[...received.files.keys()].map(parentPath)]) {
        for (let p = path; p !== "" && inside(p); p = parentPath(p)) folders.add(p);
      }
    }
    const depth = (p: string) => p.split("/").length;
    const changes: StoreChange[] = [
      ...[...folders].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1)).map(
        (path): StoreChange => ({ op: "add", path: absoluteFrom(target.objectPath, path), kind: "folder", meta: meta[path] }),
      ),
      ...[...received.files.values()].map(
        (staged): StoreChange => ({ op: "add", path: absoluteFrom(target.objectPath, staged.path), kind: "file", hash: staged.hash, meta: meta[staged.path] }),
      ),
    ];
    await checkTypedCheckin(ctx.types, received, meta);
    for (const staged of received.files.values()) await store.putBlobFromFile(staged.hash, staged.size, staged.file, { take: true });
    const result = await commitOrExplain(ctx, { author: ctx.principal.name, note: note || `import ${name}`, changes });
    sendJson(ctx.res, 200, result);
  } finally {
    await received.cleanup();
  }
}
