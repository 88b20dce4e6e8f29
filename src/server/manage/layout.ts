/** The frame of every /manage page: head, navigation, flash message, security headers. */
import type { ServerResponse } from "node:http";
import { html, href, type Html } from "./html.js";
import type { Session } from "./sessions.js";

/** Headers every page answer carries: no inline script or style, no framing, no caching of private pages. */
export const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

export interface LayoutOptions {
  title: string;
  body: Html;
  status?: number;
  /** The logged-in session (navigation and logout); none on the login page. */
  session?: Session;
  manager?: boolean;
  headers?: Record<string, string>;
}

/** The hidden CSRF field of a form. */
export function csrfField(session: Session): Html {
  return html`<input type="hidden" name="csrf" value="${session.csrf}">`;
}

/** Writes a whole page. */
export function sendPage(res: ServerResponse, options: LayoutOptions): void {
  const { session } = options;
  const flash = session?.flash;
  if (session) session.flash = undefined;
  const nav = session?.account
    ? html`<nav aria-label="Main">
        <a href="${href("browse")}">Browse</a>
        <a href="${href("log")}">History</a>
        ${options.manager ? html`<a href="${href("accounts")}">Accounts</a>` : ""}
      </nav>
      <div class="who"><span>${session.account}</span>
        <form class="inline" method="post" action="${href("logout")}">${csrfField(session)}<button class="secondary" type="submit">Log out</button></form>
      </div>`
    : "";
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · zsync</title>
<link rel="stylesheet" href="/manage/static/app.css">
<script src="/manage/static/app.js" defer></script>
</head>
<body>
<header><a class="brand" href="${href("")}">zsync</a>${nav}</header>
<main id="main">
${flash ? html`<p class="flash ${flash.kind}" role="${flash.kind === "error" ? "alert" : "status"}">${flash.text}</p>` : ""}
${options.body}
</main>
</body>
</html>
`;
  const text = page.text;
  res.writeHead(options.status ?? 200, { ...PAGE_HEADERS, "content-length": Buffer.byteLength(text), ...options.headers });
  res.end(text);
}
