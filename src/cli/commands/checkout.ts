/** `zsync checkout|co URL [DIR] [--depth …] [-r REV]` */
import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { adminPaths } from "../../wc/admin.js";
import { checkout } from "../../wc/checkout.js";
import { displayPath } from "../../wc/session.js";
import type { Depth } from "../../wc/admin.js";
import { transferProgress } from "../../ui/progress.js";
import { defineCommand } from "../command.js";
import { clientForUrl } from "../connect.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { printUpdateLines, updateJson } from "./update.js";

interface Args extends GlobalArgs {
  url: string;
  dir?: string;
  depth: Depth;
  revision?: number;
}

export const checkoutCommand = defineCommand<Args>({
  command: "checkout <url> [dir]",
  aliases: ["co"],
  describe: "check out a server folder into DIR (default: the URL's last segment)",
  builder: (y) =>
    y
      .positional("url", { type: "string", describe: "http(s)://[user@]host[:port]/path or zsync+ssh://[user@]host[:port]/path" })
      .positional("dir", { type: "string" })
      .option("depth", { choices: ["empty", "files", "immediates", "infinity"], default: "infinity", describe: "how much of the tree to check out" })
      .option("revision", { alias: "r", type: "number", describe: "check out this revision" }),
  handler: async (args) => {
    const out = createOutput(args);
    const { client, origin, path, user, ca } = await clientForUrl(args.url, args);
    const dir = args.dir ?? (basename(path) || "root");
    const bar = transferProgress("Checking out", { enabled: !args.json && !args.quiet });
    // Ctrl-C: say what is left and how to finish it (svn: "interrupted; run svn cleanup / update").
    const onInterrupt = () => {
      bar.stop();
      const started = existsSync(adminPaths(resolve(dir)).incomplete);
      out.warn(started ? `the checkout into ${dir} was interrupted; run \`zsync update\` in ${dir} to finish it` : `the checkout was interrupted before anything was written`);
      process.exit(130);
    };
    process.once("SIGINT", onInterrupt);
    const result = await checkout({ client, origin, path, user, ca, dir, depth: args.depth, revision: args.revision, progress: bar.update })
      .finally(bar.stop)
      .finally(() => process.off("SIGINT", onInterrupt));
    if (out.json) out.result({ ...updateJson(result, result.root), root: result.root });
    printUpdateLines(out, result, result.root, true);
    out.line(`Checked out revision ${result.target} into ${displayPath(result.root, "")}.`);
  },
});
