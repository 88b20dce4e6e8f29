/** `zsync revert PATH… [-R|--recursive]` */
import { revert } from "../../wc/revert.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { savedAsideJson, warnSavedAside } from "./cleanup.js";

interface Args extends GlobalArgs {
  paths: string[];
  recursive: boolean;
}

export const revertCommand = defineCommand<Args>({
  command: "revert <paths..>",
  describe: "undo local changes: restore BASE content and metadata, drop schedules, clear conflicts (modified files are saved as FILE.orig)",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, demandOption: true, default: undefined })
      .option("recursive", { alias: "R", type: "boolean", default: false, describe: "also revert everything inside named folders" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lock: "revert" }, async (wc) => {
      const paths = toCheckoutPaths(wc.root, args.paths);
      const r = await revert(wc, { paths, recursive: args.recursive });
      const show = (p: string) => displayPath(wc.root, p);
      out.result({
        reverted: r.reverted.map((x) => ({
          path: x.path,
          displayPath: show(x.path),
          kind: x.kind,
          previous: x.previous,
          unscheduled: x.unscheduled ?? null,
          content: x.content,
          meta: x.meta,
          savedAs: x.savedAs ?? null,
          metaSavedAs: x.metaSavedAs ?? null,
          conflictCleared: x.conflictCleared,
          removedArtifacts: x.removedArtifacts,
        })),
        skipped: r.skipped,
        savedAside: savedAsideJson(wc.root, r.savedAside),
      });
      for (const x of r.reverted) {
        const notes: string[] = [];
        if (x.savedAs) notes.push(`your version saved as ${show(x.savedAs)}`);
        if (x.metaSavedAs) notes.push(`your metadata saved as ${show(x.metaSavedAs)}`);
        if (x.removedArtifacts.length > 0) notes.push(`removed ${x.removedArtifacts.map(show).join(", ")}`);
        if (x.serverObjectToUpdate) notes.push("run `zsync update` to get the server's object it replaced");
        out.line(`Reverted '${show(x.path)}${x.kind === "folder" && x.path !== "" ? "/" : ""}'${notes.length ? ` (${notes.join("; ")})` : ""}`);
      }
      for (const s of r.skipped) out.warn(s.message);
      warnSavedAside(out, wc.root, r.savedAside);
    });
  },
});
