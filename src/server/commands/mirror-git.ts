/** `zsync-server mirror-git DIR [--follow] [--interval S]`: the history as a git repository (see mirror/git-mirror.ts). */
import { MirrorError, openGitMirror } from "../mirror/git-mirror.js";
import { withStore, type ServerArgv } from "./common.js";

/** Registers the command. */
export function mirrorGitCommand(y: ServerArgv): ServerArgv {
  return y.command(
    "mirror-git <dir>",
    "write the repository history into a git repository in DIR, one commit per revision (incremental; --follow keeps it current)",
    (y2) =>
      y2
        .positional("dir", { type: "string", demandOption: true, describe: "git working tree (made if missing)" })
        .option("follow", { type: "boolean", default: false, describe: "keep running and mirror new revisions as they come (polls the store)" })
        .option("interval", { type: "number", default: 2, describe: "seconds between polls with --follow" }),
    async (args) => {
      if (!(args.interval > 0)) throw new Error("--interval must be a positive number of seconds");
      await withStore(args, async (store) => {
        const log = (line: string) => console.log(line);
        let mirror;
        try {
          mirror = await openGitMirror(store, args.dir, { log });
          const added = await mirror.update();
          console.log(`${args.dir}: ${added} revision${added === 1 ? "" : "s"} added, at revision ${await mirror.lastRevision()}`);
        } catch (error) {
          if (error instanceof MirrorError) throw new Error(error.message);
          throw error;
        }
        if (!args.follow) return;
        // No change notification reaches another process: poll the store's head.
        console.log(`following; stop with Ctrl-C`);
        let stopping = false;
        let wake: (() => void) | undefined;
        const stop = () => {
          stopping = true;
          wake?.();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        while (!stopping) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, args.interval * 1000);
          });
          if (stopping) break;
          const { head } = await store.info();
          if (head > (await mirror.lastRevision())) await mirror.update();
        }
        console.log("stopped");
      });
    },
  );
}
