/**
 * The watcher's side of fast `status`: it counts file system events per path (raw events, before
 * chokidar's write-finish delay, so a file being written is already "touched") and answers
 * queries on `.zsync/watch.sock`. Before each answer it writes a cookie file and waits for that
 * file's own event: every event of an earlier write has then been counted (git's fsmonitor does
 * the same), so an answer never misses a change made before the query. When the watcher may
 * have missed events, the next query is told to walk the tree.
 */
import { nodeCrypto } from "../../protocol/crypto.js";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { join } from "node:path";
import { COOKIE_DIR, cookieDir, watcherSocketPath, type WatcherAnswer, type WatcherQuery } from "./status-protocol.js";

/** More touched paths than this: the caller is told to walk everything (cheaper than a huge list). */
const MAX_LISTED = 2000;

/** Waiting longer than this for a cookie's event: answer `full` (always correct). */
const COOKIE_TIMEOUT_MS = 2000;

export interface StatusService {
  /** A raw file system event on the checkout path `path` (relative, `/`-separated). */
  touched(path: string): void;
  /**
   * The file watcher may have missed events (a watcher error, an overflow): every caller whose
   * last answer is older gets `full` (walks once); answers after that come from events again.
   */
  missedEvents(): void;
  close(): Promise<void>;
}

/** Prepares the cookie folder; call before the file watcher starts, so that it watches it. */
export async function prepareStatusService(root: string): Promise<void> {
  await mkdir(cookieDir(root), { recursive: true });
}

/** Listens on the checkout's socket; undefined when there can be none (path too long, or taken). */
export async function startStatusService(root: string): Promise<StatusService | undefined> {
  const socket = watcherSocketPath(root);
  if (!socket) return undefined;
  const instance = nodeCrypto().randomUUID();
  let token = 0;
  /** The token at the last missed events: a query from before it cannot be answered from events. */
  let missedAt = 0;
  const lastTouched = new Map<string, number>();
  const cookies = new Map<string, () => void>();
  let cookieCount = 0;

  const barrier = async (): Promise<boolean> => {
    const name = `c-${process.pid}-${++cookieCount}`;
    const seen = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), COOKIE_TIMEOUT_MS);
      cookies.set(`${COOKIE_DIR}/${name}`, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const file = join(cookieDir(root), name);
    await writeFile(file, "");
    const ok = await seen;
    cookies.delete(`${COOKIE_DIR}/${name}`);
    await rm(file, { force: true });
    return ok;
  };

  const answer = async (query: WatcherQuery): Promise<WatcherAnswer> => {
    const synced = await barrier();
    const now = token;
    if (!synced || query.instance !== instance || typeof query.token !== "number" || query.token < missedAt) return { instance, token: now, full: true, paths: [] };
    const paths: string[] = [];
    for (const [path, at] of lastTouched) {
      if (at > query.token && at <= now) paths.push(path);
      if (paths.length > MAX_LISTED) return { instance, token: now, full: true, paths: [] };
    }
    return { instance, token: now, full: false, paths };
  };

  // A socket file left by a killed watcher is stale and removed; a live watcher's is left alone.
  if (await isLive(socket)) return undefined;
  await rm(socket, { force: true });
  const server: Server = createServer((connection) => {
    let text = "";
    connection.setEncoding("utf8");
    connection.on("data", (chunk: string) => {
      text += chunk;
      if (!text.includes("\n") || text.length > 4096) return;
      let query: WatcherQuery = {};
      try {
        query = JSON.parse(text.slice(0, text.indexOf("\n"))) as WatcherQuery;
      } catch {
        // An unreadable query gets the always-correct answer.
      }
      void answer(query).then(
        (reply) => connection.end(JSON.stringify(reply) + "\n"),
        () => connection.destroy(),
      );
    });
    connection.on("error", () => {});
  });
  const listening = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(socket, () => resolve(true));
  });
  if (!listening) return undefined;
  server.unref();

  return {
    touched(path) {
      const cookie = cookies.get(path);
      if (cookie) return cookie();
      if (path === ".zsync" || path.startsWith(".zsync/")) return;
      lastTouched.set(path, ++token);
    },
    missedEvents() {
      missedAt = ++token;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(socket, { force: true });
    },
  };
}

/** True when a process answers on `socket`. */
function isLive(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socket);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
}
