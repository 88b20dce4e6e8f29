/**
 * Reading a `@@events` stream (server-sent events, parsed by eventsource-parser): every event is
 * checked before a caller sees it, since a hostile server could send anything.
 */
import { createParser } from "eventsource-parser";
import type { LogEntry } from "../../protocol/types.js";

/** One event of a `@@events` stream. */
export type ServerEvent =
  /** The stream is live; `revision` is the head when it started. */
  | { type: "ready"; revision: number }
  /** A revision that changed something visible under the watched path. */
  | { type: "revision"; entry: LogEntry };

/** Thrown for an event that does not follow docs/PROTOCOL.md. */
export class BadEventError extends Error {}

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
  if (type === "ready") return { type, revision: record.revision };
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

/** Turns a response body into checked events, in order; ends when the body ends. */
export async function* readServerEvents(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<ServerEvent> {
  const queue: ServerEvent[] = [];
  let failure: Error | undefined;
  const parser = createParser({
    onEvent(event) {
      try {
        const parsed = toServerEvent(event.event, event.data);
        if (parsed) queue.push(parsed);
      } catch (error) {
        failure ??= error as Error;
      }
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    parser.feed(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    while (queue.length > 0) yield queue.shift()!;
    if (failure) throw failure;
  }
}
