/**
 * Local change detection for `zsync watch --commit`, with chokidar: writes are reported once the
 * file has stopped growing (`awaitWriteFinish`), editors' rename-based saves (vim, JetBrains "safe
 * write": write a temp file, rename it over) arrive as a change of the real file (`atomic`), and
 * paths the checkout ignores (`.zsync/`, `.zsyncignore` rules, editor temp and backup files) are
 * not watched at all. When the OS runs out of inotify watches (ENOSPC) or file descriptors
 * (EMFILE), it says which limit and how to raise it, and carries on by polling; if even polling
 * fails, starting fails with that message (a `watch-limit` WcError) rather than hang.
 */
import { basename, join, relative, sep } from "node:path";
import type { ChokidarOptions, FSWatcher } from "chokidar";
import { ADMIN_DIR, WcError } from "../admin.js";
import { createIgnoreMatcher } from "../ignore.js";
import { COOKIE_DIR } from "./status-protocol.js";

export interface LocalWatchOptions {
  /** Poll instead of using file system events (network mounts, full inotify tables). */
  poll?: boolean;
  /** Poll interval (default 1 s). */
  pollMs?: number;
  /** A file counts as written once its size has not changed for this long (default 200 ms). */
  stabilityMs?: number;
  /** A checkout path changed (a file or folder was written, added or removed). */
  onChange(path: string): void;
  /**
   * A raw file system event touched this checkout path, reported at once (before the write has
   * finished); includes the status service's cookie files in `.zsync/watch-cookies/`.
   */
  onRaw?(path: string): void;
  /** The watch limit was reached; the watcher switched to polling. */
  onWatchLimit(message: string): void;
  /** The limit struck again while polling, after the start: the watcher cannot go on (`watch-limit` WcError). */
  onFatal?(error: WcError): void;
  /** Any other watcher error (reported, not fatal). */
  onError(error: Error): void;
  /**
   * Makes the chokidar watcher (default chokidar's `watch`); tests inject one that fails the way a
   * full inotify table does, which an unprivileged test cannot bring about for real.
   */
  createWatcher?: (dir: string, options: ChokidarOptions) => FSWatcher;
}

export interface LocalWatcher {
  /** True once polling (asked for, or after the watch limit). */
  readonly polling: boolean;
  close(): Promise<void>;
}

/** The message for a full inotify table (ENOSPC) or a full file descriptor table (EMFILE). */
export function watchLimitMessage(code: "ENOSPC" | "EMFILE", givingUp = false): string {
  const what =
    code === "ENOSPC"
      ? "the system's limit of watched folders is reached (fs.inotify.max_user_watches)"
      : "the limit of open files is reached (EMFILE: `ulimit -n`, or fs.inotify.max_user_instances)";
  const raise =
    code === "ENOSPC"
      ? "Raise the limit with `sudo sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.conf)"
      : "Raise it with `ulimit -n 65536` in the shell that starts zsync (or `sudo sysctl fs.inotify.max_user_instances=1024`)";
  if (givingUp) return `cannot watch the checkout: ${what}, even when polling. ${raise}, then start zsync watch again`;
  return `${what}; zsync watch now polls, which costs more CPU. ${raise}, or start with --poll`;
}

/** Starts watching `dir` (the checkout `root` or a folder in it); resolves once the initial walk is done. */
export async function watchLocalChanges(root: string, dir: string, opts: LocalWatchOptions): Promise<LocalWatcher> {
  const watch = opts.createWatcher ?? (await import("chokidar")).watch;
  const ignoredByRules = createIgnoreMatcher(root);
  const ignored = (absolute: string, stats?: { isDirectory(): boolean }) => {
    const path = relative(root, absolute).split(sep).join("/");
    if (path === "" || path.startsWith("..")) return false;
    // The admin area is not watched, except the status service's cookies (and the folders above them).
    if (path === ADMIN_DIR || path === COOKIE_DIR || path.startsWith(COOKIE_DIR + "/")) return false;
    if (path.split("/")[0] === ADMIN_DIR) return true;
    return ignoredByRules(path, stats?.isDirectory() ?? false);
  };
  let polling = opts.poll === true;
  let watcher: FSWatcher | undefined;
  let closed = false;

  /** Starts one chokidar watcher; settles once it (or the polling one replacing it) is ready, or fails for good. */
  const start = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const w = watch(dir, {
        ignoreInitial: true,
        ignored,
        atomic: true,
        awaitWriteFinish: { stabilityThreshold: opts.stabilityMs ?? 200, pollInterval: 50 },
        usePolling: polling,
        interval: opts.pollMs ?? 1000,
        binaryInterval: opts.pollMs ?? 1000,
      });
      watcher = w;
      let ready = false;
      w.on("all", (_event, absolute) => {
        const path = relative(root, absolute).split(sep).join("/");
        if (!path.startsWith("..") && path.split("/")[0] !== ADMIN_DIR) opts.onChange(path);
      });
      if (opts.onRaw) {
        const onRaw = opts.onRaw;
        w.on("raw", (_event, name: string | null, details: unknown) => {
          const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
          if (!watched) return;
          // A folder's watch names the child; a file's own watch names the file itself.
          const absolute = name && basename(watched) !== name ? join(watched, name) : watched;
          const path = relative(root, absolute).split(sep).join("/");
          if (!path.startsWith("..")) onRaw(path);
        });
      }
      w.on("error", (error) => {
        // A replaced watcher reports one error per folder it could not watch: only the first counts.
        if (w !== watcher || closed) return;
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOSPC" || code === "EMFILE") {
          watcher = undefined;
          if (!polling) {
            // chokidar never gets ready once closed: the polling watcher's readiness settles the start.
            polling = true;
            opts.onWatchLimit(watchLimitMessage(code));
            void w.close().then(() => (closed ? undefined : start())).then(resolve, reject);
            return;
          }
          const fatal = new WcError("watch-limit", watchLimitMessage(code, true));
          void w.close();
          if (ready) opts.onFatal?.(fatal);
          else reject(fatal);
          return;
        }
        opts.onError(error as Error);
      });
      w.once("ready", () => {
        ready = true;
        if (w === watcher) resolve();
      });
    });
  await start();
  return {
    get polling() {
      return polling;
    },
    async close() {
      closed = true;
      await watcher?.close();
    },
  };
}
