/**
 * `zsync diff|di [PATH…] [--context N]`: unified diffs of working files against BASE, offline;
 * with `-r A:B` between two revisions on the server, with `-r A` the working files against A.
 */
import { diff, formatFileDiff, DEFAULT_CONTEXT, type FileDiff } from "../../wc/diff.js";
import { diffAgainstRevision } from "../../wc/diff-revision.js";
import { metaFileOf } from "../../protocol/meta-text.js";
import { checkoutOfPaths, displayPath, toCheckoutPaths, withWorkingCopy } from "../../wc/session.js";
import { WcError } from "../../wc/admin.js";
import { clientFor } from "../connect.js";
import { defineCommand } from "../command.js";
import { headOf, isUrl, resolveHistoryTarget } from "../history-target.js";
import { createOutput, type GlobalArgs, type Output } from "../output.js";
import { parseRevisionArg, resolveRevisionWord } from "../revision-arg.js";

interface Args extends GlobalArgs {
  paths: string[];
  context: number;
  revision?: string;
}

/** One file's diff as --json shows it, and the text printed. */
function rendered(file: FileDiff, label: string) {
  const text = formatFileDiff(file, label);
  return {
    json: {
      path: file.path,
      displayPath: label,
      object: file.object,
      kind: file.kind,
      change: file.change,
      binary: file.binary,
      ...(file.revision === undefined ? {} : { revision: file.revision }),
      ...(file.newRevision === undefined ? {} : { newRevision: file.newRevision }),
      ...(file.contentType === undefined ? {} : { contentType: file.contentType }),
      hunks: file.hunks,
      patch: text,
    },
    text,
  };
}

function print(out: Output, files: { json: unknown; text: string }[]): void {
  out.result({ files: files.map((f) => f.json) });
  if (out.json) return;
  // The diff is the command's result: printed even with --quiet (like --json documents).
  for (const { text } of files) {
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
}

/** `-r A:B`: asks the server for each target (checkout paths or URLs). */
async function diffBetweenRevisions(args: Args, out: Output): Promise<void> {
  const range = parseRevisionArg(args.revision!);
  const targets = args.paths.length > 0 ? args.paths : ["."];
  const files: { json: unknown; text: string }[] = [];
  for (const spec of targets) {
    const target = await resolveHistoryTarget(spec, args);
    const context = { base: target.base, head: headOf(target.client) };
    const from = await resolveRevisionWord(range.start, context);
    const to = await resolveRevisionWord(range.end!, context);
    const result = await target.client.diff(target.path, { from, to, context: args.context });
    for (const file of result.files) {
      let label: string;
      if (target.root !== undefined) {
        // Paths come relative to the target (a file by its own name): place them in the checkout.
        const base = target.checkoutPath!;
        const inCheckout = result.kind === "file" ? (file.kind === "meta" ? metaFileOf(base) : base) : [base, file.path].filter((p) => p !== "").join("/");
        label = displayPath(target.root, inCheckout);
      } else {
        label = file.path === "" ? spec : file.path;
      }
      files.push(rendered(file, label));
    }
  }
  print(out, files);
}

export const diffCommand = defineCommand<Args>({
  command: "diff [paths..]",
  aliases: ["di"],
  describe: "show local changes of content and metadata against BASE as unified diffs (offline); -r A:B between revisions, -r A against revision A",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, default: [] as string[] })
      .option("context", { type: "number", default: DEFAULT_CONTEXT, describe: "lines of context around each change" })
      .option("revision", { alias: "r", type: "string", describe: "A:B compares two revisions on the server; A compares the working files with revision A (numbers, HEAD, BASE)" }),
  handler: async (args) => {
    const out = createOutput(args);
    if (!Number.isSafeInteger(args.context) || args.context < 0) throw new WcError("bad-context", `context must be a whole number of lines, not ${args.context}`, 2);
    const range = args.revision === undefined ? undefined : parseRevisionArg(args.revision);
    if (range?.end !== undefined) return diffBetweenRevisions(args, out);
    if (range === undefined && args.paths.some(isUrl)) throw new WcError("bad-usage", "comparing URLs needs -r A:B", 2);
    await withWorkingCopy(await checkoutOfPaths(args.paths), {}, async (wc) => {
      const paths = args.paths.length > 0 ? toCheckoutPaths(wc.root, args.paths) : undefined;
      if (range !== undefined) {
        const client = await clientFor(wc.config, args);
        const revision = await resolveRevisionWord(range.start, { base: wc.entries.revision, head: headOf(client) });
        const files = await diffAgainstRevision(wc, { client, revision, paths, context: args.context });
        print(out, files.map((file) => rendered(file, displayPath(wc.root, file.path))));
        return;
      }
      const report = await diff(wc, { paths, context: args.context });
      print(out, report.files.map((file) => rendered(file, displayPath(wc.root, file.path))));
    });
    // Differences are not an error (svn): the exit code stays 0.
  },
});
