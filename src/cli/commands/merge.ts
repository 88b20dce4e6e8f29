/** `zsync merge SOURCE [TARGET] [--dry-run] [--accept …]` */
import { merge, openSource, requireCheckoutRoot, type MergeResult } from "../../wc/merge.js";
import { loadEntries } from "../../wc/entries.js";
import { displayPath, withWorkingCopy } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { clientFor } from "../connect.js";
import { createOutput, type GlobalArgs } from "../output.js";
import { savedAsideJson, warnSavedAside } from "./cleanup.js";
import { CONFLICT_POLICIES, type ConflictPolicy } from "../../merge/content-kinds.js";
import { ACCEPT_OPTION_CHOICES, acceptAfterUpdate, type AcceptOption } from "./resolve.js";

interface Args extends GlobalArgs {
  source: string;
  target?: string;
  dryRun: boolean;
  accept?: AcceptOption;
  policy?: ConflictPolicy;
}

/** How a directory given on the command line is shown: as given, `.` for the current one. */
function shownDir(dir: string | undefined): string {
  return dir === undefined || dir === "" ? "." : dir;
}

export const mergeCommand = defineCommand<Args>({
  command: "merge <source> [target]",
  describe: "bring the local changes of another checkout (SOURCE) of the same folder into this one (TARGET, default .), three-way, uncommitted",
  builder: (y) =>
    y
      .positional("source", { type: "string", describe: "top folder of the checkout whose local changes are merged (only read)" })
      .positional("target", { type: "string", describe: "top folder of the checkout that receives them (default: the checkout of the current folder)" })
      .option("dry-run", { type: "boolean", default: false, describe: "show what would happen; change nothing" })
      .option("accept", {
        type: "string",
        choices: ACCEPT_OPTION_CHOICES,
        describe: "resolve the conflicts this merge makes this way (see zsync resolve); default postpone, or the interactive resolver on a terminal",
      })
      .option("policy", { type: "string", choices: CONFLICT_POLICIES, describe: "settle files changed in both checkouts this way (default: TARGET's per-path policies, else merge)" }),
  handler: async (args) => {
    const out = createOutput(args);
    const source = await openSource(args.source);
    const start = args.target === undefined ? "." : await requireCheckoutRoot(args.target, "TARGET");
    await withWorkingCopy(start, { lock: args.dryRun ? undefined : "merge" }, async (wc) => {
      const result = await merge(wc, source, { dryRun: args.dryRun, connect: () => clientFor(wc.config, args), policy: args.policy });
      const root = wc.root;
      const show = (path: string) => displayPath(root, path);
      // The conflicts this merge made get the same policy as update's: --accept, or the
      // interactive resolver on a terminal, or postponed.
      const asUpdate = { revision: result.revision, target: result.revision, lines: result.lines, conflicts: result.conflicts, savedAside: result.savedAside, skipped: [] };
      const accepted = result.dryRun ? undefined : await acceptAfterUpdate(wc, asUpdate, args);
      const conflicts = accepted ? accepted.result.conflicts : result.conflicts;

      out.result({
        source: { root: result.source.root, revision: result.source.revision },
        root,
        dryRun: result.dryRun,
        revision: result.revision,
        target: result.revision,
        conflicts,
        changes: result.lines.map((l) => ({
          path: l.path,
          displayPath: show(l.path),
          kind: l.kind,
          content: l.content.trim() || null,
          meta: l.meta.trim() || null,
          ...(l.reason ? { reason: l.reason } : {}),
        })),
        savedAside: savedAsideJson(root, result.savedAside),
        skipped: result.notMerged.map((n) => n.path),
        notMerged: result.notMerged.map((n) => ({ path: n.path, displayPath: show(n.path), reason: n.reason })),
        fetched: result.fetched,
        differentBase: result.differentBase,
        ...(accepted?.json ?? {}),
      });

      printLines(result, args, show);
      if (!result.dryRun) warnSavedAside(out, root, result.savedAside);
      await accepted?.finish(out);
      // What is still in conflict now (after --accept or the interactive resolver).
      const entries = result.dryRun ? undefined : (await loadEntries(root)).entries;
      const remaining = entries ? result.lines.filter((l) => entries.get(l.path)?.conflict).length : conflicts;
      if (remaining > 0) out.line(`Conflicts: ${remaining}. See them with \`zsync status\`; resolve with \`zsync resolve\`.`);
      if (result.notMerged.length > 0) out.line(`Not merged: ${result.notMerged.length} path(s) (see above).`);
      if (result.dryRun) out.line("Dry run: nothing was changed.");
      else if (result.lines.length === 0 && result.notMerged.length === 0) out.line("Nothing to merge.");
      else out.line("Merged as local modifications; nothing was committed. Review with `zsync status` and `zsync diff`, then `zsync commit`.");
      process.exitCode = remaining > 0 || result.notMerged.length > 0 ? 1 : 0;
    });

    function printLines(result: MergeResult, a: Args, show: (path: string) => string) {
      const dry = result.dryRun ? " (dry run)" : "";
      out.line(`--- Merging local changes of '${shownDir(a.source)}' into '${shownDir(a.target)}'${dry}:`);
      for (const line of result.lines) {
        const shown = show(line.path) + (line.kind === "folder" && line.path !== "" ? "/" : "");
        out.line(`${line.content}${line.meta} ${shown}${line.reason ? `  (${line.reason})` : ""}`);
      }
      for (const n of result.notMerged) out.warn(`not merged: '${show(n.path)}': ${n.reason}`);
      if (result.fetched.length > 0) {
        out.line(`Fetched from the server the BASE of ${result.fetched.length} file(s) missing from SOURCE's pristine store: ${result.fetched.map(show).join(", ")}`);
      }
      if (result.differentBase.length > 0) {
        out.line(
          `Note: ${result.differentBase.length} path(s) are at another revision in TARGET than in SOURCE; they were merged against SOURCE's BASE ` +
            "(running `zsync update` in both checkouts first gives the cleanest merge).",
        );
      }
    }
  },
});
