/**
 * The object a history command (log, cat, list, diff -r) talks about: a server URL, or a path in
 * the checkout (its repository path, and the checkout's revision for BASE).
 */
import type { ZsyncClient } from "../transport/http/client.js";
import { repositoryPath } from "../wc/log.js";
import { checkoutOfPaths, toCheckoutPaths, withWorkingCopy } from "../wc/session.js";
import { clientFor, clientForUrl } from "./connect.js";
import type { GlobalArgs } from "./output.js";

/** A resolved target. */
export interface HistoryTarget {
  client: ZsyncClient;
  /** Repository path, no leading slash ("" is the root). */
  path: string;
  /** BASE: the checkout's revision, or the path's own when it was committed later. */
  base?: number;
  /** The path inside the checkout, for checkout paths. */
  checkoutPath?: string;
  /** The checkout's root directory, for checkout paths. */
  root?: string;
  /** The object's own revision at BASE, when the checkout tracks it (not for added paths). */
  entryRevision?: number;
}

/** True when `target` is a URL (`http://…`, `zsync+ssh://…`) rather than a checkout path. */
export function isUrl(target: string | undefined): target is string {
  return target !== undefined && /^[a-z][a-z0-9+.-]*:\/\//i.test(target);
}

/** Resolves a URL or a checkout path (default: the checkout's root folder, from the current directory). */
export async function resolveHistoryTarget(target: string | undefined, args: GlobalArgs): Promise<HistoryTarget> {
  if (isUrl(target)) {
    const { client, path } = await clientForUrl(target, args);
    return { client, path };
  }
  return withWorkingCopy(await checkoutOfPaths(target === undefined ? [] : [target]), {}, async (wc) => {
    const [checkoutPath] = target === undefined ? [""] : toCheckoutPaths(wc.root, [target]);
    const client = await clientFor(wc.config, args);
    const entryRevision = wc.entries.entries.get(checkoutPath)?.revision;
    return {
      client,
      path: repositoryPath(checkoutPath, wc.config.path),
      // BASE of a path committed since the last update is the revision of that commit.
      base: Math.max(wc.entries.revision, entryRevision ?? 0),
      checkoutPath,
      root: wc.root,
      entryRevision,
    };
  });
}

/** The server's head revision, asked once. */
export function headOf(client: ZsyncClient): () => Promise<number> {
  let head: Promise<number> | undefined;
  return () => (head ??= client.info().then((info) => info.repository.revision));
}
