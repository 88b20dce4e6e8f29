/**
 * Local change detection for `zsync watch --commit`, with chokidar: writes are reported once the
 * file has stopped growing (`awaitWriteFinish`), editors' rename-based saves (vim, JetBrains "safe
 * write": write a temp file, rename it over) arrive as a change of the real file (`atomic`), and
 * paths the checkout ignores (`.zsync/`, `.zsyncignore` rules, editor temp and backup files) are
 * not watched at all. When the OS runs out of inotify watches (ENOSPC), it says so and carries on
 * by polling.
 */
import { basename, join, relative, sep } from "node:path";
import type { FSWatcher } from "chokidar";
import { ADMIN_DIR } from "../admin.js";
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
  /** Any other watcher error (reported, not fatal). */
  onError(error: Error): void;
}

export interface LocalWatcher {
  /** True once polling (asked for, or after the watch limit). */
  readonly polling: boolean;
  close(): Promise<void>;
}

/** The message for a full inotify table. */
export const WATCH_LIMIT_MESSAGE =
  "the system's limit of watched folders is reached (fs.inotify.max_user_watches); zsync watch now polls, which costs more CPU. " +
  "Raise the limit with `sudo sysctl fs.inotify.max_user_watches=524288` (and in /etc/sysctl.conf), or start with --poll";

/** Starts watching `dir` (the checkout `root` or a folder in it); resolves once the initial walk is done. */
export async function watchLocalChanges(root: string, dir: string, opts: LocalWatchOptions): Promise<LocalWatcher> {
  const { watch } = await import("chokidar");
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
  let watcher: FSWatcher;
  let closed = false;

  const start = async (): Promise<void> => {
    watcher = watch(dir, {
      ignoreInitial: true,
      ignored,
      atomic: true,
      awaitWriteFinish: { stabilityThreshold: opts.stabilityMs ?? 200, pollInterval: 50 },
      usePolling: polling,
      interval: opts.pollMs ?? 1000,
      binaryInterval: opts.pollMs ?? 1000,
    });
    watcher.on("all", (_event, absolute) => {
      const path = relative(root, absolute).split(sep).join("/");
      if (!path.startsWith("..") && path.split("/")[0] !== ADMIN_DIR) opts.onChange(path);
    });
    if (opts.onRaw) {
      const onRaw = opts.onRaw;
      watcher.on("raw", (_event, name: string | null, details: unknown) => {
        const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
        if (!watched) return;
        // A folder's watch names the child; a file's own watch names the file itself.
        const absolute = name && basename(watched) !== name ? join(watched, name) : watched;
        const path = relative(root, absolute).split(sep).join("/");
        if (!path.startsWith("..")) onRaw(path);
      });
    }
    watcher.on("error", (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === "ENOSPC" || code === "EMFILE") && !polling && !closed) {
        polling = true;
        opts.onWatchLimit(WATCH_LIMIT_MESSAGE);
        const old = watcher;
        void old.close().then(() => (closed ? undefined : start()));
        return;
      }
      opts.onError(error as Error);
    });
    await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  };
  await start();
  return {
    get polling() {
      return polling;
    },
    async close() {
      closed = true;
      await watcher.close();
    },
  };
}
