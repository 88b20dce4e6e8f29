/**
 * The OS watch limit (src/wc/watch/local-changes.ts): a full inotify table (ENOSPC) or no file
 * descriptors left (EMFILE) cannot be brought about by an unprivileged test, so a fake chokidar
 * watcher fails the way the real one does: it reports the error while walking the tree and
 * never becomes ready. The watcher must not hang: it says which limit and how to raise it, and
 * falls back to polling; when even polling fails it gives up with that message.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { ChokidarOptions } from "chokidar";
import { WcError } from "../../src/wc/admin.js";
import { watchLocalChanges } from "../../src/wc/watch/local-changes.js";
import { fakeWatcher } from "../helpers/fake-watcher.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "zsync-watch-limit-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const code of ["ENOSPC", "EMFILE"]) {
  test(`${code} while starting: a message naming the limit, then polling (no hang)`, { timeout: 10_000 }, async () => {
    const made: ChokidarOptions[] = [];
    const closed: string[] = [];
    const limits: string[] = [];
    const errors: Error[] = [];
    const local = await watchLocalChanges(dir, dir, {
      onChange: () => {},
      onWatchLimit: (message) => limits.push(message),
      onError: (error) => errors.push(error),
      createWatcher: (_dir, options) => {
        made.push(options);
        return fakeWatcher(options.usePolling ? undefined : code, closed);
      },
    });
    assert.equal(local.polling, true);
    assert.deepEqual(made.map((o) => o.usePolling), [false, true], "one watcher with events, then one polling");
    assert.equal(limits.length, 1, "one notice, not one per folder");
    assert.match(limits[0]!, code === "ENOSPC" ? /fs\.inotify\.max_user_watches/ : /ulimit -n|open files/);
    assert.match(limits[0]!, /sysctl|ulimit/);
    assert.match(limits[0]!, /--poll/);
    assert.deepEqual(errors, [], "the failing watcher's later errors are not reported as other errors");
    assert.deepEqual(closed, [code], "the failed watcher is closed");
    await local.close();
  });

  test(`${code} even when polling: gives up with the message instead of hanging`, { timeout: 10_000 }, async () => {
    const limits: string[] = [];
    await assert.rejects(
      watchLocalChanges(dir, dir, {
        poll: true,
        onChange: () => {},
        onWatchLimit: (message) => limits.push(message),
        onError: () => {},
        createWatcher: () => fakeWatcher(code, []),
      }),
      (error: unknown) => {
        assert.ok(error instanceof WcError, String(error));
        assert.equal(error.code, "watch-limit");
        assert.match(error.message, code === "ENOSPC" ? /fs\.inotify\.max_user_watches/ : /ulimit -n|open files/);
        return true;
      },
    );
    assert.deepEqual(limits, []);
  });
}
