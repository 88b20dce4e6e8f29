/** A helper both commit feeds share (sqlite/commit-feed.ts, postgres/notify.ts). */

/** Calls `listener` only with revisions beyond the last it was given (`Store.subscribeCommits` promises increasing calls). */
export function increasing(listener: (revision: number) => void): (revision: number) => void {
  let last = -1;
  return (revision) => {
    if (revision > last) {
      last = revision;
      listener(revision);
    }
  };
}
