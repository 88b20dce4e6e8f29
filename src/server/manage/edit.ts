/**
 * Editing a text file in the browser. The form carries the revision it was made from; saving
 * commits with that base, so a file someone changed meanwhile is never overwritten: the page then
 * shows their change and the difference to yours, and asks (save yours over theirs knowingly, or
 * drop yours).
 */
import { hunksOf, textPair } from "../../merge/line-diff.js";
import { baseName } from "../../protocol/paths.js";
import { MAX_DIFF_BYTES, diffRevisions, readWholeBlob } from "../history/revision-diff.js";
import { deletedSince, ManageError, notFound, pathParam, redirect, type Page } from "./context.js";
import { commitFromPage, PageOutOfDate, storeBytes } from "./commit.js";
import { crumbs } from "./browse.js";
import { renderDiff } from "./diff-view.js";
import { html, href, type Html } from "./html.js";
import { csrfField, sendPage } from "./layout.js";

async function currentText(page: Page, path: string): Promise<{ text: string; revision: number; crlf: boolean }> {
  const object = await page.view.getObject(path);
  if (!object) throw notFound(path);
  if (object.kind !== "file") throw new ManageError(409, `/${path} is a folder`);
  if ((object.size ?? 0) > MAX_DIFF_BYTES) throw new ManageError(409, `/${path} is too large to edit in the browser; use a checkout`);
  const bytes = await readWholeBlob(page.view, object.hash!);
  const text = textPair(bytes, bytes, object.meta?.contentType);
  if (text.binary) throw new ManageError(409, `/${path} is not a text file; download it, or use a checkout`);
  return { text: text.before, revision: object.revision, crlf: text.before.includes("\r\n") };
}

function editForm(page: Page, path: string, options: { text: string; base: number; message?: string; notice?: Html; submit?: string }): Html {
  return html`<form method="post" action="${href("edit")}">
    ${csrfField(page.session)}
    <input type="hidden" name="path" value="${"/" + path}">
    <input type="hidden" name="base" value="${options.base}">
    ${options.notice ?? ""}
    <label for="edit-content">Content</label>
    <textarea id="edit-content" name="content" rows="24" spellcheck="false">${options.text}</textarea>
    <label for="edit-message">Message</label>
    <input id="edit-message" name="message" value="${options.message ?? ""}" placeholder="What and why">
    <p><button type="submit">${options.submit ?? "Save"}</button> <a href="${href("browse", { path: "/" + path })}">Cancel</a></p>
  </form>`;
}

/** GET /manage/edit?path=P */
export async function showEdit(page: Page): Promise<void> {
  const path = pathParam(page.query.get("path"));
  const current = await currentText(page, path);
  const name = baseName(path);
  sendPage(page.res, {
    title: `Edit ${name}`,
    session: page.session,
    manager: page.access.accountRole === "manager",
    body: html`${crumbs(path)}<h1>Edit ${name}</h1>${editForm(page, path, { text: current.text, base: current.revision })}`,
  });
}

/** POST /manage/edit */
export async function saveEdit(page: Page, form: URLSearchParams): Promise<void> {
  const path = pathParam(form.get("path"));
  const base = Number(form.get("base"));
  if (!Number.isSafeInteger(base)) throw new ManageError(400, "the form lacks its base revision");
  const submitted = form.get("content") ?? "";
  const message = form.get("message") ?? "";
  if (!(await page.view.getObject(path))) {
    // Deleted while being edited: the text is handed back. Never there (or hidden): a 404 like any page.
    if (await deletedSince(page, path, base)) return showDeleted(page, path, submitted);
    throw notFound(path);
  }
  const before = await currentText(page, path);
  // Browsers send a textarea's line ends as CRLF: keep the file's own convention.
  const text = before.crlf ? submitted : submitted.replace(/\r\n/g, "\n");
  if (before.revision > base) return showConflict(page, path, { base, head: before.revision, theirs: before.text, mine: text, message });
  if (text === before.text) {
    page.session.flash = { kind: "ok", text: "Nothing changed; nothing was committed." };
    return redirect(page.res, href("browse", { path: "/" + path }));
  }
  const hash = await storeBytes(page, Buffer.from(text, "utf8"));
  try {
    const revision = await commitFromPage(page, { note: message, changes: [{ op: "modify", path, baseRevision: base, hash }] });
    page.session.flash = { kind: "ok", text: `Saved /${path} as revision ${revision}.` };
    redirect(page.res, href("browse", { path: "/" + path }));
  } catch (error) {
    if (!(error instanceof PageOutOfDate)) throw error;
    const now = await currentText(page, path);
    return showConflict(page, path, { base, head: now.revision, theirs: now.text, mine: text, message });
  }
}

/** The file was deleted while being edited: nothing is saved, and the text is handed back so nothing is lost. */
function showDeleted(page: Page, path: string, text: string): void {
  sendPage(page.res, {
    title: `${baseName(path)} was deleted`,
    status: 409,
    session: page.session,
    manager: page.access.accountRole === "manager",
    body: html`${crumbs(path)}<h1>Someone deleted ${baseName(path)} while you edited it</h1>
      <p class="flash error" role="alert">Your version was <strong>not</strong> saved. Copy it from below; the <a href="${href("log", { path: "/" + path })}">history</a> shows who deleted it, and it can be restored from there.</p>
      <label for="edit-content">Your text</label>
      <textarea id="edit-content" readonly rows="24">${text}</textarea>`,
  });
}

async function showConflict(page: Page, path: string, c: { base: number; head: number; theirs: string; mine: string; message: string }): Promise<void> {
  const theirChange = (await diffRevisions(page.view, path, { from: c.base, to: c.head }))?.files.filter((f) => f.kind === "content") ?? [];
  const mineVsTheirs = [{ path: baseName(path), object: baseName(path), objectKind: "file" as const, kind: "content" as const, change: "modified" as const, binary: false, revision: c.head, hunks: hunksOf(c.theirs, c.mine, 3) }];
  const name = baseName(path);
  sendPage(page.res, {
    title: `Conflict in ${name}`,
    status: 409,
    session: page.session,
    manager: page.access.accountRole === "manager",
    body: html`${crumbs(path)}<h1>Someone changed ${name} while you edited it</h1>
      <p class="flash error" role="alert">Your version was <strong>not</strong> saved. You started from revision ${c.base}; the file has changed since (now revision ${c.head}).</p>
      <h2>Their change (revision ${c.base} → ${c.head})</h2>
      ${renderDiff(theirChange, "unified")}
      <h2>Your version compared with theirs</h2>
      ${renderDiff(mineVsTheirs, "unified")}
      <h2>What now?</h2>
      <p>Edit your text below so it keeps their change too, then save; or <a href="${href("browse", { path: "/" + path })}">drop your version</a>.</p>
      ${editForm(page, path, { text: c.mine, base: c.head, message: c.message, submit: "Save my version over theirs" })}`,
  });
}
