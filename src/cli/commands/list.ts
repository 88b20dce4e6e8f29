/** `zsync list|ls [-r REV] [-v] [TARGET]`: the entries of a folder on the server, svn style. */
import type { ListEntry } from "../../protocol/types.js";
import { WcError } from "../../wc/admin.js";
import { defineCommand } from "../command.js";
import { headOf, resolveHistoryTarget } from "../history-target.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { parseRevisionArg, resolveRevisionWord } from "../revision-arg.js";
import { svnDate } from "./log.js";

interface Args extends GlobalArgs {
  target?: string;
  revision?: string;
  verbose: boolean;
}

/** One `svn ls -v` line: revision, author, size (files), date, name (folders end in `/`). */
export function formatListLine(entry: ListEntry, verbose: boolean, name = entry.name): string {
  const shown = entry.kind === "folder" ? `${name}/` : name;
  if (!verbose) return shown;
  const author = (entry.author ?? "").slice(0, 16).padEnd(16);
  const size = entry.kind === "file" ? String(entry.size ?? 0) : "";
  const date = entry.date ? svnDate(entry.date).slice(0, 16) : "".padEnd(16);
  return `${String(entry.revision).padStart(7)} ${author} ${size.padStart(10)} ${date} ${shown}`;
}

export const listCommand = defineCommand<Args>({
  command: "list [target]",
  aliases: ["ls"],
  describe: "list a folder (or a file) on the server at a revision (default HEAD): folders first, with -v revision, author, size, date",
  builder: (y) =>
    y
      .positional("target", { type: "string", describe: "a path in the checkout (default: the current folder's object) or a server URL" })
      .option("revision", { alias: "r", type: "string", describe: "revision: a number, HEAD or BASE" })
      .option("verbose", { alias: "v", type: "boolean", default: false, describe: "show revision, author, size and date" }),
  handler: async (args) => {
    const out = createOutput(args);
    const range = args.revision === undefined ? undefined : parseRevisionArg(args.revision);
    if (range?.end !== undefined) throw new WcError("bad-revision", "list takes one revision, not a range", 2);
    const target = await resolveHistoryTarget(args.target ?? ".", args);
    const rev = range ? await resolveRevisionWord(range.start, { base: target.base, head: headOf(target.client) }) : undefined;
    const listing = await target.client.list(target.path, { rev });
    const entries = listing.entry.kind === "file" ? [listing.entry] : listing.children;
    out.result({ path: listing.entry.path, revision: listing.revision, kind: listing.entry.kind, entries });
    for (const entry of entries) out.line(formatListLine(entry, args.verbose));
  },
});
