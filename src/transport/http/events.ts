/**
 * Reading a `@@events` stream (server-sent events, parsed by eventsource-parser): every event is
 * checked before a caller sees it, since a hostile server could send anything.
 */
import { createParser } from "eventsource-parser";
import type { LogEntry } from "../../protocol/types.js";

/** One event of a `@@events` stream. */
export type ServerEvent =
  /**
   * The stream is live; `revision` is the head when it started, `heartbeatMs` the server's
   * heartbeat interval (servers before it was announced send none).
   */
  | { type: "ready"; revision: number; heartbeatMs?: number }
  /** A revision that changed something visible under the watched path. */
  | { type: "revision"; entry: LogEntry };

/** Thrown for an event that does not follow docs/PROTOCOL.md. */
export class BadEventError extends Error {}

/** A stream silent for this many announced heartbeat intervals is dead. */
export const SILENT_HEARTBEATS = 4;

/** Longest heartbeat interval a server may announce (1 hour). */
const MAX_HEARTBEAT_MS = 3_600_000;

/** How `readServerEvents` finds a dead stream: silence. */
export interface SilenceWatch {
  /** Silence allowed before the server announced a heartbeat interval, or when it announces none. */
  idleMs: number;
  /**
   * The stream was silent for `silentMs` (`announced`: that many heartbeat intervals the server
   * announced): cut the connection, and return the error to throw.
   */
  onSilent(silentMs: number, announced: boolean): Error;
}

const isRevision = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Checks and converts one parsed SSE event; undefined for event types this client does not know. */
export function toServerEvent(type: string | undefined, data: string): ServerEvent | undefined {
  if (type !== "ready" && type !== "revision") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new BadEventError(`the server sent a ${type} event that is not JSON`);
  }
  const record = value as Record<string, unknown> | null;
  if (typeof record !== "object" || record === null || !isRevision(record.revision)) throw new BadEventError(`the server sent a ${type} event without a revision`);
  if (type === "ready") {
    const heartbeatMs = record.heartbeatMs;
    if (heartbeatMs === undefined) return { type, revision: record.revision };
    if (!Number.isSafeInteger(heartbeatMs) || (heartbeatMs as number) <= 0 || (heartbeatMs as number) > MAX_HEARTBEAT_MS) {
      throw new BadEventError(`the server sent a ready event with a bad heartbeatMs`);
    }
    return { type, revision: record.revision, heartbeatMs: heartbeatMs as number };
  }
  const changes = record.changes;
  const goodChange = (c: unknown) => {
    const change = c as Record<string, unknown> | null;
    return typeof change === "object" && change !== null && typeof change.path === "string" && change.path.startsWith("/") && ["A", "M", "D"].includes(change.action as string);
  };
  if (!Array.isArray(changes) || !changes.every(goodChange)) throw new BadEventError(`the server sent revision ${record.revision} with malformed changes`);
  return {
    type,
    entry: {
      revision: record.revision,
      author: String(record.author ?? ""),
      date: String(record.date ?? ""),
      note: String(record.note ?? ""),
      changes: changes.map((c: { path: string; action: "A" | "M" | "D" }) => ({ path: c.path, action: c.action })),
    },
  };
}

/**
 * Turns a response body into checked events, in order; ends when the body ends. With `silence`,
 * a stream that carries nothing (not even a heartbeat comment) for `SILENT_HEARTBEATS` announced
 * heartbeat intervals (before the announcement: `idleMs`) is cut and its error thrown.
 */
export async function* readServerEvents(body: AsyncIterable<Uint8Array | string>, silence?: SilenceWatch): AsyncGenerator<ServerEvent> {
  const queue: ServerEvent[] = [];
  let failure: Error | undefined;
  let limitMs = silence?.idleMs ?? 0;
  let announced = false;
  let timer: NodeJS.Timeout | undefined;
  let silent: Error | undefined;
  const arm = () => {
    if (!silence) return;
    clearTimeout(timer);
    timer = setTimeout(() => (silent = silence.onSilent(limitMs, announced)), limitMs);
    // The open response keeps the process alive, not this watch: a caller that aborts and drops
    // the generator while it waits at a `yield` (its `finally` never runs) must not wait for it.
    timer.unref();
  };
  const parser = createParser({
    onEvent(event) {
      try {
        const parsed = toServerEvent(event.event, event.data);
        if (parsed?.type === "ready" && parsed.heartbeatMs !== undefined) {
          limitMs = SILENT_HEARTBEATS * parsed.heartbeatMs;
          announced = true;
        }
        if (parsed) queue.push(parsed);
      } catch (error) {
        failure ??= error as Error;
      }
    },
  });
  const decoder = new TextDecoder();
  try {
    arm();
    for await (const chunk of body) {
      // Silence is measured while waiting for the server, not while the caller handles events.
      clearTimeout(timer);
      parser.feed(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
      while (queue.length > 0) yield queue.shift()!;
      if (failure) throw failure;
      arm();
    }
  } catch (error) {
    throw silent ?? error;
  } finally {
    clearTimeout(timer);
  }
  if (silent) throw silent;
}
