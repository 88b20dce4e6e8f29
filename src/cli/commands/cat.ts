/** `zsync cat [-r REV] TARGET [--meta]`: a file's bytes (or any object's metadata) at a revision, from the server. */
import { pipeline } from "node:stream/promises";
import { formatMeta } from "../../protocol/meta-text.js";
import { WcError } from "../../wc/admin.js";
import { defineCommand } from "../command.js";
import { headOf, resolveHistoryTarget } from "../history-target.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { parseRevisionArg, resolveRevisionWord } from "../revision-arg.js";

interface Args extends GlobalArgs {
  target: string;
  revision?: string;
  meta: boolean;
}

export const catCommand = defineCommand<Args>({
  command: "cat <target>",
  describe: "print a file's content (or, with --meta, an object's metadata) at a revision (default: BASE for a checkout path, HEAD for a URL)",
  builder: (y) =>
    y
      .positional("target", { type: "string", describe: "a path in the checkout or a server URL" })
      .option("revision", { alias: "r", type: "string", describe: "revision: a number, HEAD or BASE" })
      .option("meta", { type: "boolean", default: false, describe: "print the metadata as the @@meta JSON file of a checkout shows it" }),
  handler: async (args) => {
    const out = createOutput(args);
    const range = args.revision === undefined ? undefined : parseRevisionArg(args.revision);
    if (range?.end !== undefined) throw new WcError("bad-revision", "cat takes one revision, not a range", 2);
    const target = await resolveHistoryTarget(args.target, args);
    // svn: a checkout path means its BASE, a URL means HEAD.
    const rev = range ? await resolveRevisionWord(range.start, { base: target.base, head: headOf(target.client) }) : target.base;
    if (args.meta) {
      const listing = await target.client.list(target.path, { rev });
      out.result({ path: listing.entry.path, revision: listing.revision, objectRevision: listing.entry.revision, meta: listing.entry.meta ?? {} });
      if (!out.json) process.stdout.write(formatMeta(listing.entry.meta ?? {}));
      return;
    }
    const body = await target.client.cat(target.path, { rev });
    if (out.json) {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      const content = Buffer.concat(chunks);
      out.result({ path: "/" + target.path, ...(rev === undefined ? {} : { revision: rev }), size: content.length, contentBase64: content.toString("base64") });
      return;
    }
    // The bytes are the result: streamed as they are, even with --quiet.
    await pipeline(body, process.stdout, { end: false });
  },
});
