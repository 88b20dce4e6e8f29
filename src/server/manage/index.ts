/**
 * `GET /manage…`: the management pages, served by zsync-server itself. Sessions instead of HTTP
 * authentication; the same accounts, roles, grants and content view as the protocol endpoints.
 * This module routes, resolves the session and its account, checks CSRF, and renders errors.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { ForbiddenError, HiddenPathError, resolveAccess } from "../authz/access.js";
import { contentViewFor } from "../authz/content-view.js";
import { HttpError } from "../http/errors.js";
import { changeAccounts, showAccounts } from "./accounts.js";
import { showBrowse, sendRaw } from "./browse.js";
import { ManageError, readForm, redirect, type ManageDeps, type Page } from "./context.js";
import { PageOutOfDate } from "./commit.js";
import { saveEdit, showEdit } from "./edit.js";
import { showDiff, showLog } from "./history.js";
import { html, href } from "./html.js";
import { sendPage } from "./layout.js";
import { handleLogin, handleLogout, showLogin } from "./login.js";
import { saveMeta, showMetaForm } from "./meta-form.js";
import { csrfMatches, sessionCookie, sessionIdFrom, type Session } from "./sessions.js";
import { serveStatic } from "./static.js";
import { deleteObject, makeFolder, moveObject, restoreObject, showTreeForm } from "./tree-ops.js";
import { handleUpload } from "./upload.js";

/** True for URLs the management pages answer (never a protocol `@@view` URL). */
export function isManageUrl(url: string | undefined): boolean {
  const path = (url ?? "").split("?")[0];
  return (path === "/manage" || path.startsWith("/manage/")) && !path.includes("@@");
}

type GetHandler = (page: Page) => Promise<void>;
type PostHandler = (page: Page, form: URLSearchParams) => Promise<void>;

const GET: Record<string, GetHandler> = {
  browse: showBrowse,
  raw: sendRaw,
  edit: showEdit,
  meta: (page) => showMetaForm(page),
  move: (page) => showTreeForm(page, "move"),
  delete: (page) => showTreeForm(page, "delete"),
  log: showLog,
  diff: showDiff,
  accounts: (page) => showAccounts(page),
};

const POST: Record<string, PostHandler> = {
  edit: saveEdit,
  meta: saveMeta,
  mkdir: makeFolder,
  move: moveObject,
  delete: deleteObject,
  restore: restoreObject,
  accounts: changeAccounts,
};

/** Every route that takes a POST (each checks the form's CSRF token first): for the tests that post each without it. */
export const MANAGE_POST_ROUTES: readonly string[] = ["login", "logout", "upload", ...Object.keys(POST)];

/** Largest urlencoded form (an edited text file is the big one). */
const MAX_FORM_BYTES = 32 * 1024 * 1024;

/** Builds the /manage request handler. */
export function createManageApp(deps: ManageDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async function manage(req, res) {
    const url = new URL(req.url ?? "/manage", "http://manage.invalid");
    const sub = url.pathname.replace(/^\/manage\/?/, "");
    const secure = (req.socket as TLSSocket).encrypted === true;
    let session = deps.sessions.get(sessionIdFrom(req.headers.cookie));
    try {
      if (sub.startsWith("static/") && req.method === "GET" && serveStatic(sub.slice(7), res)) return;
      if (sub === "login") {
        if ((await deps.store.countAccounts()) === 0) return redirect(res, href("browse"));
        if (req.method === "POST") return await handleLogin(req, res, deps, session, secure);
        return showLogin(res, deps, session, { next: url.searchParams.get("next"), secure });
      }
      const anonymous = (await deps.store.countAccounts()) === 0;
      let setCookie: string | undefined;
      if (anonymous) {
        // No accounts: everyone is the anonymous manager, as in the API; a session still carries the CSRF token.
        if (session?.account !== "anonymous") {
          session = deps.sessions.create({ account: "anonymous" });
          setCookie = sessionCookie(session, secure);
        }
      } else {
        const account = session?.account ? await deps.store.getAccount(session.account) : undefined;
        if (!session || !account || account.passwordHash !== session.passwordHash) {
          if (session?.account) deps.sessions.destroy(session.id);
          // A form sent without a (live) session changes nothing: off to the login (303, so a GET).
          if (req.method === "GET" || req.method === "HEAD") return redirect(res, href("login", { next: url.pathname + url.search }));
          req.resume();
          return redirect(res, href("login"));
        }
      }
      const live = session!;
      if (sub === "" && req.method === "GET") return redirect(res, href("browse"), setCookie ? { "set-cookie": setCookie } : {});
      const principal = { name: live.account!, role: "manager" };
      const access = await resolveAccess(deps.store, principal);
      if (!access) return redirect(res, href("login"));
      const page: Page = { req, res, query: url.searchParams, session: live, access, view: contentViewFor(deps.store, access), deps, secure };
      if (setCookie) res.setHeader("set-cookie", setCookie);
      if (req.method === "GET" || req.method === "HEAD") {
        const handler = GET[sub];
        if (!handler) throw new ManageError(404, "no such page");
        return await handler(page);
      }
      if (req.method !== "POST") throw new ManageError(405, "use GET or POST");
      if (sub === "logout") {
        const form = await readForm(req, 64 * 1024);
        if (!csrfMatches(live, form.get("csrf") ?? undefined)) throw new ManageError(403, "the form expired or did not come from this site; nothing was changed");
        return handleLogout(res, deps, live, secure);
      }
      if (sub === "upload") return await handleUpload(page);
      const handler = POST[sub];
      if (!handler) throw new ManageError(404, "no such page");
      const form = await readForm(req, MAX_FORM_BYTES);
      if (!csrfMatches(live, form.get("csrf") ?? undefined)) throw new ManageError(403, "the form expired or did not come from this site; nothing was changed");
      await handler(page, form);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, error, session, deps);
    }
  };
}

function sendError(res: ServerResponse, error: unknown, session: Session | undefined, deps: ManageDeps): void {
  let status: number;
  let message: string;
  let title = "Not possible";
  if (error instanceof PageOutOfDate) {
    status = 409;
    title = "Changed meanwhile";
    message = `Nothing was saved: ${error.message}. Reload the page to see their change, then make yours again.`;
  } else if (error instanceof ManageError || error instanceof HttpError) {
    status = error.status;
    message = error.message;
  } else if (error instanceof ForbiddenError) {
    status = 403;
    message = error.message;
  } else if (error instanceof HiddenPathError) {
    status = 404;
    message = error.message;
  } else {
    deps.log(`manage: internal error: ${(error as Error)?.stack ?? error}`);
    status = 500;
    message = "internal server error";
  }
  if (status === 404) title = "Not found";
  if (status === 403) title = "Not allowed";
  sendPage(res, {
    title,
    status,
    session: session?.account ? session : undefined,
    body: html`<h1>${title}</h1><p class="flash error" role="alert">${message}</p><p><a href="${href("browse")}">Back to the repository</a></p>`,
  });
}
