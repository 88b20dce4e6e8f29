/** `zsync copy|cp SRC DST` */
import { copy } from "../../wc/copy.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { savedAsideJson, warnSavedAside } from "./cleanup.js";

interface Args extends GlobalArgs {
  src: string;
  dst: string;
}

export const copyCommand = defineCommand<Args>({
  command: "copy <src> <dst>",
  aliases: ["cp"],
  describe: "copy a versioned file or folder (with its metadata) and schedule the copy for addition",
  builder: (y) => y.positional("src", { type: "string", demandOption: true }).positional("dst", { type: "string", demandOption: true }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths([args.src, args.dst]), { lock: "copy" }, async (wc) => {
      const [src, dst] = toCheckoutPaths(wc.root, [args.src, args.dst]);
      const r = await copy(wc, { src, dst });
      out.result({
        destination: r.destination,
        copied: r.copied.map((c) => ({ path: c.path, displayPath: displayPath(wc.root, c.path), kind: c.kind, from: c.from, ...(c.metaFile ? { metaFile: c.metaFile } : {}) })),
        skipped: r.skipped,
        savedAside: savedAsideJson(wc.root, r.savedAside),
      });
      for (const c of r.copied) out.line(`A  ${displayPath(wc.root, c.path)}${c.kind === "folder" ? "/" : ""}`);
      for (const s of r.skipped) out.warn(s.message);
      warnSavedAside(out, wc.root, r.savedAside);
    });
  },
});
