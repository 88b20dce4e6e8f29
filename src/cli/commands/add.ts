/** `zsync add PATH… [--type CONTENTTYPE] [--no-ignore]` */
import { add } from "../../wc/add.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { savedAsideJson, warnSavedAside } from "./cleanup.js";

interface Args extends GlobalArgs {
  paths: string[];
  type?: string;
  ignore: boolean;
}

export const addCommand = defineCommand<Args>({
  command: "add <paths..>",
  describe: "schedule unversioned files and folders (recursively) for addition; unversioned parents are added too",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, demandOption: true, default: undefined })
      .option("type", { alias: "t", type: "string", describe: "content type of the named files: a media type, or contact, event, note (otherwise guessed from the extension and content)" })
      .option("ignore", { type: "boolean", default: true, describe: "honour ignore rules (--no-ignore adds ignored paths too)" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lock: "add" }, async (wc) => {
      const paths = toCheckoutPaths(wc.root, args.paths);
      const r = await add(wc, { paths, contentType: args.type, noIgnore: !args.ignore });
      out.result({
        added: r.added.map((a) => ({
          path: a.path,
          displayPath: displayPath(wc.root, a.path),
          kind: a.kind,
          ...(a.contentType ? { contentType: a.contentType } : {}),
          ...(a.metaFile ? { metaFile: a.metaFile } : {}),
          parent: a.parent === true,
        })),
        skipped: r.skipped.map((s) => ({ path: s.path, displayPath: displayPath(wc.root, s.path), reason: s.reason, message: s.message, explicit: s.explicit })),
        savedAside: savedAsideJson(wc.root, r.savedAside),
      });
      for (const a of r.added) {
        const shown = displayPath(wc.root, a.path) + (a.kind === "folder" ? "/" : "");
        out.line(`A  ${shown}${a.parent ? "  (parent folder, added too)" : ""}`);
      }
      for (const s of r.skipped) if (s.explicit || s.reason !== "ignored") out.warn(s.message);
      warnSavedAside(out, wc.root, r.savedAside);
    });
  },
});
