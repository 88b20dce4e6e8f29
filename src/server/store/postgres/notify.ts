/**
 * Commit notifications across servers: each commit transaction sends `NOTIFY zsync_commits,
 * 'SCHEMA:REVISION'` (delivered only if it commits); every store with subscribers LISTENs on one
 * dedicated connection outside the pool (application_name `zsync-listen PID`).
 *
 * Notifications sent while that connection is down are gone, so whenever it is (re)established
 * the current head is reported, and subscribers read what they missed. A lost connection (an
 * error, its end, `pg_terminate_backend`, a database restart) is re-opened at once, then with a
 * back-off of 1 s doubling up to 30 s while that fails. A connection that died silently (a
 * half-open TCP connection never reports an error) is found by a slow liveness check: every
 * `checkMs` a head query on it must answer within a third of that, or the connection counts as
 * lost; its answer is reported too, so even a notification the database dropped is caught up.
 */
import pg from "pg";
import { increasing } from "../increasing.js";
import type { StoreTimers } from "../options.js";
import type { PostgresTarget } from "./connect.js";

/** The channel every zsync schema in a database shares; the payload names the schema. */
export const COMMIT_CHANNEL = "zsync_commits";
/** The PostgreSQL `application_name` of this process's LISTEN connections. */
export const LISTEN_APPLICATION_NAME = `zsync-listen ${process.pid}`;
/** Longest pause between reconnection attempts. */
const MAX_RECONNECT_MS = 30_000;
const HEAD_SQL = "SELECT MAX(revision) AS head FROM revisions";

/** The payload a commit of `revision` in `schema` sends. */
export function commitPayload(schema: string, revision: number): string {
  return `${schema}:${revision}`;
}

export interface CommitListenerOptions {
  timers: StoreTimers;
  log: (line: string) => void;
  /** Interval of the liveness check (see the file comment). */
  checkMs: number;
}

/** The LISTEN side of one store: one connection, however many subscribers. */
export class CommitListener {
  private readonly listeners = new Set<(revision: number) => void>();
  /** Clients given up on: their late events are ignored. */
  private readonly dead = new WeakSet<pg.Client>();
  private client: pg.Client | undefined;
  private connecting = false;
  private closed = false;
  /** Cancels the pending reconnection or liveness check (at most one is pending). */
  private cancelTimer: (() => void) | undefined;
  /** Connection attempts failed or lost in a row (0 while connected). */
  private failures = 0;

  constructor(
    private readonly target: PostgresTarget,
    private readonly options: CommitListenerOptions,
  ) {}

  subscribe(listener: (revision: number) => void): () => void {
    const wrapped = increasing(listener);
    this.listeners.add(wrapped);
    if (this.client) this.reportHead(this.client, [wrapped]);
    else if (!this.cancelTimer) void this.connect();
    return () => {
      this.listeners.delete(wrapped);
      if (this.listeners.size === 0) this.disconnect();
    };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.disconnect();
  }

  private emit(revision: number, to: Iterable<(revision: number) => void> = this.listeners): void {
    for (const listener of [...to]) listener(revision);
  }

  /** Tells `to` the current head (each listener's first call, and the catch-up after a reconnect). */
  private reportHead(client: pg.Client, to: Iterable<(revision: number) => void> = this.listeners): void {
    client.query<{ head: number }>(HEAD_SQL).then(
      (res) => {
        if (this.client === client) this.emit(Number(res.rows[0]!.head), to);
      },
      () => {}, // a lost connection: the reconnection reports the head
    );
  }

  private async connect(): Promise<void> {
    if (this.client || this.connecting || this.closed || this.listeners.size === 0) return;
    this.connecting = true;
    const client = new pg.Client({
      connectionString: this.target.connectionString,
      options: `-c search_path=${this.target.schema}`,
      application_name: LISTEN_APPLICATION_NAME,
      connectionTimeoutMillis: 10_000,
    });
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("the connection ended")));
    client.on("notification", (msg) => {
      const [schema, revision] = (msg.payload ?? "").split(":");
      if (msg.channel === COMMIT_CHANNEL && schema === this.target.schema && this.client === client) this.emit(Number(revision));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${COMMIT_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    } finally {
      this.connecting = false;
    }
    if (this.dead.has(client)) return;
    if (this.closed || this.listeners.size === 0) {
      this.drop(client);
      return;
    }
    if (this.failures > 0) this.options.log(`commit notifications: listening again on PostgreSQL (schema ${this.target.schema})`);
    this.failures = 0;
    this.client = client;
    this.reportHead(client);
    this.scheduleCheck(client);
  }

  /** Ends `client` for good, without reconnecting; `force` also cuts its socket. */
  private drop(client: pg.Client, force = false): void {
    this.dead.add(client);
    client.removeAllListeners("end");
    client.removeAllListeners("notification");
    client.removeAllListeners("error");
    client.on("error", () => {});
    client.end().catch(() => {});
    // A half-open connection never answers the goodbye: cut the socket too.
    if (force) client.connection.stream.destroy();
  }

  /** `client` failed: drop it and, while anyone listens, connect again after the back-off. */
  private lost(client: pg.Client, reason: unknown): void {
    if (this.dead.has(client)) return;
    this.drop(client, true);
    if (this.client === client) this.client = undefined;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.closed || this.listeners.size === 0) return;
    const delay = this.failures === 0 ? 0 : Math.min(1000 * 2 ** (this.failures - 1), MAX_RECONNECT_MS);
    if (this.failures === 0) {
      const why = reason instanceof Error ? reason.message : String(reason);
      this.options.log(`commit notifications: the PostgreSQL LISTEN connection was lost (${why}); reconnecting`);
    }
    this.failures++;
    this.cancelTimer = this.options.timers.after(delay, () => {
      this.cancelTimer = undefined;
      void this.connect();
    });
  }

  private scheduleCheck(client: pg.Client): void {
    this.cancelTimer = this.options.timers.after(this.options.checkMs, () => {
      this.cancelTimer = undefined;
      void this.check(client);
    });
  }

  /** The liveness check: the head must come back in time; it is reported like a notification. */
  private async check(client: pg.Client): Promise<void> {
    if (this.client !== client) return;
    let cancelTimeout = () => {};
    const timedOut = new Promise<Error>((resolve) => {
      cancelTimeout = this.options.timers.after(Math.ceil(this.options.checkMs / 3), () => resolve(new Error("no answer to the liveness check")));
    });
    const answer = client.query<{ head: number }>(HEAD_SQL).then(
      (res) => Number(res.rows[0]!.head),
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    const result = await Promise.race([answer, timedOut]);
    cancelTimeout();
    if (this.client !== client) return;
    if (result instanceof Error) {
      this.lost(client, result);
      return;
    }
    this.emit(result);
    this.scheduleCheck(client);
  }

  private disconnect(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.failures = 0;
    const client = this.client;
    this.client = undefined;
    if (client) this.drop(client);
  }
}
