/**
 * The watcher's status service in-process (src/wc/watch/status-service.ts), fed by the real file
 * watcher: once the watcher knows it may have missed events (a watcher error, an overflow), the
 * service must not answer from its touched-paths set: the next question gets `full` (status walks
 * the tree once), later ones are answered from the events again. Every wait is for an answer.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { watchLocalChanges, type LocalWatcher } from "../../src/wc/watch/local-changes.js";
import { watcherSocketPath, type WatcherAnswer, type WatcherQuery } from "../../src/wc/watch/status-protocol.js";
import { prepareStatusService, startStatusService, type StatusService } from "../../src/wc/watch/status-service.js";

/** One question on the socket, as `zsync status` asks it. */
function ask(socket: string, query: WatcherQuery): Promise<WatcherAnswer> {
  return new Promise((resolve, reject) => {
    const connection = connect(socket);
    let text = "";
    connection.setEncoding("utf8");
    connection.once("connect", () => connection.write(JSON.stringify(query) + "\n"));
    connection.on("data", (chunk: string) => (text += chunk));
    connection.once("error", reject);
    connection.once("close", () => {
      try {
        resolve(JSON.parse(text) as WatcherAnswer);
      } catch (error) {
        reject(error);
      }
    });
  });
}

let root: string;
let socket: string;
let local: LocalWatcher;
let service: StatusService;
/** While set, raw file events are dropped before the service sees them (the events the OS lost). */
let deaf = false;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "zsync-svc-"));
  await mkdir(join(root, ".zsync"));
  await writeFile(join(root, "a.txt"), "a\n");
  socket = watcherSocketPath(root)!;
  assert.ok(socket, "a short temp path has a socket");
  await prepareStatusService(root);
  local = await watchLocalChanges(root, root, {
    onChange: () => {},
    onRaw: (path) => {
      // The cookies still arrive: the barrier works, only the user's file events are lost.
      if (!deaf || path.startsWith(".zsync/")) service?.touched(path);
    },
    onWatchLimit: () => {},
    onError: (error) => assert.fail(error),
  });
  service = (await startStatusService(root))!;
  assert.ok(service, "the service listens");
});
after(async () => {
  await service?.close();
  await local?.close();
  await rm(root, { recursive: true, force: true });
});

test("after missed events the next answer is full, then answers come from events again", { timeout: 30_000 }, async () => {
  const first = await ask(socket, {});
  assert.equal(first.full, true, "a first question always walks");
  const quiet = await ask(socket, { instance: first.instance, token: first.token });
  assert.deepEqual({ full: quiet.full, paths: quiet.paths }, { full: false, paths: [] });

  await writeFile(join(root, "seen.txt"), "seen\n");
  const seen = await ask(socket, { instance: first.instance, token: quiet.token });
  assert.equal(seen.full, false);
  assert.ok(seen.paths.includes("seen.txt"), JSON.stringify(seen.paths));

  // The OS loses the events of this write, and the watcher learns that it may have missed some.
  deaf = true;
  await writeFile(join(root, "lost.txt"), "lost\n");
  service.missedEvents();
  deaf = false;
  const afterMiss = await ask(socket, { instance: first.instance, token: seen.token });
  assert.equal(afterMiss.full, true, `must walk once after missed events, got ${JSON.stringify(afterMiss)}`);

  // A status that never got that answer (killed) asks with its older token: still a walk.
  const stale = await ask(socket, { instance: first.instance, token: seen.token });
  assert.equal(stale.full, true, "an older token predates the missed events");

  // After the walk, answers come from the events again.
  const resumed = await ask(socket, { instance: first.instance, token: afterMiss.token });
  assert.deepEqual({ full: resumed.full, paths: resumed.paths }, { full: false, paths: [] });
  await writeFile(join(root, "later.txt"), "later\n");
  const later = await ask(socket, { instance: first.instance, token: resumed.token });
  assert.equal(later.full, false);
  assert.ok(later.paths.includes("later.txt"), JSON.stringify(later.paths));
});
