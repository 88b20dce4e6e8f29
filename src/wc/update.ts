/**
 * `update`: brings the server's changes since the checkout's revision into the checkout,
 * three-way merging local modifications; never destroys them.
 */
import type { ZsyncClient } from "../transport/http/client.js";
import { WcError } from "./admin.js";
import { applyRemote, type ApplyResult } from "./apply-remote.js";
import type { WorkingCopy } from "./session.js";

export interface UpdateOptions {
  client: ZsyncClient;
  /** Limit the update to these checkout paths. */
  paths?: string[];
  /** Target revision (default: head). */
  revision?: number;
  progress?: (received: number, total: number) => void;
}

/** Updates an open (locked) checkout. */
export async function update(wc: WorkingCopy, opts: UpdateOptions): Promise<ApplyResult> {
  const info = await opts.client.info();
  if (info.repository.uuid !== wc.config.repository) {
    throw new WcError("wrong-repository", `the server at ${wc.config.origin} holds another repository (uuid ${info.repository.uuid}, this checkout has ${wc.config.repository})`);
  }
  if (opts.revision !== undefined && opts.revision > info.repository.revision) {
    throw new WcError("no-such-revision", `revision ${opts.revision} does not exist yet (head is ${info.repository.revision})`, 2);
  }
  // Going back in time needs the whole state at that revision; forward, the delta suffices.
  const backwards = opts.revision !== undefined && opts.revision < wc.entries.revision;
  const snapshot = await opts.client.snapshot(wc.config.path, backwards ? { rev: opts.revision } : { since: wc.entries.revision, rev: opts.revision });
  return applyRemote(wc, snapshot, { full: backwards, paths: opts.paths, command: "update", progress: opts.progress });
}
