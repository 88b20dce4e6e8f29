/** File diffs as HTML: unified (one column, svn's hunks) or side by side (old left, new right). */
import type { DiffHunk, FileDiff } from "../../merge/line-diff.js";
import { html, type Html } from "./html.js";

function unifiedHunk(hunk: DiffHunk): Html {
  let oldLine = hunk.oldStart;
  let newLine = hunk.newStart;
  const rows = hunk.lines.map((line) => {
    const mark = line[0];
    const text = line.slice(1);
    if (mark === "\\") return html`<tr><td class="ln"></td><td class="ln"></td><td class="hunk">${line}</td></tr>`;
    if (mark === "-") return html`<tr class="del"><td class="ln">${oldLine++}</td><td class="ln"></td><td><span class="visually-hidden">removed: </span>-${text}</td></tr>`;
    if (mark === "+") return html`<tr class="add"><td class="ln"></td><td class="ln">${newLine++}</td><td><span class="visually-hidden">added: </span>+${text}</td></tr>`;
    return html`<tr><td class="ln">${oldLine++}</td><td class="ln">${newLine++}</td><td> ${text}</td></tr>`;
  });
  return html`<tr><td class="ln"></td><td class="ln"></td><td class="hunk">@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@</td></tr>${rows}`;
}

function splitHunk(hunk: DiffHunk): Html {
  let oldLine = hunk.oldStart;
  let newLine = hunk.newStart;
  const rows: Html[] = [html`<tr><td class="hunk" colspan="4">@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@</td></tr>`];
  const lines = hunk.lines.filter((l) => !l.startsWith("\\"));
  for (let i = 0; i < lines.length; ) {
    if (lines[i][0] === " ") {
      rows.push(html`<tr><td class="ln">${oldLine++}</td><td>${lines[i].slice(1)}</td><td class="ln">${newLine++}</td><td>${lines[i].slice(1)}</td></tr>`);
      i++;
      continue;
    }
    // A run of removals and additions: pair them up line by line.
    const removed: string[] = [];
    const added: string[] = [];
    while (i < lines.length && lines[i][0] === "-") removed.push(lines[i++].slice(1));
    while (i < lines.length && lines[i][0] === "+") added.push(lines[i++].slice(1));
    for (let k = 0; k < Math.max(removed.length, added.length); k++) {
      const left = k < removed.length ? html`<td class="ln">${oldLine++}</td><td class="del"><span class="visually-hidden">removed: </span>${removed[k]}</td>` : html`<td class="ln"></td><td></td>`;
      const right = k < added.length ? html`<td class="ln">${newLine++}</td><td class="add"><span class="visually-hidden">added: </span>${added[k]}</td>` : html`<td class="ln"></td><td></td>`;
      rows.push(html`<tr>${left}${right}</tr>`);
    }
  }
  return html`${rows}`;
}

function sideLabel(file: FileDiff, side: "old" | "new"): string {
  if (side === "old") return file.change === "added" ? "(nonexistent)" : `(revision ${file.revision ?? 0})`;
  return file.change === "removed" ? "(nonexistent)" : file.newRevision === undefined ? "(yours)" : `(revision ${file.newRevision})`;
}

/** All file diffs; `mode` picks the layout. */
export function renderDiff(files: FileDiff[], mode: "unified" | "split"): Html {
  if (files.length === 0) return html`<p class="muted">No differences.</p>`;
  return html`${files.map(
    (file) => html`<section class="diff-file">
      <h3>${file.path || "(this file)"} <span class="muted">${file.kind === "meta" ? "metadata" : ""} ${file.change}: ${sideLabel(file, "old")} → ${sideLabel(file, "new")}</span></h3>
      ${file.binary
        ? html`<p class="muted">Binary content${file.contentType ? ` (${file.contentType})` : ""}: not shown.</p>`
        : html`<div class="diff" tabindex="0"><table>${mode === "split" ? file.hunks.map(splitHunk) : file.hunks.map(unifiedHunk)}</table></div>`}
    </section>`,
  )}`;
}
