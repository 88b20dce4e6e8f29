/** `zsync remove|rm|del|delete PATH… [--keep-local] [--force]` */
import { remove, RemoveRefusedError } from "../../wc/remove.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { savedAsideJson, warnSavedAside } from "./cleanup.js";

interface Args extends GlobalArgs {
  paths: string[];
  keepLocal: boolean;
  force: boolean;
}

export const removeCommand = defineCommand<Args>({
  command: "remove <paths..>",
  aliases: ["rm", "del", "delete"],
  describe: "schedule files and folders for removal and delete them from disk",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, demandOption: true, default: undefined })
      .option("keep-local", { type: "boolean", default: false, describe: "keep the working files (only schedule the removal)" })
      .option("force", { type: "boolean", default: false, describe: "remove even locally modified, added, unversioned or conflicted content" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lock: "remove" }, async (wc) => {
      const paths = toCheckoutPaths(wc.root, args.paths);
      let r;
      try {
        r = await remove(wc, { paths, keepLocal: args.keepLocal, force: args.force });
      } catch (error) {
        if (!(error instanceof RemoveRefusedError)) throw error;
        const offenders = error.offenders.map((o) => ({ path: o.path, displayPath: displayPath(wc.root, o.path), status: o.status }));
        const hint = args.keepLocal ? "resolve the conflicts first, or use --force" : "use --force to remove them anyway (local changes will be lost), or --keep-local to keep the files";
        const message = `nothing removed: these paths have local modifications, are not versioned or are in conflict:\n${offenders.map((o) => `  ${o.status.padEnd(2)} ${o.displayPath}`).join("\n")}\n${hint}`;
        out.result({ error: { code: error.code, message, offenders } });
        process.stderr.write(`zsync: ${message}\n`);
        process.exitCode = error.exitCode;
        return;
      }
      out.result({
        removed: r.removed.map((x) => ({ path: x.path, displayPath: displayPath(wc.root, x.path), kind: x.kind, action: x.action, deleted: x.deleted })),
        deletedUnversioned: r.deletedUnversioned,
        kept: r.kept,
        skipped: r.skipped,
        savedAside: savedAsideJson(wc.root, r.savedAside),
      });
      for (const x of r.removed) out.line(`R  ${displayPath(wc.root, x.path)}${x.kind === "folder" ? "/" : ""}`);
      for (const p of r.deletedUnversioned) out.line(`D  ${displayPath(wc.root, p)}  (was not under version control)`);
      for (const k of r.kept) {
        const list = k.remaining.map((p) => displayPath(wc.root, p)).join(", ");
        out.warn(`'${displayPath(wc.root, k.path)}' stays on disk: it still holds files zsync does not track${list ? ` (${list})` : ""}`);
      }
      for (const s of r.skipped) out.warn(s.message);
      warnSavedAside(out, wc.root, r.savedAside);
    });
  },
});
