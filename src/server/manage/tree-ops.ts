/** New folder, rename/move, delete (with confirmation) and restore of an old version: one revision each. */
import { baseName, parentPath } from "../../protocol/paths.js";
import type { StoreChange } from "../store/types.js";
import { childPath, deletedSince, ManageError, nameParam, notFound, pathParam, redirect, revisionParam, tooManyChanges, type Page } from "./context.js";
import { commitFromPage, PageOutOfDate } from "./commit.js";
import { crumbs } from "./browse.js";
import { html, href } from "./html.js";
import { csrfField, sendPage } from "./layout.js";

function baseParam(form: URLSearchParams): number {
  const base = Number(form.get("base"));
  if (!Number.isSafeInteger(base) || base < 0) throw new ManageError(400, "the form lacks its base revision");
  return base;
}

/** POST /manage/mkdir: path (the parent), name, message. */
export async function makeFolder(page: Page, form: URLSearchParams): Promise<void> {
  const parent = pathParam(form.get("path"));
  const path = pathParam(childPath(parent, nameParam(form.get("name"))));
  const folder = await page.view.getObject(parent);
  if (!folder) throw notFound(parent); // missing or hidden: the same answer
  if (folder.kind !== "folder") throw new ManageError(400, `/${parent} is a file, not a folder`);
  const revision = await commitFromPage(page, { note: form.get("message") ?? "", changes: [{ op: "add", path, kind: "folder" }] });
  page.session.flash = { kind: "ok", text: `Created /${path} in revision ${revision}.` };
  redirect(page.res, href("browse", { path: "/" + path }));
}

/** GET /manage/move?path=P and GET /manage/delete?path=P: the forms. */
export async function showTreeForm(page: Page, what: "move" | "delete"): Promise<void> {
  const path = pathParam(page.query.get("path"));
  if (path === "") throw new ManageError(400, "the repository root cannot be moved or deleted");
  const { head } = await page.view.info();
  const object = await page.view.getObject(path);
  if (!object) throw notFound(path);
  const inside = object.kind === "folder" ? (await page.view.listTree(path)).length - 1 : 0;
  const name = baseName(path);
  const body =
    what === "move"
      ? html`<h1>Rename or move ${name}</h1>
        <form method="post" action="${href("move")}" class="panel">
          ${csrfField(page.session)}
          <input type="hidden" name="path" value="${"/" + path}"><input type="hidden" name="base" value="${head}">
          <label for="move-to">New path</label>
          <input id="move-to" name="to" value="${"/" + path}" required>
          <label for="move-message">Message</label>
          <input id="move-message" name="message" placeholder="What and why">
          <p><button type="submit">Rename or move</button> <a href="${href("browse", { path: "/" + path })}">Cancel</a></p>
        </form>`
      : html`<h1>Delete ${name}?</h1>
        <form method="post" action="${href("delete")}" class="panel" data-confirm="${`Really delete /${path}?`}">
          ${csrfField(page.session)}
          <input type="hidden" name="path" value="${"/" + path}"><input type="hidden" name="base" value="${head}">
          <p>This deletes <strong>/${path}</strong>${object.kind === "folder" ? html` and the ${inside} object${inside === 1 ? "" : "s"} inside it` : ""} in a new revision. Its history stays, and it can be restored from there.</p>
          <label for="delete-message">Message</label>
          <input id="delete-message" name="message" placeholder="What and why">
          <p><button class="danger" type="submit">Delete</button> <a href="${href("browse", { path: "/" + path })}">Cancel</a></p>
        </form>`;
  sendPage(page.res, { title: `${what === "move" ? "Move" : "Delete"} ${name}`, session: page.session, manager: page.access.accountRole === "manager", body: html`${crumbs(path)}${body}` });
}

/**
 * Adds of everything at `from` (at a revision) re-rooted at `to`: folders before contents, content
 * by hash. Within the limits of a protocol commit: at most `maxChanges` changes with the `extra`
 * ones (413), and every new path a valid repository path (400).
 */
async function copyChanges(page: Page, what: string, from: string, to: string, options: { revision?: number; extra: number }): Promise<StoreChange[]> {
  const objects = await page.view.listTree(from, options.revision === undefined ? {} : { revision: options.revision });
  const count = objects.length + options.extra;
  if (count > page.deps.limits.maxChanges) throw tooManyChanges(what, count, page.deps.limits.maxChanges);
  return objects.map((o) => ({ op: "add" as const, path: pathParam(to + o.path.slice(from.length)), kind: o.kind, ...(o.hash ? { hash: o.hash } : {}), ...(o.meta ? { meta: o.meta } : {}) }));
}

/** POST /manage/move: path, to, base, message. Copies and deletes in one revision. */
export async function moveObject(page: Page, form: URLSearchParams): Promise<void> {
  const path = pathParam(form.get("path"));
  const to = pathParam(form.get("to"));
  const base = baseParam(form);
  if (path === "" || to === "") throw new ManageError(400, "the repository root cannot be moved, nor replaced");
  if (to === path) throw new ManageError(400, "the new path is the old one");
  if (to.startsWith(path + "/")) throw new ManageError(400, "a folder cannot be moved into itself");
  if (!(await page.view.getObject(path))) throw notFound(path);
  const changes: StoreChange[] = [...(await copyChanges(page, `moving /${path}`, path, to, { extra: 1 })), { op: "delete", path, baseRevision: base }];
  const revision = await commitFromPage(page, { note: form.get("message") || `move /${path} to /${to}`, changes });
  page.session.flash = { kind: "ok", text: `Moved /${path} to /${to} in revision ${revision}.` };
  redirect(page.res, href("browse", { path: "/" + to }));
}

/** POST /manage/delete: path, base, message. */
export async function deleteObject(page: Page, form: URLSearchParams): Promise<void> {
  const path = pathParam(form.get("path"));
  if (path === "") throw new ManageError(400, "the repository root cannot be deleted");
  const base = baseParam(form);
  if (!(await page.view.getObject(path))) {
    if (await deletedSince(page, path, base)) throw new PageOutOfDate([path]);
    throw notFound(path);
  }
  const revision = await commitFromPage(page, { note: form.get("message") ?? "", changes: [{ op: "delete", path, baseRevision: base }] });
  page.session.flash = { kind: "ok", text: `Deleted /${path} in revision ${revision}.` };
  redirect(page.res, href("browse", { path: "/" + parentPath(path) }));
}

/**
 * POST /manage/restore: path, rev, message. A file present now gets the old content and
 * metadata back; an object deleted since comes back whole (a folder with everything it held).
 */
export async function restoreObject(page: Page, form: URLSearchParams): Promise<void> {
  const path = pathParam(form.get("path"));
  const { head } = await page.view.info();
  const rev = revisionParam(form.get("rev"), head);
  if (rev === undefined) throw new ManageError(400, "which revision should be restored?");
  const old = await page.view.getObject(path, { revision: rev });
  if (!old) throw notFound(path, rev);
  const now = await page.view.getObject(path);
  let changes: StoreChange[];
  if (!now) {
    if (!(await page.view.getObject(parentPath(path)))) throw new ManageError(409, `the folder /${parentPath(path)} does not exist any more; restore it first`);
    changes = await copyChanges(page, `restoring /${path}`, path, path, { revision: rev, extra: 0 });
  } else if (now.kind === "file" && old.kind === "file") {
    if (now.hash === old.hash && JSON.stringify(now.meta ?? null) === JSON.stringify(old.meta ?? null)) throw new ManageError(409, `/${path} is already the same as in revision ${rev}`);
    changes = [{ op: "modify", path, baseRevision: now.revision, ...(now.hash !== old.hash ? { hash: old.hash } : {}), meta: old.meta ?? null }];
  } else {
    throw new ManageError(409, `/${path} exists now as a ${now.kind}: delete or rename it first to restore the ${old.kind} of revision ${rev}`);
  }
  const revision = await commitFromPage(page, { note: form.get("message") || `restore /${path} from revision ${rev}`, changes });
  page.session.flash = { kind: "ok", text: `Restored /${path} from revision ${rev} as revision ${revision}.` };
  redirect(page.res, href("browse", { path: "/" + path }));
}
