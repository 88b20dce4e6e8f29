/**
 * The checkout lock (src/wc/lock.ts) with an injected clock: a live holder is waited for (polled)
 * up to the wait limit, then the command fails with "locked"; a dead holder's lock is taken over
 * at once; no wait asked for fails at once as before.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, test } from "node:test";
import { WcError } from "../../src/wc/admin.js";
import { acquireLock, LOCK_WAIT_MS, type LockClock } from "../../src/wc/lock.js";
import { defaultLockWaitMs } from "../../src/wc/session.js";

let root: string;
let lockFile: string;

/** A clock whose sleeps pass at once (and run `onSleep` with the number of sleeps so far). */
function fakeClock(onSleep: (sleeps: number) => Promise<void> | void = () => {}): LockClock & { sleeps: number; time: number } {
  const clock = {
    sleeps: 0,
    time: 1_000_000,
    now: () => clock.time,
    async sleep(ms: number) {
      clock.time += ms;
      await onSleep(++clock.sleeps);
    },
  };
  return clock;
}

/** A lock held by a live process other than this one: the test runner's parent. */
const holdByLiveProcess = () => writeFile(lockFile, JSON.stringify({ pid: process.ppid, command: "watch", started: new Date().toISOString() }));

before(async () => {
  root = await mkdtemp(join(tmpdir(), "zsync-lock-"));
  await mkdir(join(root, ".zsync"));
  lockFile = join(root, ".zsync", "lock");
});
beforeEach(async () => {
  await rm(lockFile, { force: true });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test("a live holder is waited for; the lock is taken once it is released", { timeout: 10_000 }, async () => {
  await holdByLiveProcess();
  const told: string[] = [];
  const clock = fakeClock(async (sleeps) => {
    if (sleeps === 3) await rm(lockFile);
  });
  const release = await acquireLock(root, "commit", { waitMs: 60_000, clock, onWait: (holder) => told.push(holder) });
  assert.equal(clock.sleeps, 3);
  assert.deepEqual(told, [`\`zsync watch\` (process ${process.ppid})`], "told once who holds it");
  assert.equal(JSON.parse(await readFile(lockFile, "utf8")).pid, process.pid);
  await release();
});

test("a holder that keeps the lock past the wait limit: locked, naming it", { timeout: 10_000 }, async () => {
  await holdByLiveProcess();
  const clock = fakeClock();
  await assert.rejects(acquireLock(root, "commit", { waitMs: 60_000, clock }), (error: unknown) => {
    assert.ok(error instanceof WcError);
    assert.equal(error.code, "locked");
    assert.match(error.message, new RegExp(`locked by \`zsync watch\` \\(process ${process.ppid}\\); waited 60 s`));
    return true;
  });
  assert.equal(clock.time - 1_000_000, 60_000, "waited the limit, not longer");
  assert.equal(JSON.parse(await readFile(lockFile, "utf8")).pid, process.ppid, "the holder's lock is left alone");
});

test("no wait asked for: locked at once, as before", { timeout: 10_000 }, async () => {
  await holdByLiveProcess();
  const clock = fakeClock();
  await assert.rejects(acquireLock(root, "status", { clock }), (error: unknown) => error instanceof WcError && error.code === "locked");
  assert.equal(clock.sleeps, 0);
});

test("a dead holder's lock is taken over at once", { timeout: 10_000 }, async () => {
  // Beyond Linux's pid_max (4194304): no process has it.
  await writeFile(lockFile, JSON.stringify({ pid: 99_999_999, command: "watch" }));
  const clock = fakeClock();
  const release = await acquireLock(root, "commit", { waitMs: 60_000, clock, onWait: () => assert.fail("no wait for a dead holder") });
  assert.equal(clock.sleeps, 0);
  assert.equal(JSON.parse(await readFile(lockFile, "utf8")).pid, process.pid);
  await release();
});

test("ZSYNC_LOCK_WAIT sets the wait in seconds; a bad value is a clear error", () => {
  assert.equal(defaultLockWaitMs({}), LOCK_WAIT_MS);
  assert.equal(defaultLockWaitMs({ ZSYNC_LOCK_WAIT: "0" }), 0);
  assert.equal(defaultLockWaitMs({ ZSYNC_LOCK_WAIT: "2.5" }), 2500);
  for (const bad of ["soon", "-1", "Infinity"]) {
    assert.throws(() => defaultLockWaitMs({ ZSYNC_LOCK_WAIT: bad }), (error: unknown) => error instanceof WcError && error.code === "bad-option" && /ZSYNC_LOCK_WAIT/.test(error.message), bad);
  }
});
