/**
 * Commit notifications across servers: each commit transaction sends `NOTIFY zsync_commits,
 * 'SCHEMA:REVISION'` (delivered only if it commits); every store with subscribers LISTENs on one
 * dedicated connection outside the pool. A lost connection is re-opened (after a pause, while
 * anyone listens), and the current head is then reported once, since notifications sent
 * meanwhile are gone.
 */
import pg from "pg";
import type { PostgresTarget } from "./connect.js";

/** The channel every zsync schema in a database shares; the payload names the schema. */
export const COMMIT_CHANNEL = "zsync_commits";
const RECONNECT_MS = 1000;

/** The payload a commit of `revision` in `schema` sends. */
export function commitPayload(schema: string, revision: number): string {
  return `${schema}:${revision}`;
}

/** Calls `listener` only with revisions beyond the last it was given. */
function increasing(listener: (revision: number) => void): (revision: number) => void {
  let last = -1;
  return (revision) => {
    if (revision > last) {
      last = revision;
      listener(revision);
    }
  };
}

/** The LISTEN side of one store: one connection, however many subscribers. */
export class CommitListener {
  private readonly listeners = new Set<(revision: number) => void>();
  private client: pg.Client | undefined;
  private connecting = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly target: PostgresTarget) {}

  subscribe(listener: (revision: number) => void): () => void {
    const wrapped = increasing(listener);
    this.listeners.add(wrapped);
    if (this.client) this.reportHead(this.client, [wrapped]);
    else void this.connect();
    return () => {
      this.listeners.delete(wrapped);
      if (this.listeners.size === 0) this.disconnect();
    };
  }

  private emit(revision: number, to: Iterable<(revision: number) => void> = this.listeners): void {
    for (const listener of [...to]) listener(revision);
  }

  /** Tells `to` the current head (each listener's first call, and the catch-up after a reconnect). */
  private reportHead(client: pg.Client, to: Iterable<(revision: number) => void> = this.listeners): void {
    client.query<{ head: number }>("SELECT MAX(revision) AS head FROM revisions").then(
      (res) => this.emit(Number(res.rows[0]!.head), to),
      () => {}, // a lost connection: the reconnect reports the head
    );
  }

  private async connect(): Promise<void> {
    if (this.client || this.connecting || this.closed) return;
    this.connecting = true;
    const client = new pg.Client({ connectionString: this.target.connectionString, options: `-c search_path=${this.target.schema}` });
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    client.on("notification", (msg) => {
      const [schema, revision] = (msg.payload ?? "").split(":");
      if (msg.channel === COMMIT_CHANNEL && schema === this.target.schema) this.emit(Number(revision));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${COMMIT_CHANNEL}`);
      this.client = client;
      this.reportHead(client);
    } catch {
      this.lost(client);
    } finally {
      this.connecting = false;
    }
    if (this.closed || this.listeners.size === 0) this.disconnect();
  }

  private lost(client: pg.Client): void {
    if (this.client === client) this.client = undefined;
    client.removeAllListeners("end");
    client.end().catch(() => {});
    if (this.closed || this.listeners.size === 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, RECONNECT_MS).unref();
  }

  private disconnect(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    client?.removeAllListeners("end");
    client?.end().catch(() => {});
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.disconnect();
  }
}
