/**
 * Text conflicts as `resolve` sees them: conflict markers in a file, the regions of a re-run
 * three-way merge of the recorded versions, a result assembled from a choice per region, and
 * whether a result still holds every line a version added.
 */
import { mergeRegions, splitLinesKeepingTerminators, type MergeRegions } from "../merge/text.js";
import type { ConflictRecord } from "./entries.js";
import { hasPristine, pristinePath, readPristine } from "./pristine.js";
import { Refusal, type HunkChoice } from "./resolve-steps.js";

/**
 * The first conflict marker line of `text` (1-based), or undefined: a line that is `<<<<<<<`,
 * `|||||||`, `=======` or `>>>>>>>`, alone or followed by a space and a label.
 */
export function markerLine(text: string): number | undefined {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (/^(<{7}|\|{7}|>{7})( |$)/.test(line) || line === "=======") return i + 1;
  }
  return undefined;
}

type Regions = MergeRegions;

/** Re-runs the three-way merge of the recorded versions and returns its regions. */
export async function textRegions(root: string, path: string, conflict: ConflictRecord): Promise<Regions> {
  const read = async (which: "base" | "mine" | "theirs") => {
    const hash = conflict.versions?.[which];
    if (!hash) {
      if (which === "base") return ""; // added on both sides: merged over an empty base
      throw new Refusal(`'${path}': the conflict record does not say what ${which} was; use --accept working (after editing the file) or zsync revert`);
    }
    if (!(await hasPristine(root, hash))) throw new Refusal(`'${path}': the saved ${which} version (${pristinePath(root, hash)}) is missing; use --accept working or zsync revert`);
    return (await readPristine(root, hash)).toString("utf8");
  };
  const [base, mine, theirs] = [await read("base"), await read("mine"), await read("theirs")];
  return mergeRegions(base, mine, theirs);
}

/** Joins pieces of text, putting a line ending between a piece without one and what follows (never glue lines). */
function joinPieces(pieces: string[], eol: string): string {
  let text = "";
  for (const piece of pieces) {
    if (piece === "") continue;
    if (text !== "" && !text.endsWith("\n")) text += eol;
    text += piece;
  }
  return text;
}

/** The text of a re-merge where conflict region i takes `pick(i)`. */
export function assemble({ regions, eol }: Regions, pick: (i: number) => HunkChoice): string {
  const pieces: string[] = [];
  let n = 0;
  for (const region of regions) {
    if ("ok" in region) {
      pieces.push(region.ok.join(""));
      continue;
    }
    const { a, o, b } = region.conflict;
    switch (pick(n++)) {
      case "mine":
        pieces.push(a.join(""));
        break;
      case "theirs":
        pieces.push(b.join(""));
        break;
      case "base":
        pieces.push(o.join(""));
        break;
      case "both":
        pieces.push(a.join(""), b.join(""));
        break;
    }
  }
  return joinPieces(pieces, eol);
}

/**
 * True when `result` holds every line that `version` added to `base`, each at least as often as
 * `version` has it (line endings aside): then no line written in `version` is lost without it.
 */
export function holdsAddedLines(base: Buffer | string, version: Buffer | string, result: Buffer | string): boolean {
  const counts = (text: Buffer | string) => {
    const n = new Map<string, number>();
    for (const line of splitLinesKeepingTerminators(text.toString())) {
      const key = line.replace(/\r?\n$/, "");
      n.set(key, (n.get(key) ?? 0) + 1);
    }
    return n;
  };
  const [baseLines, versionLines, resultLines] = [counts(base), counts(version), counts(result)];
  for (const [line, n] of versionLines) if (n > (baseLines.get(line) ?? 0) && (resultLines.get(line) ?? 0) < n) return false;
  return true;
}

