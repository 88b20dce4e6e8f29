/**
 * `zsync-server --stdio`: serve one HTTP connection on stdin/stdout (the sshd subsystem mode).
 * Registered as yargs' default command, so `--stdio` needs no command word.
 */
import { appendFileSync } from "node:fs";
import { resolve } from "node:path";
import { serveStdio } from "../stdio.js";
import { openStore } from "../store/open.js";
import { storeSpec, type ServerArgv } from "./common.js";

/** Registers the default command. */
export function stdioCommand(y: ServerArgv): ServerArgv {
  return y.command(
    "$0",
    false,
    (y2) =>
      y2
        .option("stdio", { type: "boolean", describe: "serve one HTTP connection on stdin/stdout (as an sshd subsystem) and exit" })
        .option("as", { type: "string", implies: "stdio", describe: "with --stdio: the account requests act as (default: $USER, else $LOGNAME)" })
        .option("log", { type: "boolean", implies: "stdio", describe: "with --stdio: request log on stderr" })
        .option("log-file", { type: "string", implies: "stdio", describe: "with --stdio: append the request log to this file (sshd discards a subsystem's stderr)" })
        .option("events-heartbeat", { type: "number", implies: "stdio", describe: "with --stdio: seconds between @@events heartbeats (default 15); a client gone unnoticed is found at the next one" }),
    async (args) => {
      if (!args.stdio) {
        y.showHelp();
        console.error("\nzsync-server: name a command, e.g. zsync-server serve");
        process.exit(2);
      }
      if (args.eventsHeartbeat !== undefined && !(args.eventsHeartbeat > 0)) throw new Error("--events-heartbeat must be a positive number of seconds");
      const store = await openStore(storeSpec(args));
      try {
        await serveStdio({
          store,
          dataDir: resolve(args.dataDir),
          account: args.as ?? (process.env.USER || process.env.LOGNAME || undefined),
          log: requestLog(args),
          heartbeatMs: args.eventsHeartbeat === undefined ? undefined : args.eventsHeartbeat * 1000,
        });
      } finally {
        await store.close();
      }
      // Under sshd stdout and stderr may be sockets, whose writes are asynchronous: flush first.
      await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((done) => stream.write("", done))));
      process.exit(0);
    },
  );
}

/** Where request log lines go: stderr with --log, appended to --log-file, or nowhere. */
function requestLog(args: { log?: boolean; logFile?: string }): ((line: string) => void) | undefined {
  const file = args.logFile === undefined ? undefined : resolve(args.logFile);
  if (!args.log && !file) return undefined;
  return (line) => {
    if (args.log) process.stderr.write(line + "\n");
    // Synchronous: the process exits right after the connection ends. A log that cannot be
    // written must not break the connection.
    if (file) {
      try {
        appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
      } catch {
        /* logging is best effort */
      }
    }
  };
}
