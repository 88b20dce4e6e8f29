/**
 * A chokidar stand-in for faults an unprivileged test cannot bring about for real: a full inotify
 * table (ENOSPC) or file descriptor table (EMFILE).
 */
import { EventEmitter } from "node:events";
import type { FSWatcher } from "chokidar";

/** A chokidar stand-in: with `fail`, emits that error (as chokidar does from fs.watch) and never gets ready. */
export function fakeWatcher(fail: string | undefined, closed: string[]): FSWatcher {
  const emitter = new EventEmitter();
  const watcher = Object.assign(emitter, {
    close: async () => {
      closed.push(fail ?? "ok");
    },
  });
  queueMicrotask(() => {
    if (fail) {
      // chokidar reports one error per folder it could not watch, and no `ready` when closed meanwhile.
      for (let i = 0; i < 3; i++) emitter.emit("error", Object.assign(new Error(`${fail}: watch failed`), { code: fail }));
    } else {
      emitter.emit("ready");
    }
  });
  return watcher as unknown as FSWatcher;
}

