/** `zsync-server copy-store --from SPEC --to SPEC`: move a repository with its full history between stores. */
import { copyStore } from "../store/copy/copy-store.js";
import type { ServerArgv } from "./common.js";

/** Registers the command. */
export function copyStoreCommand(y: ServerArgv): ServerArgv {
  return y.command(
    "copy-store",
    "copy a whole repository (history, accounts, keys, grants, tokens) into a new store and verify it; stop the servers first",
    (y) =>
      y
        .option("from", { type: "string", demandOption: true, describe: "source store: sqlite:PATH or postgres://…" })
        .option("to", { type: "string", demandOption: true, describe: "destination store (new or empty): sqlite:PATH or postgres://…" }),
    async (args) => {
      const report = await copyStore({ from: args.from, to: args.to, log: (line) => console.log(line) });
      console.log(`copied repository ${report.uuid} up to revision ${report.head}`);
    },
  );
}
