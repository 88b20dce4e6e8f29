/** `zsync move|mv SRC DST` */
import { move } from "../../wc/move.js";
import { checkoutOfPaths, displayPath, toCheckoutPaths, withWorkingCopy } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { savedAsideJson, warnSavedAside } from "./cleanup.js";

interface Args extends GlobalArgs {
  src: string;
  dst: string;
}

export const moveCommand = defineCommand<Args>({
  command: "move <src> <dst>",
  aliases: ["mv", "rename", "ren"],
  describe: "move or rename a versioned file or folder (with its metadata and local edits): a scheduled add of DST and removal of SRC",
  builder: (y) =>
    y
      .positional("src", { type: "string", demandOption: true })
      .positional("dst", { type: "string", demandOption: true, describe: "new path, or an existing versioned folder to move into" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths([args.src, args.dst]), { lock: "move" }, async (wc) => {
      const [src, dst] = toCheckoutPaths(wc.root, [args.src, args.dst]);
      const r = await move(wc, { src, dst });
      const shown = (path: string, kind: string) => `${displayPath(wc.root, path)}${kind === "folder" ? "/" : ""}`;
      out.result({
        from: src,
        to: r.copied.destination,
        added: r.copied.copied.map((c) => ({ path: c.path, displayPath: displayPath(wc.root, c.path), kind: c.kind, from: c.from, ...(c.metaFile ? { metaFile: c.metaFile } : {}) })),
        removed: r.removed.removed.map((x) => ({ path: x.path, displayPath: displayPath(wc.root, x.path), kind: x.kind, action: x.action })),
        savedAside: savedAsideJson(wc.root, [...r.copied.savedAside, ...r.removed.savedAside]),
      });
      for (const c of r.copied.copied) out.line(`A  ${shown(c.path, c.kind)}`);
      for (const x of r.removed.removed) out.line(`R  ${shown(x.path, x.kind)}`);
      warnSavedAside(out, wc.root, [...r.copied.savedAside, ...r.removed.savedAside]);
    });
  },
});
