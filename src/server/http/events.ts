/**
 * `GET <path>/@@events`: server-sent events, one per new revision that changed something the
 * principal may read at or under `<path>` (hidden changes are left out of each event, and a
 * revision with nothing visible sends nothing). Resumes after `Last-Event-ID` or `?since=REV`
 * without a gap, announces its heartbeat interval in the `ready` event and sends a heartbeat
 * comment that often while idle, and ends cleanly on server shutdown.
 * Wire format: docs/PROTOCOL.md.
 */
import type { LogEntry } from "../../protocol/types.js";
import { REVISION_HEADER } from "../../protocol/types.js";
import type { Access } from "../authz/access.js";
import { visibleRevision } from "../authz/content-view.js";
import type { RevisionNotifier } from "../events/notifier.js";
import type { RevisionInfo, Store } from "../store/types.js";
import type { RequestContext } from "./context.js";
import { HttpError } from "./errors.js";
import { parseRevision } from "./params.js";

/** Default heartbeat interval: well under the idle timeouts of proxies and NAT boxes. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** Revisions read per history query while catching up. */
const HISTORY_PAGE = 500;

/** Pause before a stream whose store read failed tries again on its own. */
const STORE_RETRY_MS = 5_000;

/** A client that reads nothing while this much is queued is cut off rather than buffered for. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/** What the events view needs besides the request context. */
export interface EventStreams {
  notifier: RevisionNotifier;
  heartbeatMs: number;
  /** The repository history, unfiltered: every event is filtered by `visibleRevision` here. */
  history: Pick<Store, "info" | "log">;
  /** Where a failed store read is reported (once per stream and outage). */
  log: (line: string) => void;
  /** Re-reads the principal's access (grants may change while a stream is open); undefined once the account is gone. */
  access(): Promise<Access | undefined>;
}

/** Streams events until the client leaves, the account goes away, or the server shuts down. */
export async function handleEvents(ctx: RequestContext, streams: EventStreams): Promise<void> {
  const { req, res, target } = ctx;
  const { head } = await streams.history.info();
  const resumeFrom = req.headers["last-event-id"];
  const since =
    typeof resumeFrom === "string" && resumeFrom !== ""
      ? parseRevision(resumeFrom.trim(), head, "Last-Event-ID")
      : parseRevision(target.query.get("since"), head, "since");
  if (!(await ctx.store.getObject(target.objectPath))) throw new HttpError(404, "not-found", `no object at /${target.objectPath}`);
  if (streams.notifier.closed) throw new HttpError(503, "shutting-down", "the server is shutting down");

  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    [REVISION_HEADER]: String(head),
  });
  // The heartbeat interval is announced: a client that hears nothing for a few of them knows the
  // connection is dead (a laptop that slept, a NAT box that forgot it) and reconnects.
  res.write(`retry: 2000\nevent: ready\ndata: ${JSON.stringify({ revision: head, since: since ?? head, heartbeatMs: streams.heartbeatMs })}\n\n`);

  let last = since ?? head;
  let ended = false;
  let pumping = false;
  let again = false;
  let storeFailed = false;
  let retry: NodeJS.Timeout | undefined;

  const send = (text: string) => {
    if (ended) return;
    res.write(text);
    if (res.writableLength > MAX_QUEUED_BYTES) res.destroy();
  };

  const pump = async (): Promise<void> => {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        const now = (await streams.history.info()).head;
        if (now <= last || ended) continue;
        const access = await streams.access();
        if (!access) {
          finish();
          return;
        }
        for (const entry of await revisionsAfter(streams.history, last, now)) {
          const visible = visibleRevision(access, entry, target.objectPath);
          if (visible) send(`id: ${visible.revision}\nevent: revision\ndata: ${JSON.stringify(asLogEntry(visible))}\n\n`);
        }
        last = now;
      } while (again && !ended);
      storeFailed = false;
      clearTimeout(retry);
    } catch (error) {
      // The store failed (a database restarting): the stream stays open, `last` is where it
      // was, and the next wake-up sends what is missing (the commit feed reports the head when
      // it reconnects; the retry covers a feed that has nothing to report).
      if (!storeFailed && !ended) streams.log(`event stream on /${target.objectPath}: reading the store failed (${error instanceof Error ? error.message : String(error)}); retrying`);
      storeFailed = true;
      clearTimeout(retry);
      if (!ended) retry = setTimeout(() => void pump(), STORE_RETRY_MS).unref();
    } finally {
      pumping = false;
    }
  };

  const unsubscribe = streams.notifier.subscribe(() => void pump());
  const heartbeat = setInterval(() => send(": heartbeat\n\n"), streams.heartbeatMs);
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    const removeOnClose = streams.notifier.onClose(() => finish());
    finish = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      clearTimeout(retry);
      unsubscribe();
      removeOnClose();
      if (!res.writableEnded && !res.destroyed) res.end();
      resolve();
    };
    res.once("close", finish);
  });
  // Catch up at once: revisions after `since`, and any committed while the headers went out.
  void pump();
  await done;
}

/** Revisions `after`+1 … `until`, oldest first, from the root log (which lists every revision). */
async function revisionsAfter(history: Pick<Store, "log">, after: number, until: number): Promise<RevisionInfo[]> {
  const found: RevisionInfo[] = [];
  for (let from = until; from > after; ) {
    const page = await history.log("", { from, limit: Math.min(HISTORY_PAGE, from - after) });
    const last = page[page.length - 1];
    if (last === undefined) break;
    for (const entry of page) if (entry.revision > after) found.push(entry);
    from = last.revision - 1;
  }
  return found.reverse();
}

/** The event body: the `@@log` entry shape, paths absolute with a leading slash. */
function asLogEntry(entry: RevisionInfo): LogEntry {
  return { ...entry, changes: entry.changes.map((c) => ({ path: "/" + c.path, action: c.action })) };
}
