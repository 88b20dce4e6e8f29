/**
 * What `zsync watch --commit` does with each changed path after a quiet period (pure: no I/O).
 *
 * | content / metadata state                          | decision                                   |
 * |---------------------------------------------------|--------------------------------------------|
 * | `M`, `A`, `R` content, or `M` metadata            | commit                                     |
 * | `C` content or `C` metadata                       | conflict: never committed until resolved   |
 * | `?` unversioned                                   | held (`unversioned`): `zsync add` it first |
 * | `!` missing                                       | held (`missing`): never deleted on the server by a watcher; `zsync remove` it |
 * | `~` obstructed (a file became a folder, …)        | held (`obstructed`)                        |
 * | a metadata file that cannot be read (`metaError`) | held (`bad-meta`), unless scheduled for removal |
 *
 * A watcher never adds or deletes on its own: a half-written new file or an editor's rename dance
 * that leaves a path missing for a moment must not reach the server. Scheduled additions and
 * removals (`zsync add`, `zsync remove`) are committed like edits.
 */

/** The scan letters of one path (see src/wc/scan.ts). */
export interface AutoCommitItem {
  path: string;
  content: "?" | "A" | "R" | "M" | "C" | "!" | "~" | "=";
  meta: " " | "M" | "C";
  metaError?: string;
}

export type HoldReason = "unversioned" | "missing" | "obstructed" | "bad-meta";

export interface AutoCommitPlan {
  /** Paths to commit now, in scan order. */
  commit: string[];
  /** Paths in conflict (content or metadata). */
  conflicts: string[];
  /** Changed paths a watcher leaves to the user, and why. */
  held: { path: string; reason: HoldReason }[];
}

/** Sorts the changed paths of a scan into commit, conflicts and held. */
export function planAutoCommit(items: readonly AutoCommitItem[]): AutoCommitPlan {
  const plan: AutoCommitPlan = { commit: [], conflicts: [], held: [] };
  for (const item of items) {
    if (item.content === "C" || item.meta === "C") plan.conflicts.push(item.path);
    else if (item.content === "?") plan.held.push({ path: item.path, reason: "unversioned" });
    else if (item.content === "!") plan.held.push({ path: item.path, reason: "missing" });
    else if (item.content === "~") plan.held.push({ path: item.path, reason: "obstructed" });
    else if (item.metaError !== undefined && item.content !== "R") plan.held.push({ path: item.path, reason: "bad-meta" });
    else if (item.content !== "=" || item.meta !== " ") plan.commit.push(item.path);
  }
  return plan;
}

/** Fills a commit message template: `{count}`, `{paths}` (at most five, then "and N more"), `{user}`, `{host}`, `{date}`. */
export function commitMessage(template: string, values: { paths: readonly string[]; user: string; host: string; date: Date }): string {
  const shown = values.paths.slice(0, 5).map((p) => (p === "" ? "." : p));
  const more = values.paths.length - shown.length;
  const fields: Record<string, string> = {
    count: String(values.paths.length),
    paths: shown.join(", ") + (more > 0 ? ` and ${more} more` : ""),
    user: values.user,
    host: values.host,
    date: values.date.toISOString(),
  };
  return template.replace(/\{(count|paths|user|host|date)\}/g, (_, key: string) => fields[key]);
}

/** The default `--message` template. */
export const DEFAULT_WATCH_MESSAGE = "zsync watch: {paths}";
