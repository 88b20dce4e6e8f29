/** Browsing: a folder's entries or a file's content and metadata, at head or any revision; downloads. */
import { pipeline } from "node:stream/promises";
import { textPair } from "../../merge/line-diff.js";
import { baseName } from "../../protocol/paths.js";
import type { ListEntry } from "../../protocol/types.js";
import { listObject } from "../history/list.js";
import { MAX_DIFF_BYTES, readWholeBlob } from "../history/revision-diff.js";
import { notFound, pathParam, revisionParam, type Page } from "./context.js";
import { formatDate, formatSize, html, href, type Html } from "./html.js";
import { csrfField, sendPage } from "./layout.js";
import { metaRows } from "./meta-form.js";

/** Breadcrumbs: every ancestor folder as a link, the object itself as text. */
export function crumbs(path: string, rev?: number): Html {
  const parts = path === "" ? [] : path.split("/");
  const links = parts.slice(0, -1).map((name, i) => html` / <a href="${href("browse", { path: "/" + parts.slice(0, i + 1).join("/"), rev })}">${name}</a>`);
  const root = parts.length === 0 ? html`<span aria-current="page">repository</span>` : html`<a href="${href("browse", { rev })}">repository</a>`;
  const last = parts.length > 0 ? html` / <span aria-current="page">${parts[parts.length - 1]}</span>` : "";
  return html`<nav class="crumbs" aria-label="Breadcrumbs">${root}${links}${last}</nav>`;
}

function entryRow(entry: ListEntry, rev: number | undefined): Html {
  const type = entry.kind === "folder" ? "folder" : entry.meta?.contentType ?? "";
  return html`<tr>
    <td class="name"><a href="${href("browse", { path: entry.path, rev })}">${entry.name}${entry.kind === "folder" ? "/" : ""}</a></td>
    <td class="num">${formatSize(entry.size)}</td>
    <td class="wide">${type}</td>
    <td class="num"><a href="${href("log", { path: entry.path })}" aria-label="${`history of ${entry.name}`}">r${entry.revision}</a></td>
    <td>${entry.author ?? ""}</td>
    <td class="wide">${formatDate(entry.date)}</td>
  </tr>`;
}

/** GET /manage/browse?path=P[&rev=N] */
export async function showBrowse(page: Page): Promise<void> {
  const { view, access } = page;
  const { head } = await view.info();
  const path = pathParam(page.query.get("path"));
  const rev = revisionParam(page.query.get("rev"), head);
  const listing = await listObject(view, path, { revision: rev ?? head });
  if (!listing) throw notFound(path, rev);
  const atHead = rev === undefined || rev === head;
  const shownRev = atHead ? undefined : rev;
  const entry = listing.entry;
  const title = path === "" ? "Repository" : baseName(path);
  const oldBanner = atHead ? "" : html`<p class="flash ok" role="status">You are looking at revision ${rev} (the newest is ${head}). <a href="${href("browse", { path: "/" + path })}">Show the newest</a></p>`;
  let body: Html;
  if (entry.kind === "folder") {
    const writable = atHead && access.mayWriteUnder(path);
    body = html`${crumbs(path, shownRev)}<h1>${title}/</h1>${oldBanner}
      <div class="actions">
        <a class="button secondary" href="${href("log", { path: "/" + path })}">History</a>
        ${atHead && path !== "" && access.canWrite(path) ? html`<a class="button secondary" href="${href("move", { path: "/" + path })}">Rename or move</a>
        <a class="button secondary" href="${href("delete", { path: "/" + path })}">Delete</a>` : ""}
        ${atHead && access.canWrite(path) ? html`<a class="button secondary" href="${href("meta", { path: "/" + path })}">Edit metadata</a>` : ""}
      </div>
      ${listing.children.length === 0 ? html`<p class="muted">This folder is empty.</p>` : html`<table>
        <caption class="visually-hidden">Contents of ${path === "" ? "the repository" : "/" + path}</caption>
        <thead><tr><th scope="col">Name</th><th scope="col" class="num">Size</th><th scope="col" class="wide">Type</th><th scope="col" class="num">Revision</th><th scope="col">Author</th><th scope="col" class="wide">Date</th></tr></thead>
        <tbody>${listing.children.map((child) => entryRow(child, shownRev))}</tbody>
      </table>`}
      ${writable && access.canWrite(path) ? folderForms(page, path, head) : ""}`;
  } else {
    body = html`${crumbs(path, shownRev)}<h1>${title}</h1>${oldBanner}${await fileView(page, path, entry, listing.revision, atHead, head)}`;
  }
  sendPage(page.res, { title, body, session: page.session, manager: page.access.accountRole === "manager" });
}

function folderForms(page: Page, path: string, head: number): Html {
  return html`<section class="panel" aria-labelledby="upload-title">
      <h2 id="upload-title">Upload files</h2>
      <form method="post" action="${href("upload")}" enctype="multipart/form-data">
        ${csrfField(page.session)}
        <input type="hidden" name="path" value="${"/" + path}">
        <input type="hidden" name="base" value="${head}">
        <div class="dropzone" data-dropzone>
          <label for="files">Files (choose or drop them here; a file with the same name is replaced)</label>
          <input id="files" name="files" type="file" multiple required>
          <p class="muted" data-files aria-live="polite"></p>
        </div>
        <label for="upload-message">Message</label>
        <input id="upload-message" name="message" placeholder="What and why">
        <p><button type="submit">Upload</button></p>
      </form>
    </section>
    <section class="panel" aria-labelledby="mkdir-title">
      <h2 id="mkdir-title">New folder</h2>
      <form method="post" action="${href("mkdir")}">
        ${csrfField(page.session)}
        <input type="hidden" name="path" value="${"/" + path}">
        <label for="mkdir-name">Name</label>
        <input id="mkdir-name" name="name" required>
        <label for="mkdir-message">Message</label>
        <input id="mkdir-message" name="message" placeholder="What and why">
        <p><button type="submit">Create folder</button></p>
      </form>
    </section>`;
}

async function fileView(page: Page, path: string, entry: ListEntry, revision: number, atHead: boolean, head: number): Promise<Html> {
  const { access } = page;
  const size = entry.size ?? 0;
  const bytes = size <= MAX_DIFF_BYTES ? await readWholeBlob(page.view, entry.hash!) : undefined;
  const text = bytes ? textPair(bytes, bytes, entry.meta?.contentType) : undefined;
  const isText = text !== undefined && !text.binary;
  const rev = atHead ? undefined : revision;
  const writable = atHead && access.canWrite(path);
  return html`<div class="actions">
      <a class="button" href="${href("raw", { path: "/" + path, rev })}" download>Download</a>
      ${writable && isText ? html`<a class="button secondary" href="${href("edit", { path: "/" + path })}">Edit text</a>` : ""}
      ${writable ? html`<a class="button secondary" href="${href("meta", { path: "/" + path })}">Edit metadata</a>
        <a class="button secondary" href="${href("move", { path: "/" + path })}">Rename or move</a>
        <a class="button secondary" href="${href("delete", { path: "/" + path })}">Delete</a>` : ""}
      <a class="button secondary" href="${href("log", { path: "/" + path })}">History</a>
      ${!atHead ? html`<a class="button secondary" href="${href("diff", { path: "/" + path, from: revision, to: head })}">Compare with the newest</a>` : ""}
    </div>
    ${!atHead && access.canWrite(path) ? html`<form method="post" action="${href("restore")}" class="panel">
        ${csrfField(page.session)}
        <input type="hidden" name="path" value="${"/" + path}">
        <input type="hidden" name="rev" value="${revision}">
        <label for="restore-message">Restore this version as a new revision — message</label>
        <input id="restore-message" name="message" value="${`restore /${path} from revision ${revision}`}">
        <p><button type="submit">Restore this version</button></p>
      </form>` : ""}
    <table><caption class="visually-hidden">Properties</caption><tbody>
      <tr><th scope="row">Size</th><td>${formatSize(size)} (${size} bytes)</td></tr>
      <tr><th scope="row">Last changed</th><td>r${entry.revision} by ${entry.author ?? "?"}, ${formatDate(entry.date)}</td></tr>
      ${metaRows(entry.meta)}
    </tbody></table>
    <h2>Content</h2>
    ${isText ? html`<pre class="content" tabindex="0" aria-label="File content">${(text as { before: string }).before}</pre>` : html`<p class="muted">${bytes ? "Binary content" : "Too large to show"}: download it to look at it.</p>`}`;
}

/** GET /manage/raw?path=P[&rev=N]: the bytes as an attachment (never rendered in the page's origin). */
export async function sendRaw(page: Page): Promise<void> {
  const { head } = await page.view.info();
  const path = pathParam(page.query.get("path"));
  const rev = revisionParam(page.query.get("rev"), head);
  const object = await page.view.getObject(path, { revision: rev ?? head });
  if (!object || object.kind !== "file") throw notFound(path, rev);
  const type = /^[\x20-\x7e]+$/.test(object.meta?.contentType ?? "") ? object.meta!.contentType! : "application/octet-stream";
  const name = baseName(path);
  page.res.writeHead(200, {
    "content-type": type,
    "content-length": object.size ?? 0,
    "content-disposition": `attachment; filename="${name.replace(/[^\x20-\x7e]|["\\]/g, "_")}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    "content-security-policy": "sandbox; default-src 'none'",
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
  });
  await pipeline(page.view.readBlob(object.hash!), page.res);
}

