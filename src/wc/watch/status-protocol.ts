/**
 * The local socket a running `zsync watch` answers on (`.zsync/watch.sock`), like git's fsmonitor
 * daemon: `zsync status` asks which paths may have changed since its last answer and rescans only
 * those. One JSON line each way.
 */
import { join } from "node:path";
import { adminPaths } from "../admin.js";

/** The request: the watcher instance and change counter of the previous answer (none: first time). */
export interface WatcherQuery {
  instance?: string;
  token?: number;
}

/** The answer: `full` when the caller must walk everything, else the paths touched since `token`. */
export interface WatcherAnswer {
  instance: string;
  /** Change counter now; the next query sends it back. */
  token: number;
  full: boolean;
  paths: string[];
}

/** Longest Unix socket path Linux accepts (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/** The socket path, or undefined when the checkout's path is too long for one. */
export function watcherSocketPath(root: string): string | undefined {
  const path = join(adminPaths(root).admin, "watch.sock");
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH ? path : undefined;
}

/** Folder of the cookie files the watcher writes to know that every earlier file event has reached it. */
export function cookieDir(root: string): string {
  return join(adminPaths(root).admin, "watch-cookies");
}

/** The checkout-relative name of that folder. */
export const COOKIE_DIR = ".zsync/watch-cookies";
