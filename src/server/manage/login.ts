/** The login form and logout of /manage: the accounts and passwords of the API, with its failed-login limits. */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "../http/errors.js";
import type { ManageDeps } from "./context.js";
import { readForm, redirect } from "./context.js";
import { html, href } from "./html.js";
import { csrfField, sendPage } from "./layout.js";
import { csrfMatches, sessionCookie, type Session } from "./sessions.js";

/** Only local /manage pages are valid targets after login (no open redirect). */
export function safeNext(next: string | null): string {
  return next && /^\/manage(\/[a-z-]*)?(\?[^\\]*)?$/.test(next) && !next.startsWith("//") ? next : href("browse");
}

function loginPage(res: ServerResponse, session: Session, options: { next: string; status?: number; error?: string; user?: string; secure: boolean }): void {
  sendPage(res, {
    title: "Log in",
    status: options.status,
    headers: { "set-cookie": sessionCookie(session, options.secure) },
    body: html`<h1>Log in to zsync</h1>
      ${options.error ? html`<p class="flash error" role="alert">${options.error}</p>` : ""}
      <form method="post" action="${href("login")}" class="panel">
        ${csrfField(session)}
        <input type="hidden" name="next" value="${options.next}">
        <label for="username">User name</label>
        <input id="username" name="username" autocomplete="username" required value="${options.user ?? ""}" autofocus>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required>
        <p><button type="submit">Log in</button></p>
      </form>`,
  });
}

/** GET /manage/login: the form; the visitor gets a pre-login session that holds the form's CSRF token. */
export function showLogin(res: ServerResponse, deps: ManageDeps, session: Session | undefined, options: { next: string | null; secure: boolean }): void {
  const visitor = session && !session.account ? session : deps.sessions.create();
  loginPage(res, visitor, { next: safeNext(options.next), secure: options.secure });
}

/** POST /manage/login: checks the password like the API does; on success a brand-new session. */
export async function handleLogin(req: IncomingMessage, res: ServerResponse, deps: ManageDeps, session: Session | undefined, secure: boolean): Promise<void> {
  const form = await readForm(req, 64 * 1024);
  const next = safeNext(form.get("next"));
  const visitor = session && !session.account ? session : deps.sessions.create();
  if (!session || !csrfMatches(session, form.get("csrf") ?? undefined)) {
    loginPage(res, visitor, { next, status: 403, error: "The login form expired; please try again.", secure });
    return;
  }
  const user = form.get("username") ?? "";
  const password = form.get("password") ?? "";
  const authorization = "Basic " + Buffer.from(`${user}:${password}`, "utf8").toString("base64");
  let principal;
  try {
    principal = user.includes(":") ? undefined : await deps.authenticate(authorization, { remoteAddress: req.socket.remoteAddress });
  } catch (error) {
    if (error instanceof HttpError && error.status === 429) {
      loginPage(res, visitor, { next, status: 429, error: error.message, user, secure });
      return;
    }
    throw error;
  }
  const account = principal && (await deps.store.getAccount(principal.name));
  if (!principal || !account) {
    deps.log(`manage: failed login for ${JSON.stringify(user)} from ${req.socket.remoteAddress ?? "-"}`);
    loginPage(res, visitor, { next, status: 401, error: "Wrong user name or password.", user, secure });
    return;
  }
  // A new id at login: a session id planted before login is worth nothing after it.
  deps.sessions.destroy(visitor.id);
  const fresh = deps.sessions.create({ account: account.name, passwordHash: account.passwordHash });
  redirect(res, next, { "set-cookie": sessionCookie(fresh, secure) });
}

/** POST /manage/logout: ends the session on the server and clears the cookie. */
export function handleLogout(res: ServerResponse, deps: ManageDeps, session: Session, secure: boolean): void {
  deps.sessions.destroy(session.id);
  redirect(res, href("login"), { "set-cookie": sessionCookie(undefined, secure) });
}
