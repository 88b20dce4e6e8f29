/** `zsync mkdir PATH…` */
import { mkdir } from "../../wc/mkdir.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { savedAsideJson, warnSavedAside } from "./cleanup.js";

interface Args extends GlobalArgs {
  paths: string[];
}

export const mkdirCommand = defineCommand<Args>({
  command: "mkdir <paths..>",
  describe: "create folders and schedule them for addition (the parent must be versioned)",
  builder: (y) => y.positional("paths", { type: "string", array: true, demandOption: true, default: undefined }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lock: "mkdir" }, async (wc) => {
      const paths = toCheckoutPaths(wc.root, args.paths);
      const r = await mkdir(wc, { paths });
      out.result({
        created: r.created.map((c) => ({ path: c.path, displayPath: displayPath(wc.root, c.path), kind: c.kind })),
        savedAside: savedAsideJson(wc.root, r.savedAside),
      });
      for (const c of r.created) out.line(`A  ${displayPath(wc.root, c.path)}/`);
      warnSavedAside(out, wc.root, r.savedAside);
    });
  },
});
