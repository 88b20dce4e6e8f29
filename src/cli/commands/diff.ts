/** `zsync diff|di [PATH…] [--context N]`: unified diffs of working files against BASE, offline. */
import { diff, formatFileDiff, DEFAULT_CONTEXT } from "../../wc/diff.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  paths: string[];
  context: number;
}

export const diffCommand = defineCommand<Args>({
  command: "diff [paths..]",
  aliases: ["di"],
  describe: "show local changes of content and metadata against BASE as unified diffs (offline)",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, default: [] as string[] })
      .option("context", { type: "number", default: DEFAULT_CONTEXT, describe: "lines of context around each change" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), {}, async (wc) => {
      const paths = args.paths.length > 0 ? toCheckoutPaths(wc.root, args.paths) : undefined;
      const report = await diff(wc, { paths, context: args.context });
      const rendered = report.files.map((file) => ({ file, text: formatFileDiff(file, displayPath(wc.root, file.path)) }));
      out.result({
        files: rendered.map(({ file, text }) => ({
          path: file.path,
          displayPath: displayPath(wc.root, file.path),
          object: file.object,
          kind: file.kind,
          change: file.change,
          binary: file.binary,
          ...(file.revision === undefined ? {} : { revision: file.revision }),
          ...(file.contentType === undefined ? {} : { contentType: file.contentType }),
          hunks: file.hunks,
          patch: text,
        })),
      });
      if (out.json) return;
      // The diff is the command's result: printed even with --quiet (like --json documents).
      for (const { text } of rendered) {
        let inHunks = false;
        const lines = text.split("\n").map((line) => {
          if (line.startsWith("@@ ")) {
            inHunks = true;
            return out.paint.dim(line);
          }
          if (!inHunks) return line;
          return line.startsWith("+") ? out.paint.green(line) : line.startsWith("-") ? out.paint.red(line) : line;
        });
        process.stdout.write(lines.join("\n"));
      }
    });
    // Differences are not an error (svn): the exit code stays 0.
  },
});
