/**
 * `Store.subscribeCommits` for SQLite. Commits through this store are reported as they happen.
 * Other processes may commit to the same file (sshd runs one `zsync-server --stdio` per
 * connection beside `serve`), and SQLite has no notifications: while anyone listens, the store
 * reads `PRAGMA data_version` every `pollMs` (a check of shared memory, no query of a table) and
 * reports the head when another connection has committed.
 */
import { increasing } from "../increasing.js";
import type { StoreTimers } from "../options.js";
import type { SqliteConnection } from "./connection.js";

export interface SqliteCommitFeedOptions {
  timers: StoreTimers;
  pollMs: number;
}

/** The commit feed of one SQLite store. */
export class SqliteCommitFeed {
  private readonly listeners = new Set<(revision: number) => void>();
  private cancelPoll: (() => void) | undefined;
  private version = 0;
  private closed = false;

  constructor(
    private readonly conn: SqliteConnection,
    private readonly options: SqliteCommitFeedOptions,
  ) {}

  /** A commit through this store succeeded. */
  committed(revision: number): void {
    this.emit(revision);
  }

  subscribe(listener: (revision: number) => void): () => void {
    const wrapped = increasing(listener);
    this.listeners.add(wrapped);
    if (this.listeners.size === 1) {
      this.version = this.conn.dataVersion();
      this.schedulePoll();
    }
    // The first call reports the head at subscription time, as PostgreSQL's does.
    setImmediate(() => {
      if (!this.closed && this.listeners.has(wrapped)) wrapped(this.conn.head());
    });
    return () => {
      this.listeners.delete(wrapped);
      if (this.listeners.size === 0) this.stopPolling();
    };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.stopPolling();
  }

  private emit(revision: number): void {
    for (const listener of [...this.listeners]) listener(revision);
  }

  private schedulePoll(): void {
    this.cancelPoll = this.options.timers.after(this.options.pollMs, () => {
      this.cancelPoll = undefined;
      if (this.closed || this.listeners.size === 0) return;
      this.poll();
      this.schedulePoll();
    });
  }

  /** Reports the head when another connection has committed since the last look. */
  private poll(): void {
    try {
      const version = this.conn.dataVersion();
      if (version === this.version) return;
      this.version = version;
      this.emit(this.conn.head());
    } catch {
      // A busy or closing database: the next poll looks again.
    }
  }

  private stopPolling(): void {
    this.cancelPoll?.();
    this.cancelPoll = undefined;
  }
}
