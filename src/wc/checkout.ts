/**
 * `checkout`: makes a new checkout of a server folder in `dir` (svn style: the folder's
 * contents land directly in `dir`).
 */
import { mkdir, readdir, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { ZsyncClient } from "../transport/http/client.js";
import { ProtocolError } from "../transport/http/client.js";
import { adminPaths, FORMAT_VERSION, WcError, writeConfig, type Depth } from "./admin.js";
import { applyRemote, withinDepth, type ApplyResult } from "./apply-remote.js";
import { EarlyWriter } from "./early-writes.js";
import { saveEntries } from "./entries.js";
import { hasJournal } from "./journal.js";
import { withWorkingCopy } from "./session.js";

export interface CheckoutOptions {
  client: ZsyncClient;
  /** Server origin, without credentials. */
  origin: string;
  /** Repository path of the folder to check out ("" for the root). */
  path: string;
  user?: string;
  /** Absolute path of the CA file used for an https:// origin, remembered for later commands. */
  ca?: string;
  dir: string;
  depth?: Depth;
  /** Check out this revision instead of head. */
  revision?: number;
  progress?: (received: number, total: number) => void;
}

/** Checks out a folder; on failure before anything was written, leaves no directory behind. */
export async function checkout(opts: CheckoutOptions): Promise<ApplyResult & { root: string }> {
  const root = resolve(opts.dir);
  const existing = await stat(root).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new WcError("exists", `${opts.dir} exists and is not a directory`);
  if (existing && (await stat(adminPaths(root).incomplete).catch(() => undefined))) {
    throw new WcError("checkout-incomplete", `${opts.dir} holds an interrupted checkout; run \`zsync update\` in ${opts.dir} to finish it`);
  }
  if (existing && (await readdir(root)).length > 0) throw new WcError("exists", `${opts.dir} is not empty; check out into a new or empty directory`);

  const info = await opts.client.info().catch((error: unknown) => {
    // Any answer but a zsync one (a web page's 404, …) means the URL does not point at a zsync server.
    if (error instanceof ProtocolError && error.code === "http-error") {
      throw new WcError("not-zsync", `${opts.origin} is not a zsync server (GET /.well-known/zsync answered ${error.status}); check the URL`);
    }
    throw error;
  });
  // Fetch before creating anything, so a wrong URL leaves nothing on disk.
  let snapshot;
  try {
    snapshot = await opts.client.snapshot(opts.path, { rev: opts.revision });
  } catch (error) {
    if (error instanceof ProtocolError && error.status === 404) throw new WcError("not-found", `there is no folder /${opts.path} on ${opts.origin}`);
    throw error;
  }
  const top = snapshot.manifest.entries[0];
  if (!top || top.path !== "" || top.kind !== "folder") {
    await snapshot.records.return(undefined);
    throw new WcError("not-a-folder", `/${opts.path} is a file; check out the folder that contains it`);
  }

  const paths = adminPaths(root);
  try {
    await mkdir(paths.pristine, { recursive: true });
    await writeFile(paths.format, `${FORMAT_VERSION}\n`);
    await writeConfig(root, { origin: opts.origin, path: opts.path, user: opts.user, repository: info.repository.uuid, depth: opts.depth ?? "infinity", ...(opts.ca && opts.origin.startsWith("https:") ? { ca: opts.ca } : {}) });
    await saveEntries(root, { revision: 0, entries: new Map([["", { kind: "folder", revision: 0 }]]) });
    await writeFile(paths.incomplete, "the checkout was interrupted; `zsync update` finishes it\n");
  } catch (error) {
    await snapshot.records.return(undefined);
    if (!existing) await rm(root, { recursive: true, force: true });
    throw error;
  }
  let result: ApplyResult;
  // The working files of small bodies are created on a worker thread as they arrive.
  const depth = opts.depth ?? "infinity";
  const wanted = snapshot.manifest.entries.filter((e) => e.path !== "" && withinDepth(e.path, e.kind, depth));
  const folders = wanted.filter((e) => e.kind === "folder").map((e) => e.path);
  const early = EarlyWriter.forCheckout(root, wanted.length - folders.length, folders);
  try {
    result = await withWorkingCopy(root, { lock: "checkout" }, (wc) => applyRemote(wc, snapshot, { full: true, command: "checkout", progress: opts.progress, early }));
  } catch (error) {
    if (!(await hasJournal(root))) {
      // Interrupted while receiving (connection lost, disk full…): only the admin area and the
      // files the early writer made were written, so leave no half checkout behind.
      await early?.undo().catch(() => {}); // the error that stopped the checkout is the one to report
      await rm(paths.admin, { recursive: true, force: true });
      if (!existing) await rmdir(root).catch(() => {});
      throw error;
    }
    // Interrupted while writing the files: the journal holds the rest; cleanup finishes it.
    const e = error as NodeJS.ErrnoException;
    const cause = e.code === "ENOSPC" ? `disk full${e.path ? ` while writing ${e.path}` : ""}` : e.message;
    throw new WcError("checkout-interrupted", `the checkout into ${opts.dir} was interrupted (${cause}); once that is fixed, run \`zsync cleanup\` in ${opts.dir} to finish it`);
  }
  await rm(paths.incomplete, { force: true });
  return { ...result, root };
}
