/**
 * `zsync resolve [PATH…] [--accept CHOICE] [--force]` (alias `resolved`, which means
 * `--accept working` as in svn), and the `--accept` policy of `zsync update`.
 */
import type { ApplyResult } from "../../wc/apply-remote.js";
import { WcError } from "../../wc/admin.js";
import { entriesAreCurrent, loadEntries } from "../../wc/entries.js";
import { ACCEPT_CHOICES, conflictedPaths, resolve, type Accept, type ResolvedPath } from "../../wc/resolve.js";
import { displayPath, toCheckoutPaths, withWorkingCopy, type WorkingCopy, checkoutOfPaths } from "../../wc/session.js";
import { runResolver } from "../../ui/resolver.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs, type Output } from "../output.js";
import { savedAsideJson, warnSavedAside } from "./cleanup.js";

/** `--accept` values on the command line: the choices, and `postpone` (leave conflicts). */
export const ACCEPT_OPTION_CHOICES = ["postpone", ...ACCEPT_CHOICES] as const;
export type AcceptOption = (typeof ACCEPT_OPTION_CHOICES)[number];

interface Args extends GlobalArgs {
  paths: string[];
  accept?: AcceptOption;
  force: boolean;
  _: (string | number)[];
}

/** True when the resolver may prompt: a terminal on both ends, no --json, no --non-interactive. */
export function canPrompt(args: GlobalArgs): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true && !args.nonInteractive && !args.json;
}

function resolvedJson(root: string, resolved: ResolvedPath[]) {
  return resolved.map((r) => ({
    path: r.path,
    displayPath: displayPath(root, r.path),
    accept: r.accept,
    conflict: r.conflict,
    removedArtifacts: r.removedArtifacts,
    savedAs: r.savedAs ?? null,
    metaSavedAs: r.metaSavedAs ?? null,
    ...(r.metaKeys ? { metaKeys: r.metaKeys } : {}),
    ...(r.note ? { note: r.note } : {}),
  }));
}

function printResolved(out: Output, root: string, resolved: ResolvedPath[]): void {
  const show = (p: string) => displayPath(root, p);
  for (const r of resolved) {
    const notes: string[] = [];
    if (r.savedAs) notes.push(`your version saved as ${show(r.savedAs)}`);
    if (r.metaSavedAs) notes.push(`your metadata saved as ${show(r.metaSavedAs)}`);
    if (r.note) notes.push(r.note);
    out.line(`Resolved conflicted state of '${show(r.path)}'${notes.length ? ` (${notes.join("; ")})` : ""}`);
  }
}

export const resolveCommand = defineCommand<Args>({
  command: "resolve [paths..]",
  aliases: ["resolved"],
  describe: "resolve conflicts: --accept base|working|mine-full|theirs-full|mine-conflict|theirs-conflict, or interactively on a terminal",
  builder: (y) =>
    y
      .positional("paths", { type: "string", array: true, default: [] as string[], describe: "conflicted paths or folders (default: every conflict)" })
      .option("accept", { type: "string", choices: ACCEPT_OPTION_CHOICES, describe: "what the resolved file holds (svn's names); without it, a terminal runs the interactive resolver" })
      .option("force", { type: "boolean", default: false, describe: "with --accept working: mark a text file resolved even though conflict markers remain" }),
  handler: async (args) => {
    const out = createOutput(args);
    // svn's `resolved` is `resolve --accept working`.
    const accept = args.accept ?? (args._[0] === "resolved" ? "working" : undefined);
    if (accept === undefined && !canPrompt(args)) {
      throw new WcError(
        "accept-needed",
        "no terminal to ask on: say how to resolve with --accept base|working|mine-full|theirs-full|mine-conflict|theirs-conflict (or --accept postpone to leave the conflicts)",
        2,
      );
    }
    await withWorkingCopy(await checkoutOfPaths(args.paths), { lock: "resolve" }, async (wc) => {
      const paths = args.paths.length > 0 ? toCheckoutPaths(wc.root, args.paths) : [""];
      const show = (p: string) => displayPath(wc.root, p);
      let resolved: ResolvedPath[] = [];
      let notInConflict: string[] = [];
      let remaining: string[];
      let savedAside: ReturnType<typeof savedAsideJson> = [];
      if (accept === undefined || accept === "postpone") {
        for (const p of paths) if (conflictedPaths(wc, [p]).length === 0) notInConflict.push(p);
        const targets = conflictedPaths(wc, paths);
        if (accept === undefined && targets.length > 0) {
          const r = await runResolver(wc, targets, { show });
          resolved = r.resolved;
          warnSavedAside(out, wc.root, r.savedAside);
          savedAside = savedAsideJson(wc.root, r.savedAside);
        }
        remaining = conflictedPaths(wc, paths);
      } else {
        const r = await resolve(wc, { paths, accept, force: args.force });
        resolved = r.resolved;
        notInConflict = r.notInConflict;
        remaining = r.remaining;
        printResolved(out, wc.root, resolved);
        warnSavedAside(out, wc.root, r.savedAside);
        savedAside = savedAsideJson(wc.root, r.savedAside);
      }
      out.result({
        resolved: resolvedJson(wc.root, resolved),
        remaining,
        notInConflict,
        savedAside,
      });
      for (const p of notInConflict) out.warn(`'${show(p)}' is not in conflict`);
      if (remaining.length > 0) {
        out.line(`${remaining.length} conflict${remaining.length === 1 ? "" : "s"} remain${remaining.length === 1 ? "s" : ""}: ${remaining.map(show).join(", ")}`);
        process.exitCode = 1;
      }
    });
  },
});

/**
 * The `--accept` policy of `update`, applied to what the update reported `C`:
 * `await acceptAfterUpdate(wc, result, args)` resolves with the given choice at once (nothing
 * for `postpone`) and gives the extra `--json` fields and the result to print (its `conflicts`
 * counts what is left); `finish(out)` then prints what was resolved and, without `--accept` on a
 * terminal, runs the interactive resolver, and sets the exit code from what remains.
 */
export async function acceptAfterUpdate(wc: WorkingCopy, result: ApplyResult, args: GlobalArgs & { accept?: string }) {
  const conflicted = result.lines.filter((l) => l.content === "C" || l.meta === "C").map((l) => l.path);
  // Read again only if there are conflicts and the update wrote the entries, each entry when needed.
  if (conflicted.length > 0 && !(await entriesAreCurrent(wc.root, wc.entries))) wc.entries = await loadEntries(wc.root, { lazy: true });
  const accept = args.accept as AcceptOption | undefined;
  let resolved: ResolvedPath[] = [];
  let refused: { path: string; message: string }[] = [];
  if (accept && accept !== "postpone" && conflicted.length > 0) {
    const r = await resolve(wc, { paths: conflicted, accept: accept as Accept, exact: true, skipRefused: true });
    resolved = r.resolved;
    refused = r.refused;
  }
  const left = () => conflicted.filter((p) => wc.entries.entries.get(p)?.conflict).length;
  const stillReported = result.lines.filter((l) => (l.content === "C" || l.meta === "C") && !resolved.some((r) => r.path === l.path)).length;
  return {
    json: accept ? { accept, resolved: resolvedJson(wc.root, resolved) } : {},
    result: { ...result, conflicts: stillReported },
    async finish(out: Output): Promise<void> {
      printResolved(out, wc.root, resolved);
      for (const r of refused) out.warn(`not resolved: ${r.message}`);
      if (accept === undefined && stillReported > 0 && canPrompt(args)) {
        const targets = conflicted.filter((p) => wc.entries.entries.get(p)?.conflict);
        const r = await runResolver(wc, targets, { show: (p) => displayPath(wc.root, p) });
        warnSavedAside(out, wc.root, r.savedAside);
        process.exitCode = left() + (stillReported - targets.length) > 0 ? 1 : 0;
      }
    },
  };
}
