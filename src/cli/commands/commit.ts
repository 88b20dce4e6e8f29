/** `zsync commit|ci [PATH…] -m MSG | -F FILE` */
import { readFile, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { PathStatus } from "../../wc/scan.js";
import { editCommitMessage } from "../commit-editor.js";
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

/** The message, or (on a terminal without -m/-F) the editor, opened once the changes are known. */
async function commitMessage(args: Args, show: (path: string) => string): Promise<string | ((changes: PathStatus[]) => Promise<string>)> {
  if (args.message !== undefined) return args.message;
  if (args.file !== undefined) return (await readFile(args.file, "utf8")).replace(/\n$/, "");
  if (!args.nonInteractive && !args.json && process.stdin.isTTY && process.stderr.isTTY) return (changes) => editCommitMessage(changes, { show });
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
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lock: "commit", lazyEntries: true }, async (wc) => {
      const paths = args.paths.length > 0 ? toCheckoutPaths(wc.root, args.paths) : undefined;
      const client = await clientFor(wc.config, args);
      const asked = await commitMessage(args, (p) => displayPath(wc.root, p));
      let typed: string | undefined;
      const message = typeof asked === "string" ? asked : async (changes: PathStatus[]) => (typed = await asked(changes));
      const outcome = await commit(wc, { client, message, paths }).catch(async (error: unknown) => {
        // Like svn's svn-commit.tmp: a message typed in the editor is not lost with the commit.
        if (typed) {
          const saved = resolve("zsync-commit.txt");
          await writeFile(saved, typed + "\n", { flag: "wx" }).then(
            () => out.warn(`your log message was saved in ${saved}; commit again with -F ${saved}`),
            () => out.warn(`your log message was:\n${typed}`),
          );
        }
        throw error;
      });
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
