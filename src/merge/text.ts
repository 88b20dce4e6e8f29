/**
 * Line-based three-way text merge (pure: no I/O).
 *
 * The merge runs node-diff3's `diff3Merge` over arrays of lines that keep their line terminators,
 * so a CRLF file stays CRLF and a last line without a newline stays without one. Conflicts are
 * written in diff3 style with the BASE section, in the svn/git layout:
 *
 * ```
 * <<<<<<< .mine
 * my lines
 * ||||||| .r12
 * base lines
 * =======
 * their lines
 * >>>>>>> .r15
 * ```
 *
 * Differences from zsync (which shelled out to GNU `diff3 -m -E`): the BASE section is shown,
 * the labels are short names chosen by the caller instead of file paths, and markers never glue
 * to text. When a conflict side ends in a line without a final newline, a line ending is added
 * after that line before the next marker, and the closing marker always ends with a line ending;
 * the conflicted text can therefore contain newlines that none of the inputs had. Clean merges
 * never add or drop a line ending.
 *
 * Changes that touch adjacent lines (or insert right next to a line the other side changed)
 * conflict, as they do in GNU diff3 and git.
 */
import { diff3Merge } from "node-diff3";

/** Labels written after the conflict markers, e.g. `{ mine: ".mine", base: ".r12", theirs: ".r15" }`. */
export interface MergeLabels {
  mine: string;
  base: string;
  theirs: string;
}

/** Outcome of {@link mergeText}. */
export interface TextMergeResult {
  /** True when no conflict region remains. */
  clean: boolean;
  /** The merged text; contains conflict markers when `clean` is false. */
  text: string;
  /** Number of conflict regions (marker blocks) in `text`. */
  conflicts: number;
}

/** Marker prefixes, seven characters each as in diff3, svn and git. */
const MINE_MARKER = "<<<<<<<";
const BASE_MARKER = "|||||||";
const SEPARATOR_MARKER = "=======";
const THEIRS_MARKER = ">>>>>>>";

/**
 * Three-way merge of `mine` and `theirs`, both derived from `base`.
 *
 * Shortcuts (exact, before any diffing): mine == theirs → mine; mine == base → theirs;
 * theirs == base → mine. Otherwise a line-based diff3 merge; regions where both sides made the
 * same change are not conflicts. An empty `base` merges two independently added files: any
 * difference between them is then one conflict.
 *
 * Marker lines end with the dominant line ending of the three inputs (`\r\n` when more of their
 * lines end in `\r\n` than in a bare `\n`, else `\n`).
 */
export function mergeText(base: string, mine: string, theirs: string, labels: MergeLabels): TextMergeResult {
  const { regions, eol, conflicts } = mergeRegions(base, mine, theirs);
  if (conflicts === 0) return { clean: true, text: regions.map((r) => ("ok" in r ? r.ok.join("") : "")).join(""), conflicts: 0 };
  let text = "";
  for (const region of regions) {
    if ("ok" in region) {
      text += region.ok.join("");
      continue;
    }
    text = endWithLineEnding(text, eol);
    text += markerLine(MINE_MARKER, labels.mine, eol);
    text += endWithLineEnding(region.conflict.a.join(""), eol);
    text += markerLine(BASE_MARKER, labels.base, eol);
    text += endWithLineEnding(region.conflict.o.join(""), eol);
    text += SEPARATOR_MARKER + eol;
    text += endWithLineEnding(region.conflict.b.join(""), eol);
    text += markerLine(THEIRS_MARKER, labels.theirs, eol);
  }
  return { clean: false, text, conflicts };
}

/** A stretch of a three-way merge: stable lines, or a conflict (a = mine, o = base, b = theirs). */
export type MergeRegion = { ok: string[] } | { conflict: { a: string[]; o: string[]; b: string[] } };

/** The regions of a three-way merge, the line ending for markers and joins, and the number of conflicts. */
export interface MergeRegions {
  regions: MergeRegion[];
  eol: "\n" | "\r\n";
  conflicts: number;
}

/**
 * The regions of the three-way merge {@link mergeText} writes (the same shortcuts), so that a
 * resolver choosing per region rebuilds exactly the merge the user saw.
 */
export function mergeRegions(base: string, mine: string, theirs: string): MergeRegions {
  const eol = dominantLineEnding([base, mine, theirs]);
  if (mine === theirs || theirs === base) return { regions: [{ ok: splitLinesKeepingTerminators(mine) }], eol, conflicts: 0 };
  if (mine === base) return { regions: [{ ok: splitLinesKeepingTerminators(theirs) }], eol, conflicts: 0 };
  const merged = diff3Merge(splitLinesKeepingTerminators(mine), splitLinesKeepingTerminators(base), splitLinesKeepingTerminators(theirs), {
    excludeFalseConflicts: true,
  });
  const regions: MergeRegion[] = merged.map((r) => (r.ok ? { ok: r.ok } : { conflict: { a: r.conflict!.a, o: r.conflict!.o, b: r.conflict!.b } }));
  return { regions, eol, conflicts: regions.filter((r) => "conflict" in r).length };
}

/**
 * Splits text into lines that keep their terminator (`\n`, which includes `\r\n`); the last
 * element has no terminator when the text does not end in `\n`. `""` gives `[]`. Only `\n`
 * ends a line: a lone `\r`, U+2028 and U+2029 are ordinary characters.
 */
export function splitLinesKeepingTerminators(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  while (start < text.length) {
    const newline = text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline + 1;
    lines.push(text.slice(start, end));
    start = end;
  }
  return lines;
}

/**
 * The line ending used for marker lines: `\r\n` when more lines of `texts` end in `\r\n` than
 * in a bare `\n`, otherwise `\n` (also on a tie and for texts without any line ending).
 */
export function dominantLineEnding(texts: readonly string[]): "\n" | "\r\n" {
  let crlf = 0;
  let lf = 0;
  for (const text of texts) {
    let newline = text.indexOf("\n");
    while (newline !== -1) {
      if (newline > 0 && text[newline - 1] === "\r") crlf += 1;
      else lf += 1;
      newline = text.indexOf("\n", newline + 1);
    }
  }
  return crlf > lf ? "\r\n" : "\n";
}

/** `text` followed by `eol` unless it is empty or already ends with `\n`. */
function endWithLineEnding(text: string, eol: string): string {
  return text === "" || text.endsWith("\n") ? text : text + eol;
}

/** One marker line; the label is omitted (with its space) when empty. */
function markerLine(marker: string, label: string, eol: string): string {
  return (label === "" ? marker : `${marker} ${label}`) + eol;
}
