/** `zsync commit|ci [PATH…] -m MSG | -F FILE` */
import { readFile } from "node:fs/promises";
import { commit } from "../../wc/commit.js";
import { WcError } from "../../wc/admin.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { clientFor } from "../connect.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  paths: string[];
  message?: string;
  file?: string;
}

async function commitMessage(args: Args): Promise<string> {
  if (args.message !== undefined) return args.message;
  if (args.file !== undefined) return (await readFile(args.file, "utf8")).replace(/\n$/, "");
  if (!args.nonInteractive && process.stdin.isTTY && process.stderr.isTTY) {
    const { input } = await import("@inquirer/prompts");
    return input({ message: "Commit message:" }, { output: process.stderr });
  }
  // No terminal to ask on: like the original zsync (and unlike svn), commit with an empty log message.
  return "";
}

export const commitCommand = defineCommand<Args>({
  command: "commit [paths..]",
  aliases: ["ci"],
  describe: "send local changes to the server as one new revision",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, default: [] as string[] })
      .option("message", { alias: "m", type: "string", describe: "log message" })
      .option("file", { alias: "F", type: "string", describe: "read the log message from FILE" }),
  handler: async (args) => {
    const out = createOutput(args);
    const message = await commitMessage(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lock: "commit" }, async (wc) => {
      const paths = args.paths.length > 0 ? toCheckoutPaths(wc.root, args.paths) : undefined;
      const client = await clientFor(wc.config, args);
      const outcome = await commit(wc, { client, message, paths });
      out.result({ revision: outcome.revision ?? null, committed: outcome.committed.map((c) => ({ ...c, displayPath: displayPath(wc.root, c.path) })) });
      if (outcome.revision === undefined) {
        out.line("Nothing to commit.");
        return;
      }
      const verb = { added: "Adding", modified: "Sending", removed: "Deleting" } as const;
      for (const c of outcome.committed) out.line(`${verb[c.action].padEnd(9)} ${displayPath(wc.root, c.path)}${c.kind === "folder" ? "/" : ""}`);
      out.line(`Committed revision ${outcome.revision}.`);
    });
  },
});
