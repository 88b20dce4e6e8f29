/** `zsync update|up [PATH…] [-r REV]` */
import type { ApplyResult } from "../../wc/apply-remote.js";
import { checkoutOfPaths, checkoutRevision, displayPath, loadDeferredEntries, toCheckoutPaths, withWorkingCopy } from "../../wc/session.js";
import { update } from "../../wc/update.js";
import { transferProgress } from "../../ui/progress.js";
import { defineCommand } from "../command.js";
import { clientFor } from "../connect.js";
import { createOutput, type GlobalArgs, type Output } from "../output.js";
import { CONFLICT_POLICIES, type ConflictPolicy } from "../../merge/content-kinds.js";
import { ACCEPT_OPTION_CHOICES, acceptAfterUpdate } from "./resolve.js";
import { warnSavedAside } from "./cleanup.js";

interface Args extends GlobalArgs {
  paths: string[];
  revision?: number;
  accept?: string;
  policy?: ConflictPolicy;
}

/** The `--json` document of checkout and update (documented in docs/CLI.md). */
export function updateJson(result: ApplyResult, root: string) {
  return {
    revision: result.revision,
    target: result.target,
    conflicts: result.conflicts,
    changes: result.lines.map((l) => ({
      path: l.path,
      displayPath: displayPath(root, l.path),
      kind: l.kind,
      content: l.content.trim() || null,
      meta: l.meta.trim() || null,
      ...(l.reason ? { reason: l.reason } : {}),
    })),
    savedAside: result.savedAside,
    skipped: result.skipped,
  };
}

/** Prints update lines svn style (`U  path`, ` U path` for metadata); checkout prints `A`. */
export function printUpdateLines(out: Output, result: ApplyResult, root: string, asCheckout = false): void {
  for (const line of out.shows ? result.lines : []) {
    if (asCheckout && line.path === "") continue; // the checkout root itself is the directory just made
    const content = asCheckout && (line.content === "U" || line.content === "N") ? "A" : line.content;
    const shown = displayPath(root, line.path) + (line.kind === "folder" && line.path !== "" ? "/" : "");
    out.line(`${content}${line.meta} ${shown}${line.reason ? `  (${line.reason})` : ""}`);
  }
  warnSavedAside(out, root, result.savedAside);
  if (result.skipped.length > 0) out.line(`Skipped ${result.skipped.length} path(s) blocked by conflicts; resolve them and update again.`);
  if (result.conflicts > 0) {
    out.line(`Conflicts: ${result.conflicts}. See them with \`zsync status\`; resolve with \`zsync resolve\`.`);
    process.exitCode = 1;
  }
}

/** The last line of an update: never "Updated to revision N" when the checkout stayed older. */
export function updateSummary(result: ApplyResult, before: number): string {
  if (result.revision !== result.target) {
    const left = result.skipped.length;
    return `Updated to revision ${result.target} except ${left > 0 ? `${left} skipped path(s)` : "the paths in conflict"}; the checkout stays at revision ${result.revision} until they are resolved and updated.`;
  }
  return result.lines.length === 0 && result.target === before ? `At revision ${result.target}.` : `Updated to revision ${result.target}.`;
}

export const updateCommand = defineCommand<Args>({
  command: "update [paths..]",
  aliases: ["up"],
  describe: "bring the server's changes into the checkout (three-way merging local edits)",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, default: [] as string[] })
      .option("revision", { alias: "r", type: "number", describe: "update to this revision (default: head)" })
      .option("accept", { type: "string", choices: ACCEPT_OPTION_CHOICES, describe: "resolve new conflicts this way (see zsync resolve); default postpone, or the interactive resolver on a terminal" })
      .option("policy", { type: "string", choices: CONFLICT_POLICIES, describe: "settle files changed on both sides this way (default: the checkout's per-path policies, else merge)" }),
  handler: async (args) => {
    const out = createOutput(args);
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lock: "update", lazyEntries: true, summaryFirst: true }, async (wc) => {
      const paths = args.paths.length > 0 ? toCheckoutPaths(wc.root, args.paths) : undefined;
      const client = await clientFor(wc.config, args);
      const before = checkoutRevision(wc);
      const bar = transferProgress("Updating", { enabled: !args.json && !args.quiet });
      const result = await update(wc, { client, paths, revision: args.revision, progress: bar.update, policy: args.policy }).finally(bar.stop);
      const accepted = await acceptAfterUpdate(wc, result, args);
      if (out.json) {
        await loadDeferredEntries(wc);
        const openConflicts = [...wc.entries.entries.values()].filter((e) => e.conflict).length;
        out.result({ ...updateJson(result, wc.root), openConflicts, ...accepted.json });
      }
      printUpdateLines(out, accepted.result, wc.root);
      await accepted.finish(out);
      out.line(updateSummary(result, before));
    });
  },
});
