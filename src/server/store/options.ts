/**
 * Options every store backend takes when it is opened, and the timers its background work (the
 * commit feed behind `Store.subscribeCommits`) is scheduled with: real ones by default; tests
 * inject their own so that nothing waits on the real clock.
 */
import type { MigrationReport } from "./migration-report.js";

/** Schedules callbacks; `after` returns the function that cancels it. */
export interface StoreTimers {
  after(ms: number, fn: () => void): () => void;
}

/** Node's timers, unref'ed: background work never keeps the process alive. */
export const REAL_TIMERS: StoreTimers = {
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/** Interval of SQLite's check for commits by other processes while anyone listens (1 s). */
export const DEFAULT_SQLITE_POLL_MS = 1000;
/** Interval of the PostgreSQL LISTEN connection's liveness check and catch-up (30 s). */
export const DEFAULT_LISTEN_CHECK_MS = 30_000;

export interface OpenStoreOptions {
  /** Learns the schema versions before and after opening. */
  migrated?: (report: MigrationReport) => void;
  /** Status lines of the commit feed (a lost PostgreSQL LISTEN connection, its return). */
  log?: (line: string) => void;
  /** Timers of the commit feed (default: real ones). */
  timers?: StoreTimers;
  /** SQLite: how often a subscribed store looks for other processes' commits (default 1 s). */
  sqlitePollMs?: number;
  /**
   * PostgreSQL: how often the LISTEN connection is checked (a query that must answer within a
   * third of this, else the connection counts as lost) and the head re-read (default 30 s).
   */
  listenCheckMs?: number;
}
