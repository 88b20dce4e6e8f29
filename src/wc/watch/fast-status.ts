/**
 * `zsync status` with a running watcher: ask it which paths were touched since the previous
 * answer, and scan only those plus the paths that were changed then, instead of walking the
 * tree. Without a watcher (or when it cannot vouch for the tree: another watcher instance, the
 * entries changed by a command, a `.zsyncignore` edited, too many paths) it says so and the
 * caller walks as before. The previous answer is kept in `.zsync/watch-status.json`.
 */
import { lstat, readFile, stat } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { parentPath } from "../../protocol/paths.js";
import { adminPaths } from "../admin.js";
import { writeFileAtomic } from "../atomic.js";
import { objectOfMetaFile } from "../meta-files.js";
import { checkoutPathProblem } from "../safe-path.js";
import { scanWorkingCopy, type PathStatus } from "../scan.js";
import type { WorkingCopy } from "../session.js";
import { watcherSocketPath, type WatcherAnswer, type WatcherQuery } from "./status-protocol.js";

/** What the previous status through a watcher knew. */
interface Remembered {
  instance: string;
  token: number;
  /** Identity of the index then: any command that changed entries makes a full walk necessary. */
  entries: string;
  /** The paths that were changed then (they must be looked at again). */
  changed: string[];
}

/** No answer within this time: walk instead. */
const ASK_TIMEOUT_MS = 3000;

/**
 * The changed paths of the whole checkout (as `status` without paths, `-v` or `-u` gives them),
 * found with the watcher's help; undefined when no watcher answers.
 */
export async function statusViaWatcher(wc: WorkingCopy): Promise<{ items: PathStatus[]; walked: boolean } | undefined> {
  const socket = watcherSocketPath(wc.root);
  // No socket file, no watcher: one lstat instead of loading node:net and a failed connect.
  if (!socket || !(await lstat(socket).then((s) => s.isSocket(), () => false))) return undefined;
  const memoFile = join(adminPaths(wc.root).admin, "watch-status.json");
  const memo = await readFile(memoFile, "utf8").then((text) => JSON.parse(text) as Remembered, () => undefined);
  const answer = await ask(socket, { instance: memo?.instance, token: memo?.token });
  if (!answer) return undefined;
  const entriesId = await stat(adminPaths(wc.root).index, { bigint: true }).then((s) => `${s.ino}:${s.size}:${s.mtimeNs}`, () => "none");
  const walk = answer.full || !memo || memo.instance !== answer.instance || memo.entries !== entriesId || answer.paths.some((p) => p === ".zsyncignore" || p.endsWith("/.zsyncignore"));
  let items: PathStatus[];
  if (walk) {
    items = (await scanWorkingCopy(wc.root, wc.entries.entries, { changedOnly: true })).items;
  } else {
    const within = scopesFor([...memo.changed, ...answer.paths], wc.entries.entries);
    items = within.length === 0 ? [] : (await scanWorkingCopy(wc.root, wc.entries.entries, { within, changedOnly: true })).items;
  }
  const next: Remembered = { instance: answer.instance, token: answer.token, entries: entriesId, changed: items.map((i) => i.path) };
  // Best effort: a checkout that cannot be written to still gets its answer.
  await writeFileAtomic(memoFile, JSON.stringify(next)).catch(() => {});
  return { items, walked: walk };
}

/**
 * The scan scopes for touched paths: a metadata file stands for its object, a path inside an
 * unversioned folder for the topmost unversioned folder (status lists that one, not its
 * contents), and a path inside another scope is left out.
 */
export function scopesFor(paths: string[], entries: Map<string, unknown>): string[] {
  const scopes = new Set<string>();
  for (const touched of paths) {
    if (touched !== "" && checkoutPathProblem(touched) !== undefined) continue;
    let path = touched.split("/").includes("@@meta") ? objectOfMetaFile(touched) ?? parentPath(touched) : touched;
    while (path !== "" && parentPath(path) !== "" && !entries.has(parentPath(path))) path = parentPath(path);
    scopes.add(path);
  }
  if (scopes.has("")) return [""];
  const sorted = [...scopes].sort();
  return sorted.filter((path) => !sorted.some((other) => other !== path && path.startsWith(other + "/")));
}

/** One query on the socket; undefined when nobody answers properly. */
function ask(socket: string, query: WatcherQuery): Promise<WatcherAnswer | undefined> {
  return new Promise((resolve) => {
    const connection = connect(socket);
    let text = "";
    const timer = setTimeout(() => connection.destroy(), ASK_TIMEOUT_MS);
    connection.setEncoding("utf8");
    connection.once("connect", () => connection.write(JSON.stringify(query) + "\n"));
    connection.on("data", (chunk: string) => (text += chunk));
    connection.once("error", () => {});
    connection.once("close", () => {
      clearTimeout(timer);
      try {
        const answer = JSON.parse(text) as WatcherAnswer;
        const good = typeof answer.instance === "string" && Number.isSafeInteger(answer.token) && typeof answer.full === "boolean" && Array.isArray(answer.paths) && answer.paths.every((p) => typeof p === "string");
        resolve(good ? answer : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}
