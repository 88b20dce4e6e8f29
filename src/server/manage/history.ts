/** History of the repository or one object, and the diff between two revisions (unified or side by side). */
import { baseName } from "../../protocol/paths.js";
import { diffRevisions } from "../history/revision-diff.js";
import { ManageError, notFound, pathParam, revisionParam, type Page } from "./context.js";
import { crumbs } from "./browse.js";
import { renderDiff } from "./diff-view.js";
import { formatDate, html, href } from "./html.js";
import { sendPage } from "./layout.js";

const PAGE_SIZE = 50;

/** GET /manage/log?path=P[&from=REV] */
export async function showLog(page: Page): Promise<void> {
  const { view } = page;
  const { head } = await view.info();
  const path = pathParam(page.query.get("path"));
  const from = revisionParam(page.query.get("from"), head);
  const exists = (await view.getObject(path)) ?? (await view.log(path, { limit: 1 })).length > 0;
  if (!exists) throw notFound(path);
  const revisions = await view.log(path, { limit: PAGE_SIZE + 1, from });
  const shown = revisions.slice(0, PAGE_SIZE);
  const older = revisions[PAGE_SIZE];
  const name = path === "" ? "the repository" : "/" + path;
  sendPage(page.res, {
    title: `History of ${name}`,
    session: page.session,
    manager: page.access.accountRole === "manager",
    body: html`${crumbs(path)}<h1>History of ${name}</h1>
      <form method="get" action="${href("diff")}" class="actions" aria-label="Compare two revisions">
        <input type="hidden" name="path" value="${"/" + path}">
        <label for="diff-from">From revision</label><input id="diff-from" name="from" inputmode="numeric" size="6" required value="${shown[1]?.revision ?? shown[0]?.revision ?? 0}">
        <label for="diff-to">to revision</label><input id="diff-to" name="to" inputmode="numeric" size="6" required value="${shown[0]?.revision ?? head}">
        <label for="diff-view">as</label><select id="diff-view" name="view"><option value="unified">unified diff</option><option value="split">side by side</option></select>
        <button type="submit">Compare</button>
      </form>
      <ul class="log">
      ${shown.map((r) => {
        const previous = r.revision > 0 ? r.revision - 1 : 0;
        return html`<li class="panel" id="${`r${r.revision}`}">
          <strong>r${r.revision}</strong> · ${r.author} · ${formatDate(r.date)}
          <div class="message">${r.note.split("\n").map((line, i) => html`${i > 0 ? html`<br>` : ""}${line}`)}</div>
          <ul class="changes" aria-label="Changed paths">${r.changes.map((c) => html`<li>${c.action} <a href="${href("browse", { path: "/" + c.path, rev: c.action === "D" ? previous : r.revision })}">/${c.path}</a></li>`)}</ul>
          <div class="actions">
            ${r.revision > 0 ? html`<a href="${href("diff", { path: "/" + path, from: previous, to: r.revision })}">Changes in r${r.revision}</a>` : ""}
            <a href="${href("browse", { path: "/" + path, rev: r.revision })}">View at r${r.revision}</a>
          </div>
        </li>`;
      })}
      </ul>
      ${older ? html`<p><a href="${href("log", { path: "/" + path, from: older.revision })}">Older revisions</a></p>` : ""}`,
  });
}

/** GET /manage/diff?path=P&from=A[&to=B][&view=unified|split] */
export async function showDiff(page: Page): Promise<void> {
  const { view } = page;
  const { head } = await view.info();
  const path = pathParam(page.query.get("path"));
  const from = revisionParam(page.query.get("from"), head);
  if (from === undefined) throw new ManageError(400, "choose the revision to compare from");
  const to = revisionParam(page.query.get("to"), head) ?? head;
  const mode = page.query.get("view") === "split" ? "split" : "unified";
  const found = await diffRevisions(view, path, { from, to });
  if (!found) throw notFound(path);
  const name = path === "" ? "the repository" : baseName(path);
  const other = mode === "split" ? "unified" : "split";
  sendPage(page.res, {
    title: `Changes in ${name}, r${from} → r${to}`,
    session: page.session,
    manager: page.access.accountRole === "manager",
    body: html`${crumbs(path)}<h1>Changes in ${name}, r${from} → r${to}</h1>
      <div class="actions">
        <a href="${href("diff", { path: "/" + path, from, to, view: other })}">${other === "split" ? "Side by side" : "Unified"}</a>
        <a href="${href("log", { path: "/" + path })}">History</a>
        <a href="${href("browse", { path: "/" + path, rev: from })}">View r${from}</a>
        <a href="${href("browse", { path: "/" + path, rev: to })}">View r${to}</a>
      </div>
      ${renderDiff(found.files, mode)}`,
  });
}
