/** Metadata as a form: title, content type, the other `extra` keys as rows, annotations as JSON. */
import { ManifestError, parseObjectMeta } from "../../protocol/manifest.js";
import { baseName } from "../../protocol/paths.js";
import type { ObjectMeta } from "../../protocol/types.js";
import { ManageError, notFound, pathParam, redirect, type Page } from "./context.js";
import { commitFromPage, PageOutOfDate } from "./commit.js";
import { diffRevisions } from "../history/revision-diff.js";
import { renderDiff } from "./diff-view.js";
import { html, href, type Html } from "./html.js";
import { csrfField, sendPage } from "./layout.js";
import { crumbs } from "./browse.js";

const EMPTY_ROWS = 3;

/** Display rows of metadata for a properties table. */
export function metaRows(meta: ObjectMeta | undefined): Html {
  const extra = meta?.extra ?? {};
  return html`${meta?.contentType ? html`<tr><th scope="row">Content type</th><td>${meta.contentType}</td></tr>` : ""}
    ${Object.entries(extra).map(([key, value]) => html`<tr><th scope="row">${key}</th><td>${typeof value === "string" ? value : JSON.stringify(value)}</td></tr>`)}
    ${meta?.annotations && Object.keys(meta.annotations).length > 0 ? html`<tr><th scope="row">Annotations</th><td><code>${JSON.stringify(meta.annotations)}</code></td></tr>` : ""}`;
}

/** GET /manage/meta?path=P */
export async function showMetaForm(page: Page, options: { error?: string; status?: number; notice?: Html; values?: ObjectMeta | null; message?: string } = {}): Promise<void> {
  const path = pathParam(page.query.get("path"));
  const object = await page.view.getObject(path);
  if (!object) throw notFound(path);
  // After a conflict the form shows what the user submitted, based on the current revision.
  const meta = (options.values === undefined ? object.meta : options.values) ?? {};
  const { title, ...others } = (meta.extra ?? {}) as Record<string, unknown>;
  const rows = [...Object.entries(others), ...Array.from({ length: EMPTY_ROWS }, () => ["", ""] as [string, unknown])];
  const name = path === "" ? "repository" : baseName(path);
  sendPage(page.res, {
    title: `Metadata of ${name}`,
    status: options.status,
    session: page.session,
    manager: page.access.accountRole === "manager",
    body: html`${crumbs(path)}<h1>Metadata of ${name}</h1>
      ${options.error ? html`<p class="flash error" role="alert">${options.error}</p>` : ""}
      ${options.notice ?? ""}
      <form method="post" action="${href("meta")}" class="panel">
        ${csrfField(page.session)}
        <input type="hidden" name="path" value="${"/" + path}">
        <input type="hidden" name="base" value="${object.revision}">
        <label for="meta-title">Title</label>
        <input id="meta-title" name="title" value="${typeof title === "string" ? title : title === undefined ? "" : JSON.stringify(title)}">
        <label for="meta-type">Content type</label>
        <input id="meta-type" name="contentType" value="${meta.contentType ?? ""}" placeholder="${object.kind === "file" ? "e.g. text/plain" : ""}">
        <fieldset><legend>Other keys (values that are not plain text are JSON)</legend>
          ${rows.map(([key, value], i) => html`<div>
            <label for="${`k${i}`}">Key ${i + 1}</label><input id="${`k${i}`}" name="key" value="${key}">
            <label for="${`v${i}`}">Value ${i + 1}</label><input id="${`v${i}`}" name="value" value="${typeof value === "string" ? value : JSON.stringify(value)}">
            <input type="hidden" name="json" value="${typeof value === "string" ? "0" : "1"}">
          </div>`)}
        </fieldset>
        <label for="meta-annotations">Annotations (JSON object)</label>
        <textarea id="meta-annotations" name="annotations" rows="4">${meta.annotations ? JSON.stringify(meta.annotations, null, 2) : ""}</textarea>
        <label for="meta-message">Message</label>
        <input id="meta-message" name="message" value="${options.message ?? ""}" placeholder="What and why">
        <p><button type="submit">Save metadata</button> <a href="${href("browse", { path: "/" + path })}">Cancel</a></p>
      </form>`,
  });
}

/** Builds metadata from the submitted form (pure; throws ManageError with a readable reason). */
export function metaFromForm(form: URLSearchParams, maxBytes: number): ObjectMeta | null {
  const extra: Record<string, unknown> = {};
  const title = form.get("title") ?? "";
  if (title !== "") extra.title = title;
  const keys = form.getAll("key");
  const values = form.getAll("value");
  const json = form.getAll("json");
  keys.forEach((rawKey, i) => {
    const key = rawKey.trim();
    if (key === "") return;
    if (key === "title") throw new ManageError(400, "use the Title field for the title");
    const value = values[i] ?? "";
    if (json[i] === "1") {
      try {
        extra[key] = JSON.parse(value);
      } catch {
        throw new ManageError(400, `the value of ${key} is not valid JSON`);
      }
    } else extra[key] = value;
  });
  const meta: Record<string, unknown> = {};
  const contentType = (form.get("contentType") ?? "").trim();
  if (contentType !== "") meta.contentType = contentType;
  if (Object.keys(extra).length > 0) meta.extra = extra;
  const annotations = (form.get("annotations") ?? "").trim();
  if (annotations !== "") {
    try {
      meta.annotations = JSON.parse(annotations);
    } catch {
      throw new ManageError(400, "annotations must be a JSON object");
    }
  }
  if (Object.keys(meta).length === 0) return null;
  try {
    return parseObjectMeta(meta, "metadata", maxBytes);
  } catch (error) {
    if (error instanceof ManifestError) throw new ManageError(400, error.message);
    throw error;
  }
}

/** POST /manage/meta: one revision changing the metadata, refused when the object changed since the form was shown. */
export async function saveMeta(page: Page, form: URLSearchParams): Promise<void> {
  const path = pathParam(form.get("path"));
  const base = Number(form.get("base"));
  if (!Number.isSafeInteger(base)) throw new ManageError(400, "the form lacks its base revision");
  page.query = new URLSearchParams({ path: "/" + path });
  let meta: ObjectMeta | null;
  try {
    meta = metaFromForm(form, page.deps.limits.maxMetaBytes);
  } catch (error) {
    if (error instanceof ManageError && error.status === 400) return showMetaForm(page, { error: error.message, status: 400, message: form.get("message") ?? "" });
    throw error;
  }
  let revision: number;
  try {
    revision = await commitFromPage(page, { note: form.get("message") ?? "", changes: [{ op: "modify", path, baseRevision: base, meta }] });
  } catch (error) {
    if (!(error instanceof PageOutOfDate)) throw error;
    // Someone changed the object meanwhile: show their change and the user's values again; never overwrite.
    const now = await page.view.getObject(path);
    if (!now) throw notFound(path);
    const theirs = (await diffRevisions(page.view, path, { from: base, to: now.revision }))?.files ?? [];
    const notice = html`<div class="flash error" role="alert"><p>Someone changed /${path} after you opened this form (revision ${base} → ${now.revision}); your metadata was <strong>not</strong> saved. Their change:</p></div>
      ${renderDiff(theirs, "unified")}
      <p>Your values are in the form below, now based on their version: save them to replace theirs, or <a href="${href("browse", { path: "/" + path })}">drop them</a>.</p>`;
    return showMetaForm(page, { status: 409, notice, values: meta, message: form.get("message") ?? "" });
  }
  page.session.flash = { kind: "ok", text: `Saved the metadata of /${path} as revision ${revision}.` };
  redirect(page.res, href("browse", { path: "/" + path }));
}
