/**
 * `zsync-server --stdio`: serve one HTTP connection on stdin/stdout (the sshd subsystem mode).
 * Registered as yargs' default command, so `--stdio` needs no command word.
 */
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
        .option("log", { type: "boolean", implies: "stdio", describe: "with --stdio: request log on stderr" }),
    async (args) => {
      if (!args.stdio) {
        y.showHelp();
        console.error("\nzsync-server: name a command, e.g. zsync-server serve");
        process.exit(2);
      }
      const store = await openStore(storeSpec(args));
      try {
        await serveStdio({
          store,
          dataDir: resolve(args.dataDir),
          account: args.as ?? (process.env.USER || process.env.LOGNAME || undefined),
          log: args.log ? (line) => process.stderr.write(line + "\n") : undefined,
        });
      } finally {
        await store.close();
      }
      process.exit(0);
    },
  );
}
