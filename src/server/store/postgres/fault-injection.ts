/**
 * A fault-injection point for tests (docs/TESTING.md): with `ZSYNC_TEST_PAUSE_IN_COMMIT` set in
 * a server's environment, its PostgreSQL commit transaction stops at the named point, prints
 * `zsync-test: paused in commit transaction (POINT, revision N)` on stderr, and never goes on:
 * the test then kills the process (`kill -9`) at a known place inside the transaction. Points:
 * `locked` (after BEGIN and the repository row lock, nothing written yet) and `written` (every
 * row of the revision and its NOTIFY written, COMMIT not yet sent). Unset (production), nothing
 * happens. Never set it on a server that should finish its commits.
 */

/** Where a commit transaction may pause. */
export type CommitPausePoint = "locked" | "written";

const POINTS: readonly CommitPausePoint[] = ["locked", "written"];

/** The pause point the environment asks for; throws for a value that names none. */
export function commitPausePoint(env: NodeJS.ProcessEnv = process.env): CommitPausePoint | undefined {
  const value = env.ZSYNC_TEST_PAUSE_IN_COMMIT;
  if (value === undefined || value === "") return undefined;
  if (!(POINTS as readonly string[]).includes(value)) {
    throw new Error(`ZSYNC_TEST_PAUSE_IN_COMMIT=${JSON.stringify(value)}: use one of ${POINTS.join(", ")}`);
  }
  return value as CommitPausePoint;
}

/** At `point` of the commit of `revision`: returns at once unless the environment asks to pause there. */
export async function maybePauseInCommit(point: CommitPausePoint, revision: number): Promise<void> {
  if (commitPausePoint() !== point) return;
  process.stderr.write(`zsync-test: paused in commit transaction (${point}, revision ${revision})\n`);
  await new Promise<never>(() => {
    // Never resolves; an unref'ed timer would not keep the process alive, and the HTTP server does.
  });
}
