/**
 * `notes add` and `notes edit`: a note is `FOLDER/Title.md` (its title is the file name, also in
 * its metadata). `add` writes a new note and schedules it; `edit` replaces a note's body.
 */
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { noteTitleOf } from "../merge/content-kinds.js";
import { WcError } from "./admin.js";
import { add, checkObjectPath, lstatOrNone } from "./add.js";
import type { WorkingCopy } from "./session.js";
import { typedPaths } from "./typed-objects.js";

/** Checkout path of a new note titled `title` in `folder`; refuses titles that make no file name. */
export function notePath(folder: string, title: string): string {
  const trimmed = title.trim();
  if (trimmed === "" || /[\u0000-\u001f\u007f/\\]/.test(trimmed) || trimmed.startsWith(".")) {
    throw new WcError("bad-title", `'${title}' can't be a note title: it must be a non-empty name without slashes or control characters, not starting with '.'`, 2);
  }
  const path = folder === "" ? `${trimmed}.md` : `${folder}/${trimmed}.md`;
  checkObjectPath(path, "add the note");
  return path;
}

/** Creates `FOLDER/Title.md` with `body` and schedules it for addition. */
export async function addNote(wc: WorkingCopy, opts: { title: string; body: string; folder: string }): Promise<{ path: string; title: string }> {
  const path = notePath(opts.folder, opts.title);
  if (await lstatOrNone(join(wc.root, path))) throw new WcError("exists", `a note '${opts.title}' exists already (${path}); use \`zsync notes edit\``);
  await mkdir(join(wc.root, opts.folder), { recursive: true });
  await writeFile(join(wc.root, path), opts.body, { flag: "wx" });
  await add(wc, { paths: [path], contentType: "note" });
  return { path, title: noteTitleOf(path) };
}

/** The note named by a title or a checkout path; refuses none or several. */
export async function findNote(wc: WorkingCopy, opts: { name: string }): Promise<string> {
  return pickNote(await typedPaths(wc, { type: "note" }), { name: opts.name, where: "this checkout" });
}

/** Among the paths of notes, the one named by a title or a path; refuses none or several (`where` names the place for errors). */
export function pickNote(paths: string[], opts: { name: string; where: string }): string {
  const exact = paths.filter((p) => p === opts.name || p === opts.name + ".md");
  if (exact.length === 1) return exact[0]!;
  const byTitle = paths.filter((p) => noteTitleOf(p) === opts.name);
  if (byTitle.length === 1) return byTitle[0]!;
  if (byTitle.length > 1) throw new WcError("ambiguous", `several notes are titled '${opts.name}': ${byTitle.join(", ")}; name one by its path`);
  throw new WcError("not-found", `no note '${opts.name}' in ${opts.where} (see \`zsync notes list\`)`);
}

/** Replaces a note's body; returns its path and whether it changed. */
export async function editNote(wc: WorkingCopy, opts: { name: string; body: string }): Promise<{ path: string; changed: boolean }> {
  const path = await findNote(wc, { name: opts.name });
  const before = await readFile(join(wc.root, path), "utf8");
  if (before === opts.body) return { path, changed: false };
  await writeFile(join(wc.root, path), opts.body);
  return { path, changed: true };
}
