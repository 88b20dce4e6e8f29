/**
 * `config policy`: the checkout's conflict policies by path prefix, kept in `.zsync/config.json`
 * (`policies`). A prefix is a checkout path (`contacts/` and `contacts` are the same prefix; `.`
 * or `""` is the whole checkout).
 */
import type { ConflictPolicy } from "../merge/content-kinds.js";
import { checkArchivePath } from "../protocol/paths.js";
import { WcError, writeConfig } from "./admin.js";
import type { WorkingCopy } from "./session.js";

export interface PolicyOptions {
  /** Checkout path prefix (already relative to the checkout root). */
  prefix: string;
  /** The policy to set; undefined with `unset` removes the prefix's policy. */
  policy?: ConflictPolicy;
  unset?: boolean;
}

/** The normalised key of a prefix: no trailing slash, `""` for the whole checkout. */
export function policyKey(prefix: string): string {
  const bare = prefix.replace(/\/+$/, "");
  if (bare === "" || bare === ".") return "";
  try {
    checkArchivePath(bare);
  } catch (error) {
    throw new WcError("bad-path", `'${prefix}' is not a checkout path: ${(error as Error).message}`, 2);
  }
  return bare;
}

/** Sets or removes one prefix's policy (on a locked checkout); returns every policy afterwards. */
export async function setPolicy(wc: WorkingCopy, opts: PolicyOptions): Promise<Record<string, ConflictPolicy>> {
  const key = policyKey(opts.prefix);
  const policies = new Map(Object.entries(wc.config.policies ?? {}).map(([k, v]) => [policyKey(k), v]));
  if (opts.unset) policies.delete(key);
  else if (opts.policy) policies.set(key, opts.policy);
  const next = Object.fromEntries([...policies].sort(([a], [b]) => a.localeCompare(b)));
  const config = { ...wc.config };
  if (Object.keys(next).length > 0) config.policies = next;
  else delete config.policies;
  await writeConfig(wc.root, config);
  wc.config.policies = config.policies;
  return next;
}
