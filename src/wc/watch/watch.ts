/**
 * `watch`: keeps a checkout current. It subscribes to the server's `@@events` for the watched
 * folder and runs `update` (the same operation as `zsync update`: three-way merges, conflicts
 * recorded, never overwritten) whenever a revision arrives; with `commit`, local saves are
 * committed (the same `commit` operation) once the checkout has been quiet for a while.
 *
 * One action at a time, each under the checkout lock for its own duration only, so `zsync status`,
 * `resolve` and friends work while a watcher runs (and an action that finds the lock taken waits
 * for it). Every change to the checkout goes through the journal like any command: a watcher
 * killed at any moment leaves a checkout the next command completes or rolls back.
 */
import { lstat } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { commitMessage, DEFAULT_WATCH_MESSAGE, planAutoCommit, type HoldReason } from "../../merge/auto-commit.js";
import { ProtocolError, type ZsyncClient } from "../../transport/http/client.js";
import { WcError } from "../admin.js";
import type { ApplyResult } from "../apply-remote.js";
import { commit, OutOfDateError, type CommittedPath } from "../commit.js";
import { scanWorkingCopy } from "../scan.js";
import { withWorkingCopy, type WorkingCopy } from "../session.js";
import { update } from "../update.js";
import type { ConflictPolicy } from "../../merge/content-kinds.js";
import { watchLocalChanges, type LocalWatcher, type LocalWatchOptions } from "./local-changes.js";
import { prepareStatusService, startStatusService, type StatusService } from "./status-service.js";

/** What a watcher reports, one event per action or state change. */
export type WatchEvent =
  | { type: "watching"; root: string; scope: string; revision: number; commit: boolean; polling: boolean; fastStatus: boolean }
  | { type: "connected"; revision: number }
  | { type: "disconnected"; message: string; retryMs: number }
  | { type: "update"; result: ApplyResult; before: number }
  | { type: "commit"; revision: number; committed: CommittedPath[]; message: string }
  | { type: "out-of-date"; paths: string[] }
  | { type: "conflict"; path: string }
  | { type: "resolved"; path: string }
  | { type: "held"; path: string; reason: HoldReason }
  | { type: "watch-limit"; message: string }
  | { type: "error"; message: string };

export interface WatchOptions {
  /** Opens a protocol client; called again after the connection was lost (ssh needs a new session). */
  connect: () => Promise<ZsyncClient>;
  /** Checkout path of the folder to watch ("" = the whole checkout). */
  scope?: string;
  /** Commit local saves after this many ms of quiet (undefined: never commit). */
  commitAfterMs?: number;
  /** Commit message template (see `commitMessage`). */
  message?: string;
  /** Poll the file system instead of using its events. */
  poll?: boolean;
  /** Full rescan of the checkout this often, in case an event was missed (default 60 s). */
  rescanMs?: number;
  /** Longest wait between reconnection attempts (default 30 s; the first is after 250 ms). */
  maxRetryMs?: number;
  /** Reconnect when the event stream has been silent this long (default 60 s; the server sends heartbeats). */
  idleMs?: number;
  /** Conflict policy for every file an update merges (`--policy`); otherwise the checkout's per-path policies, then the type's default. */
  policy?: ConflictPolicy;
  report: (event: WatchEvent) => void;
  /** The file watcher's chokidar factory (tests inject file system faults). */
  createWatcher?: LocalWatchOptions["createWatcher"];
}

export interface Watcher {
  /** Stops: no new action starts, the running one finishes, connections and file watches close. */
  stop(): Promise<void>;
  /** Settles when the watcher stopped (rejects on a fatal error, e.g. the checkout is gone). */
  done: Promise<void>;
}

/** Errors after which the connection is rebuilt and the action tried again. */
function isConnectionError(error: unknown): boolean {
  return error instanceof ProtocolError && (error.status === 0 || error.status === 502 || error.status === 503);
}

/** Starts watching the checkout at `root`. */
export async function watch(root: string, opts: WatchOptions): Promise<Watcher> {
  const scope = opts.scope ?? "";
  const report = opts.report;
  let client: ZsyncClient | undefined;
  let connected = false;
  let stopping = false;
  let wantUpdate = false;
  let wantCommit = false;
  let outOfDateRetries = 0;
  let running: Promise<void> | undefined;
  let quietTimer: NodeJS.Timeout | undefined;
  let rescanTimer: NodeJS.Timeout | undefined;
  let stream: AbortController | undefined;
  let lastEvent: number | undefined;
  let fail: (error: unknown) => void = () => {};
  let stopped: () => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    fail = reject;
    stopped = resolve;
  });
  const conflicts = new Set<string>();
  const held = new Map<string, HoldReason>();

  const info = await withWorkingCopy(root, {}, async (wc) => ({ config: wc.config, revision: wc.entries.revision }));
  const serverPath = [info.config.path, scope].filter((p) => p !== "").join("/");
  const inScope = (path: string) => scope === "" || path === scope || path.startsWith(scope + "/");
  const getClient = async () => (client ??= await opts.connect());

  /** Runs one action under the lock; a checkout locked by another command is tried again later. */
  const withLock = async <T>(work: (wc: WorkingCopy) => Promise<T>): Promise<T | "locked"> => {
    try {
      // No waiting inside: the drain loop tries again, and can stop in between.
      return await withWorkingCopy(root, { lock: "watch", lockWaitMs: 0 }, work);
    } catch (error) {
      if (error instanceof WcError && error.code === "locked") return "locked";
      throw error;
    }
  };

  const doUpdate = async (): Promise<boolean> => {
    const c = await getClient();
    const outcome = await withLock(async (wc) => {
      const before = wc.entries.revision;
      const result = await update(wc, { client: c, paths: scope === "" ? undefined : [scope], policy: opts.policy });
      return { result, before };
    });
    if (outcome === "locked") return false;
    if (outcome.result.lines.length > 0 || outcome.result.savedAside.length > 0 || outcome.result.revision !== outcome.before) {
      report({ type: "update", ...outcome });
    }
    for (const line of outcome.result.lines) {
      if ((line.content === "C" || line.meta === "C") && !conflicts.has(line.path)) {
        conflicts.add(line.path);
        report({ type: "conflict", path: line.path });
      }
    }
    return true;
  };

  /** Milliseconds until the newest of `paths` has been quiet for the quiet period (0: all quiet). */
  const untilQuiet = async (paths: string[]): Promise<number> => {
    let newest = 0;
    for (const path of paths) {
      const stats = await lstat(join(root, path)).catch(() => undefined);
      // A time in the future (a network mount's clock) says nothing about this save: ignore it.
      if (stats && stats.mtimeMs <= Date.now() + 1000) newest = Math.max(newest, stats.mtimeMs);
    }
    return Math.min(opts.commitAfterMs ?? 0, Math.max(0, newest + (opts.commitAfterMs ?? 0) - Date.now()));
  };

  const doCommit = async (): Promise<"done" | "locked" | "out-of-date"> => {
    const c = await getClient();
    const outcome = await withLock(async (wc) => {
      const scan = await scanWorkingCopy(wc.root, wc.entries.entries, { within: scope === "" ? undefined : [scope], changedOnly: true });
      // A conflict's artifacts (FILE.mine, FILE.rN) are unversioned by design: not worth a notice.
      const artifacts = new Set([...wc.entries.entries.values()].flatMap((e) => e.conflict?.artifacts ?? []));
      const plan = planAutoCommit(scan.items.filter((i) => inScope(i.path) && !(i.content === "?" && artifacts.has(i.path))));
      const nowConflicted = new Set(plan.conflicts);
      for (const path of plan.conflicts) if (!conflicts.has(path)) report({ type: "conflict", path });
      for (const path of conflicts) if (!nowConflicted.has(path)) report({ type: "resolved", path });
      conflicts.clear();
      for (const path of nowConflicted) conflicts.add(path);
      const nowHeld = new Map(plan.held.map((h) => [h.path, h.reason]));
      for (const [path, reason] of nowHeld) if (held.get(path) !== reason) report({ type: "held", path, reason });
      held.clear();
      for (const [path, reason] of nowHeld) held.set(path, reason);
      if (plan.commit.length === 0) return "done" as const;
      // File events can arrive late (awaitWriteFinish, a busy machine): a file written within the
      // quiet period is still being saved, so wait for it rather than commit a middle version.
      const wait = await untilQuiet(plan.commit);
      if (wait > 0) {
        clearTimeout(quietTimer);
        quietTimer = setTimeout(() => {
          wantCommit = true;
          drain();
        }, wait + 10);
        return "done" as const;
      }
      const message = commitMessage(opts.message ?? DEFAULT_WATCH_MESSAGE, { paths: plan.commit, user: wc.config.user ?? userInfo().username, host: hostname(), date: new Date() });
      try {
        const result = await commit(wc, { client: c, message, paths: plan.commit });
        if (result.revision !== undefined) report({ type: "commit", revision: result.revision, committed: result.committed, message });
        return "done" as const;
      } catch (error) {
        if (error instanceof OutOfDateError) {
          report({ type: "out-of-date", paths: error.paths });
          return "out-of-date" as const;
        }
        throw error;
      }
    });
    return outcome;
  };

  /** Runs queued actions one at a time while connected. */
  const drain = () => {
    if (running || stopping || !connected) return;
    running = (async () => {
      while (!stopping && connected && (wantUpdate || wantCommit)) {
        try {
          if (wantUpdate) {
            wantUpdate = false;
            if (!(await doUpdate())) {
              wantUpdate = true;
              await pause(500);
            }
          } else {
            wantCommit = false;
            const result = await doCommit();
            if (result === "locked") {
              wantCommit = true;
              await pause(500);
            } else if (result === "out-of-date") {
              // Update (merging the other side's change), then commit again; give up after a few rounds.
              if (++outOfDateRetries <= 5) {
                wantUpdate = true;
                wantCommit = true;
              } else {
                report({ type: "error", message: "the commit stayed out of date after 5 updates; will try again on the next change" });
              }
            } else {
              outOfDateRetries = 0;
            }
          }
        } catch (error) {
          if (isConnectionError(error)) {
            // The remote loop reconnects and queues a catch-up; keep the work that was asked for.
            report({ type: "error", message: (error as Error).message });
            wantCommit ||= opts.commitAfterMs !== undefined;
            connected = false;
            client = undefined;
            stream?.abort();
          } else if (error instanceof WcError && error.code !== "cannot-commit") {
            fail(error);
            void stop();
          } else {
            report({ type: "error", message: (error as Error).message });
          }
        }
      }
    })().finally(() => {
      running = undefined;
      if (!stopping && connected && (wantUpdate || wantCommit)) drain();
    });
  };

  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

  const localChange = () => {
    if (opts.commitAfterMs === undefined || stopping) return;
    clearTimeout(quietTimer);
    quietTimer = setTimeout(() => {
      wantCommit = true;
      drain();
    }, opts.commitAfterMs);
  };

  /** Subscribes, catches up, and reconnects with back-off until stopped. */
  const remoteLoop = async () => {
    let retryMs = 0;
    while (!stopping) {
      let message = "the server ended the event stream";
      try {
        const c = await getClient();
        stream = new AbortController();
        const events = await c.events(serverPath, { since: lastEvent, signal: stream.signal, idleMs: opts.idleMs });
        for await (const event of events) {
          if (event.type === "ready") {
            retryMs = 0;
            connected = true;
            lastEvent ??= event.revision;
            report({ type: "connected", revision: event.revision });
            wantUpdate = true; // catch up on whatever happened while away
            wantCommit ||= opts.commitAfterMs !== undefined;
          } else {
            lastEvent = event.entry.revision;
            wantUpdate = true;
          }
          drain();
        }
      } catch (error) {
        if (stopping) break;
        if (error instanceof ProtocolError && !isConnectionError(error)) {
          // The server refuses (not found, no permission…): no point in retrying.
          const why = error.code === "unknown-view" ? "the server does not offer server push (@@events); upgrade zsync-server" : error.message;
          fail(new WcError(error.code, `cannot watch /${serverPath}: ${why}`));
          void stop();
          return;
        }
        message = (error as Error).message;
      }
      if (stopping) break;
      connected = false;
      client = undefined;
      retryMs = Math.min(Math.max(250, retryMs * 2), opts.maxRetryMs ?? 30_000);
      report({ type: "disconnected", message, retryMs });
      await pause(retryMs);
    }
  };

  // The file watcher runs in every mode: it feeds the fast `status` service, and with --commit the commits.
  // The service needs the whole checkout watched, and file system events (not polling).
  let service: StatusService | undefined;
  const serveStatus = scope === "" && !opts.poll;
  if (serveStatus) await prepareStatusService(root);
  const local: LocalWatcher = await watchLocalChanges(root, scope === "" ? root : `${root}/${scope}`, {
    poll: opts.poll,
    onChange: localChange,
    onRaw: serveStatus ? (path) => service?.touched(path) : undefined,
    onWatchLimit: (message) => {
      report({ type: "watch-limit", message });
      // Polling gives no raw events: status walks again rather than wait for cookies.
      void service?.close();
      service = undefined;
    },
    onFatal: (error) => {
      report({ type: "error", message: error.message });
      fail(error);
      void stop();
    },
    onError: (error) => {
      // Events may have been lost with it: the next `zsync status` walks the tree once.
      service?.missedEvents();
      report({ type: "error", message: `file watcher: ${error.message}` });
    },
    createWatcher: opts.createWatcher,
  });
  // Polling since the start (the watch limit struck during the first walk): no raw events, no service.
  if (serveStatus && !local.polling) service = await startStatusService(root);
  if (opts.commitAfterMs !== undefined) {
    rescanTimer = setInterval(() => {
      wantCommit = true;
      drain();
    }, opts.rescanMs ?? 60_000);
    rescanTimer.unref();
  }
  report({ type: "watching", root, scope, revision: info.revision, commit: opts.commitAfterMs !== undefined, polling: local.polling, fastStatus: service !== undefined });
  const remote = remoteLoop();

  async function stop(): Promise<void> {
    if (stopping) return done.catch(() => {});
    stopping = true;
    clearTimeout(quietTimer);
    clearInterval(rescanTimer);
    stream?.abort();
    await running;
    await service?.close();
    await local.close();
    await remote.catch(() => {});
    stopped();
  }

  return { stop: () => stop(), done };
}
