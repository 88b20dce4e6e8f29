/**
 * `.zsync/lock`: held while a command changes the checkout. A command that finds it held by a
 * live process (a `zsync watch` applying an update, another command) waits for it, polling, up
 * to its wait limit (commands: 60 s, `ZSYNC_LOCK_WAIT` seconds), then fails with a message naming
 * the holder; a lock left by a dead process (killed, crashed) is taken over at once.
 */
import { open, readFile, rm } from "node:fs/promises";
import { adminPaths, WcError } from "./admin.js";

/** How long commands wait for a live holder by default. */
export const LOCK_WAIT_MS = 60_000;

/** How often a waiting command looks at the lock again. */
const LOCK_POLL_MS = 100;

/** Time for the wait (tests pass one whose sleeps pass at once). */
export interface LockClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: LockClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** How to wait for a lock held by a live process. */
export interface LockWait {
  /** Longest wait in ms (default 0: fail at once). */
  waitMs?: number;
  /** Called once when the wait starts, with the holder (`` `zsync watch` (process 123) ``). */
  onWait?: (holder: string) => void;
  clock?: LockClock;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock for `command`, waiting for a live holder as `wait` says; returns the function that releases it. */
export async function acquireLock(root: string, command: string, wait: LockWait = {}): Promise<() => Promise<void>> {
  const file = adminPaths(root).lock;
  const clock = wait.clock ?? realClock;
  const waitMs = wait.waitMs ?? 0;
  const started = clock.now();
  let waiting = false;
  for (let takeOvers = 0; takeOvers < 3; ) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(JSON.stringify({ pid: process.pid, command, started: new Date().toISOString() }));
      await handle.close();
      return async () => {
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let holder: { pid?: number; command?: string } = {};
    try {
      holder = JSON.parse(await readFile(file, "utf8"));
    } catch (error) {
      // Released meanwhile: try again. A lock file being written right now, or garbage: stale below.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
    }
    if (typeof holder.pid === "number" && holder.pid !== process.pid && alive(holder.pid)) {
      const who = `\`zsync ${holder.command ?? "?"}\` (process ${holder.pid})`;
      const waited = clock.now() - started;
      if (waited >= waitMs) {
        const after = waitMs > 0 ? `; waited ${Math.round(waited / 1000)} s` : "";
        throw new WcError("locked", `the checkout is locked by ${who}${after}; wait for it to finish`);
      }
      if (!waiting) wait.onWait?.(who);
      waiting = true;
      await clock.sleep(Math.min(LOCK_POLL_MS, waitMs - waited));
      continue;
    }
    takeOvers++;
    await rm(file, { force: true });
  }
  throw new WcError("locked", `cannot take the lock ${file}`);
}
