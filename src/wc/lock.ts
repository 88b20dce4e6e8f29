/**
 * `.zsync/lock`: held while a command changes the checkout. A second zsync on the same
 * checkout fails at once with a message naming the holder; a lock left by a dead process
 * (killed, crashed) is taken over.
 */
import { open, readFile, rm } from "node:fs/promises";
import { adminPaths, WcError } from "./admin.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock for `command`; returns the function that releases it. */
export async function acquireLock(root: string, command: string): Promise<() => Promise<void>> {
  const file = adminPaths(root).lock;
  for (let attempt = 0; attempt < 3; attempt++) {
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
    } catch {
      // A lock file being written right now, or garbage: treat garbage as stale below.
    }
    if (typeof holder.pid === "number" && holder.pid !== process.pid && alive(holder.pid)) {
      throw new WcError("locked", `the checkout is locked by \`zsync ${holder.command ?? "?"}\` (process ${holder.pid}); wait for it to finish`);
    }
    await rm(file, { force: true });
  }
  throw new WcError("locked", `cannot take the lock ${file}`);
}
