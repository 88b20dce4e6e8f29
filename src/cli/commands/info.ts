/** `zsync info [PATH…]` */
import { info } from "../../wc/info.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  paths: string[];
}

export const infoCommand = defineCommand<Args>({
  command: "info [paths..]",
  describe: "show what the checkout knows about paths: URL, repository, revisions, kind, schedule, checksum",
  builder: (y) => y.positional("paths", { type: "string", array: true, default: ["."] as string[] }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), {}, async (wc) => {
      const paths = toCheckoutPaths(wc.root, args.paths.length > 0 ? args.paths : ["."]);
      const r = await info(wc, { paths });
      out.result({
        items: r.items.map((i) => ({ ...i, displayPath: displayPath(wc.root, i.path) })),
        errors: r.errors.map((e) => ({ ...e, displayPath: displayPath(wc.root, e.path) })),
      });
      const schedules = { normal: "normal", added: "add", removed: "delete" } as const;
      r.items.forEach((i, n) => {
        if (n > 0) out.line("");
        out.line(`Path: ${displayPath(wc.root, i.path)}`);
        if (i.name) out.line(`Name: ${i.name}`);
        out.line(`Working Copy Root Path: ${i.workingCopyRoot}`);
        out.line(`URL: ${i.url}`);
        out.line(`Repository Root: ${i.repositoryRoot}`);
        out.line(`Repository UUID: ${i.repositoryUuid}`);
        out.line(`Revision: ${i.revision}`);
        out.line(`Node Kind: ${i.kind === "folder" ? "directory" : "file"}`);
        out.line(`Schedule: ${schedules[i.schedule]}`);
        out.line(`Status: ${i.status}${i.metaStatus === "modified" ? "M" : i.metaStatus === "conflict" ? "C" : " "}`);
        if (i.lastChangedRevision !== undefined) out.line(`Last Changed Rev: ${i.lastChangedRevision}`);
        if (i.checksum) out.line(`Checksum (SHA-256): ${i.checksum}`);
        if (i.size !== undefined) out.line(`Size: ${i.size}`);
        if (i.contentType) out.line(`Content Type: ${i.contentType}`);
        if (i.metaFile) out.line(`Metadata File: ${displayPath(wc.root, i.metaFile)}`);
        if (i.conflict) {
          out.line(`Conflict: ${i.conflict.kind}${i.conflict.reason ? ` (${i.conflict.reason})` : ""}`);
          for (const a of i.conflict.artifacts) out.line(`  Conflict Artifact: ${displayPath(wc.root, a)}`);
        }
      });
      for (const e of r.errors) out.warn(`'${displayPath(wc.root, e.path)}' is not under version control`);
      if (r.errors.length > 0) process.exitCode = 1;
    });
  },
});
