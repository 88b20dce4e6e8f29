/** `zsync watch [PATH] [--commit[=SECONDS]] [--message TEMPLATE] [--policy P] [--poll] [--json]` */
import { findWorkingCopy, readConfig, WcError } from "../../wc/admin.js";
import { displayPath, toCheckoutPaths } from "../../wc/session.js";
import { watch, type WatchEvent } from "../../wc/watch/watch.js";
import { DEFAULT_WATCH_MESSAGE } from "../../merge/auto-commit.js";
import { CONFLICT_POLICIES, type ConflictPolicy } from "../../merge/content-kinds.js";
import { isSshUrl } from "../../transport/ssh/url.js";
import { lingerAfterCommand } from "../../transport/command-end.js";
import type { ZsyncClient } from "../../transport/http/client.js";
import { defineCommand } from "../command.js";
import { clientFor } from "../connect.js";
import { createOutput, type GlobalArgs, type Output } from "../output.js";
import { printUpdateLines, updateJson } from "./update.js";

interface Args extends GlobalArgs {
  path: string;
  commit?: string;
  message: string;
  poll: boolean;
  rescan: number;
  retryMax: number;
  policy?: ConflictPolicy;
}

/** Quiet period of `--commit` without a value. */
const DEFAULT_COMMIT_SECONDS = 3;

const HELD_TEXT = {
  unversioned: "not versioned: `zsync add` it to have it committed",
  missing: "missing: not deleted on the server; `zsync remove` it or `zsync revert` it",
  obstructed: "replaced by another kind of object; not committed",
  "bad-meta": "its metadata file is not valid JSON; not committed until fixed",
} as const;

/** Parses `--commit[=SECONDS]`: undefined (not given), "" (no value) or a positive number. */
export function commitQuietMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === "" || value === "true") return DEFAULT_COMMIT_SECONDS * 1000;
  const seconds = Number(value);
  if (!(seconds > 0) || !Number.isFinite(seconds)) throw new WcError("bad-option", `--commit takes a quiet period in seconds, got ${JSON.stringify(value)}`, 2);
  return seconds * 1000;
}

/** What the watcher did, for the closing summary. */
interface Tally {
  started: number;
  updates: number;
  updatedPaths: number;
  commits: number[];
  conflicts: Set<string>;
  reconnects: number;
}

/** Prints one watcher event: a line for people, or a JSON line. */
function render(out: Output, args: Args, root: string, event: WatchEvent, tally: Tally): void {
  const shown = (path: string) => displayPath(root, path);
  const json = (value: Record<string, unknown>) => {
    if (args.json) process.stdout.write(JSON.stringify({ event: event.type, ...value }) + "\n");
  };
  switch (event.type) {
    case "watching":
      json({ root: event.root, scope: event.scope, revision: event.revision, commit: event.commit, polling: event.polling, fastStatus: event.fastStatus });
      out.line(`Watching ${shown(event.scope)} at revision ${event.revision}${event.commit ? ", committing local saves" : ""}${event.polling ? " (polling)" : ""}. Ctrl-C stops.`);
      return;
    case "connected":
      json({ revision: event.revision });
      if (tally.reconnects > 0) out.line(`Reconnected at revision ${event.revision}; catching up.`);
      return;
    case "disconnected":
      tally.reconnects++;
      json({ message: event.message, retryMs: event.retryMs });
      out.warn(`lost the server (${event.message}); trying again in ${(event.retryMs / 1000).toFixed(1)} s`);
      return;
    case "update":
      tally.updates++;
      tally.updatedPaths += event.result.lines.length;
      json(updateJson(event.result, root));
      printUpdateLines(out, event.result, root);
      out.line(`Updated to revision ${event.result.target}.`);
      return;
    case "commit": {
      tally.commits.push(event.revision);
      json({ revision: event.revision, message: event.message, committed: event.committed.map((c) => ({ ...c, displayPath: shown(c.path) })) });
      const verb = { added: "Adding", modified: "Sending", removed: "Deleting" } as const;
      for (const c of event.committed) out.line(`${verb[c.action].padEnd(9)} ${shown(c.path)}${c.kind === "folder" ? "/" : ""}`);
      out.line(`Committed revision ${event.revision}.`);
      return;
    }
    case "out-of-date":
      json({ paths: event.paths });
      out.line(`Out of date: ${event.paths.map(shown).join(", ")}; updating, then committing again.`);
      return;
    case "conflict":
      tally.conflicts.add(event.path);
      json({ path: event.path, displayPath: shown(event.path) });
      out.warn(out.paint.red(out.paint.bold(`CONFLICT in ${shown(event.path)}: auto-commit is stopped for it until you resolve it (zsync resolve ${shown(event.path)})`)));
      return;
    case "resolved":
      tally.conflicts.delete(event.path);
      json({ path: event.path, displayPath: shown(event.path) });
      out.line(`Resolved ${shown(event.path)}; auto-commit resumes for it.`);
      return;
    case "held":
      json({ path: event.path, displayPath: shown(event.path), reason: event.reason });
      out.line(`${event.reason === "unversioned" ? "?" : event.reason === "missing" ? "!" : "~"}  ${shown(event.path)}  (${HELD_TEXT[event.reason]})`);
      return;
    case "watch-limit":
      json({ message: event.message });
      out.warn(event.message);
      return;
    case "error":
      json({ message: event.message });
      out.warn(event.message);
      return;
  }
}

/** The closing summary: one line (or a JSON line). */
function summarize(out: Output, args: Args, root: string, tally: Tally): void {
  const seconds = Math.round((Date.now() - tally.started) / 1000);
  const open = [...tally.conflicts].map((p) => displayPath(root, p));
  if (args.json) {
    process.stdout.write(JSON.stringify({ event: "summary", seconds, updates: tally.updates, updatedPaths: tally.updatedPaths, commits: tally.commits, conflicts: open, reconnects: tally.reconnects }) + "\n");
    return;
  }
  const commits = tally.commits.length === 0 ? "no commits" : `${tally.commits.length} commit(s) (revision ${tally.commits.join(", ")})`;
  out.line(`Stopped watching after ${seconds} s: ${tally.updates} update(s) of ${tally.updatedPaths} path(s), ${commits}${open.length ? `; conflicts open: ${open.join(", ")}` : ""}.`);
}

export const watchCommand = defineCommand<Args>({
  command: "watch [path]",
  describe: "keep the checkout current as the server changes (and with --commit, send local saves)",
  builder: (y) =>
    y
      .positional("path", { type: "string", default: ".", describe: "the checkout, or a folder in it, to watch" })
      .option("commit", { type: "string", describe: `commit local saves after SECONDS of quiet (default ${DEFAULT_COMMIT_SECONDS})` })
      .option("message", { alias: "m", type: "string", default: DEFAULT_WATCH_MESSAGE, describe: "commit message template: {paths} {count} {user} {host} {date}" })
      .option("policy", { type: "string", choices: CONFLICT_POLICIES, describe: "settle files changed on both sides this way in every update (default: the checkout's per-path policies, else the type's default)" })
      .option("poll", { type: "boolean", default: false, describe: "poll the file system (network mounts, no inotify)" })
      .option("rescan", { type: "number", default: 60, describe: "seconds between full rescans, in case a file system event was missed" })
      .option("retry-max", { type: "number", default: 30, describe: "longest wait in seconds between reconnection attempts" }),
  handler: async (args) => {
    const out = createOutput(args);
    const commitAfterMs = commitQuietMs(args.commit);
    if (!(args.rescan > 0) || !(args.retryMax > 0)) throw new WcError("bad-option", "--rescan and --retry-max take a positive number of seconds", 2);
    const root = await findWorkingCopy(args.path);
    const [scope] = toCheckoutPaths(root, [args.path]);
    const config = await readConfig(root);
    // Over ssh a lost connection needs a new session; over HTTP(S) one client reconnects by itself.
    let http: Promise<ZsyncClient> | undefined;
    const connect = isSshUrl(config.origin)
      ? () => clientFor(config, args)
      : () =>
          (http ??= clientFor(config, args).catch((error: unknown) => {
            http = undefined; // try again at the next reconnection
            throw error;
          }));
    const tally: Tally = { started: Date.now(), updates: 0, updatedPaths: 0, commits: [], conflicts: new Set(), reconnects: 0 };
    const watcher = await watch(root, {
      connect,
      scope,
      commitAfterMs,
      message: args.message,
      poll: args.poll,
      policy: args.policy,
      rescanMs: args.rescan * 1000,
      maxRetryMs: args.retryMax * 1000,
      report: (event) => render(out, args, root, event, tally),
    });
    let interrupted = 0;
    const onSignal = () => {
      // The first Ctrl-C lets the running action finish; a second one leaves at once (the journal
      // makes that as safe as interrupting any command).
      if (++interrupted > 1) process.exit(130);
      void watcher.stop();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    lingerAfterCommand();
    try {
      await watcher.done;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      summarize(out, args, root, tally);
    }
    process.exitCode = tally.conflicts.size > 0 ? 1 : 0;
  },
});
