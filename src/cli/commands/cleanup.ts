/** `zsync cleanup`: finish an interrupted command, rebuild a damaged index, remove stale temp files. */
import { cleanup, pendingJournal } from "../../wc/cleanup.js";
import type { JournalReport } from "../../wc/journal.js";
import { checkoutOfPaths, displayPath, withWorkingCopy } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs, type Output } from "../output.js";

/** Warns about files the journal moved aside instead of overwriting (shared by the tree commands). */
export function warnSavedAside(out: Output, root: string, savedAside: JournalReport["savedAside"]): void {
  for (const s of savedAside) {
    const [path, savedAs] = [displayPath(root, s.path), displayPath(root, s.savedAs)];
    if (s.was === "folder") out.warn(`a folder '${path}' was in the way of the file; it was moved, with what is in it, to '${savedAs}'`);
    else if (s.was === "other") out.warn(`'${path}' (not a regular file) was in the way; it was moved to '${savedAs}'`);
    else out.warn(`'${path}' changed while zsync worked on it; your version was moved to '${savedAs}'`);
  }
}

/** The JSON form of moved-aside files. */
export function savedAsideJson(root: string, savedAside: JournalReport["savedAside"]) {
  return savedAside.map((s) => ({ path: s.path, savedAs: s.savedAs, displayPath: displayPath(root, s.path), displaySavedAs: displayPath(root, s.savedAs), ...(s.was ? { was: s.was } : {}) }));
}

interface Args extends GlobalArgs {
  path?: string;
}

export const cleanupCommand = defineCommand<Args>({
  command: "cleanup [path]",
  describe: "finish an interrupted command (from its journal), take over a stale lock, rebuild a damaged index (and pristine pack index), remove temp files",
  builder: (y) => y.positional("path", { type: "string", describe: "a folder of the checkout (default: the current folder)" }),
  handler: async (args) => {
    const out = createOutput(args);
    const start = await checkoutOfPaths(args.path === undefined ? [] : [args.path]);
    const interrupted = await pendingJournal(start);
    await withWorkingCopy(start, { lock: "cleanup", repairIndex: true }, async (wc) => {
      const r = await cleanup(wc, { interrupted });
      const rebuilt = wc.rebuiltIndex;
      out.result({ finished: r.finished ?? null, savedAside: savedAsideJson(wc.root, r.savedAside), removed: r.removed, rebuiltIndex: rebuilt ?? null, rebuiltPack: wc.rebuiltPack ?? null });
      if (wc.rebuiltPack) {
        const { kept, dropped } = wc.rebuiltPack;
        out.line(`Rebuilt the index of the pristine pack: ${kept} BASE copies kept, ${dropped} damaged record(s) dropped.`);
        if (dropped > 0) out.warn("BASE copies in damaged records are missing: diff and revert of their files fail until a new checkout");
      }
      if (rebuilt) {
        out.line(`Rebuilt the damaged index: kept ${rebuilt.kept} entries, dropped ${rebuilt.dropped} damaged records (the damaged file is kept as ${rebuilt.damagedCopy}).`);
        out.line("Working files were not touched; run `zsync status` to check, and `zsync update` to refresh anything the lost records described.");
        for (const path of rebuilt.missingBase) out.warn(`the BASE copy of '${displayPath(wc.root, path)}' is missing: diff and revert of it fail until a new checkout`);
      }
      if (r.finished) out.line(`Finished the interrupted \`zsync ${r.finished}\`.`);
      warnSavedAside(out, wc.root, r.savedAside);
      for (const path of r.removed) out.line(`Removed '${displayPath(wc.root, path)}'`);
      out.line("Cleanup done.");
    });
  },
});
