/** `zsync-server gc`: delete stored contents no revision uses (uploads of commits that failed). */
import { withStore, type ServerArgv } from "./common.js";

/** Registers the command. */
export function gcCommand(y: ServerArgv): ServerArgv {
  return y.command(
    "gc",
    "delete uploaded contents that no revision references, once older than a grace period (safe beside running servers)",
    (y) => y.option("min-age-hours", { type: "number", default: 24, describe: "keep unreferenced contents stored or re-used within this many hours (commits on their way)" }),
    async (args) => {
      if (!(args.minAgeHours >= 0)) throw new Error("--min-age-hours must be a number >= 0");
      const storedBefore = new Date(Date.now() - args.minAgeHours * 3_600_000).toISOString();
      const freed = await withStore(args, (store) => store.deleteUnreferencedBlobs(storedBefore));
      console.log(`deleted ${freed.blobs} unreferenced blob${freed.blobs === 1 ? "" : "s"} (${(freed.bytes / 1048576).toFixed(1)} MiB)`);
    },
  );
}
