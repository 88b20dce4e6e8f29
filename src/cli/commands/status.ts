/** `zsync status|st [PATH…] [-v] [-u]` */
import { status, type StatusReport } from "../../wc/status.js";
import { statusViaWatcher } from "../../wc/watch/fast-status.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { adminPaths } from "../../wc/admin.js";
import { checkoutOfPaths, displayPath, toCheckoutPaths, withWorkingCopy } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { clientFor } from "../connect.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  paths: string[];
  verbose: boolean;
  showUpdates: boolean;
}

export const statusCommand = defineCommand<Args>({
  command: "status [paths..]",
  aliases: ["st", "stat"],
  describe: "show the state of working files: ? A R M C ! ~ (and = with -v; * out of date with -u)",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, default: [] as string[] })
      .option("verbose", { alias: "v", type: "boolean", default: false, describe: "also list unchanged paths (=)" })
      .option("show-updates", { alias: "u", type: "boolean", default: false, describe: "ask the server which paths are out of date (*)" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lazyEntries: true }, async (wc) => {
      const paths = args.paths.length > 0 ? toCheckoutPaths(wc.root, args.paths) : undefined;
      const server = args.showUpdates ? await clientFor(wc.config, args) : undefined;
      // A running `zsync watch` knows what changed: ask it instead of walking (docs/WATCH.md).
      const viaWatcher = !paths && !args.verbose && !server && !process.env.ZSYNC_NO_WATCHER ? await statusViaWatcher(wc) : undefined;
      // svn: "W155010: The node … was not found": a path neither on disk nor versioned is a typo, not "clean".
      const incomplete = existsSync(adminPaths(wc.root).incomplete);
      const notFound = (paths ?? []).filter((p) => !wc.entries.entries.has(p) && !existsSync(join(wc.root, p)));
      const report: StatusReport = viaWatcher ? { revision: wc.entries.revision, items: viaWatcher.items } : await status(wc, { paths, verbose: args.verbose, server });
      out.result({
        revision: report.revision,
        ...(viaWatcher ? { watcher: true } : {}),
        ...(report.head === undefined ? {} : { head: report.head }),
        ...(incomplete ? { incomplete: true } : {}),
        ...(notFound.length > 0 ? { notFound: notFound.map((p) => displayPath(wc.root, p)) } : {}),
        conflicts: report.items.filter((i) => i.content === "C" || i.meta === "C" || i.entry?.conflict).length,
        items: report.items.map((i) => ({
          path: i.path,
          displayPath: displayPath(wc.root, i.path),
          kind: i.kind,
          status: i.content,
          meta: i.meta === "M" ? "modified" : i.meta === "C" ? "conflict" : "unchanged",
          ...(i.metaError ? { metaError: i.metaError } : {}),
          ...(i.entry?.conflict ? { conflict: i.entry.conflict } : {}),
          ...(i.outOfDate ? { outOfDate: true } : {}),
        })),
      });
      for (const i of report.items) {
        const letter = i.content === "=" ? (args.verbose && i.meta === " " && !i.outOfDate ? "=" : " ") : i.content;
        const star = args.showUpdates ? (i.outOfDate ? " *" : "  ") : "";
        const shown = displayPath(wc.root, i.path) + (i.kind === "folder" && i.path !== "" ? "/" : "");
        out.line(`${letter}${i.meta}${star} ${shown}`);
        const conflict = i.entry?.conflict;
        if (conflict?.kind === "tree") out.line(`      > tree conflict: ${conflict.reason ?? "see zsync info"}`);
        else if (conflict?.kind === "meta") out.line(`      > metadata conflict: ${conflict.reason ?? ""}`);
        if (i.metaError) out.warn(i.metaError);
      }
      if (incomplete) out.warn(`this checkout is incomplete: its checkout was interrupted; run \`zsync update\` in ${displayPath(wc.root, "")} to finish it`);
      for (const p of notFound) out.warn(`warning: ${displayPath(wc.root, p)} is not there: neither a file on disk nor a versioned path`);
      if (notFound.length > 0) process.exitCode = 1;
      if (report.head !== undefined) out.line(`Status against revision ${report.head}`);
    });
  },
});
