/**
 * The stylesheet and the little script of the /manage pages, served as files so the pages can
 * forbid inline scripts and styles (Content-Security-Policy). The script only improves: every
 * page works without it (drag and drop adds files to the upload form's file input).
 */
import type { ServerResponse } from "node:http";

const CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5d6670; --line: #d5dae0; --bg: #fff; --accent: #0b5cad; --ok: #176b2c; --bad: #a31515; --add: #e6ffec; --del: #ffebe9; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --muted: #a0a8b0; --line: #3a4048; --bg: #15181c; --accent: #6cb0ff; --ok: #5fcf7a; --bad: #ff7b72; --add: #12361d; --del: #3d1618; } }
* { box-sizing: border-box; }
/* Long names, paths, accounts and messages wrap anywhere: no page scrolls sideways on a phone. */
body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); overflow-wrap: anywhere; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; align-items: center; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; text-decoration: none; color: var(--fg); }
header nav { display: flex; gap: 1rem; flex-wrap: wrap; }
header .who { margin-left: auto; display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; color: var(--muted); min-width: 0; }
main { padding: 1rem; max-width: 72rem; margin: 0 auto; }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus { outline: 3px solid var(--accent); outline-offset: 2px; }
h1 { font-size: 1.35rem; margin: .2rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.crumbs { margin: 0 0 .5rem; color: var(--muted); overflow-wrap: anywhere; }
.crumbs a { text-decoration: none; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
td.num, th.num { text-align: right; white-space: nowrap; overflow-wrap: normal; }
td.name { overflow-wrap: anywhere; }
.flash { padding: .5rem .75rem; border-radius: 4px; border: 1px solid var(--line); margin: 0 0 1rem; }
.flash.ok { border-color: var(--ok); color: var(--ok); }
.flash.error { border-color: var(--bad); color: var(--bad); }
form.inline { display: inline; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin: .5rem 0 1rem; }
.panel { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: 1rem 0; }
label { display: block; font-weight: 600; margin: .6rem 0 .2rem; }
input[type=text], input[type=password], input:not([type]), select, textarea { width: 100%; max-width: 40rem; font: inherit; padding: .35rem .45rem; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
textarea { max-width: none; min-height: 16rem; font-family: ui-monospace, monospace; font-size: 14px; }
button, .button { font: inherit; padding: .35rem .8rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
pre.content, .diff { overflow-x: auto; border: 1px solid var(--line); border-radius: 4px; padding: .5rem; font: 13px/1.4 ui-monospace, monospace; }
.diff { padding: 0; }
.diff table { font: 13px/1.4 ui-monospace, monospace; }
.diff td { border: 0; padding: 0 .5rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.diff .add { background: var(--add); }
.diff .del { background: var(--del); }
.diff .hunk { color: var(--muted); }
.diff .ln { color: var(--muted); text-align: right; user-select: none; width: 3rem; }
.muted { color: var(--muted); }
.dropzone { border: 2px dashed var(--line); border-radius: 6px; padding: 1rem; margin: .5rem 0; }
.dropzone.over { border-color: var(--accent); }
.changes { margin: .25rem 0 0; padding-left: 1.2rem; }
ul.log { list-style: none; padding: 0; }
ul.log > li.panel { margin: .6rem 0; padding: .5rem .75rem; }
.message { margin: .25rem 0; overflow-wrap: anywhere; }
.actions label { display: inline; margin: 0 .25rem 0 0; align-self: center; }
.actions input, .actions select { width: auto; }
form.actions { align-items: center; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
@media (max-width: 40rem) { .wide { display: none; } main { padding: .6rem; } header .who { margin-left: 0; } }
`;

const JS = `
document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
  var input = zone.querySelector("input[type=file]");
  var list = zone.querySelector("[data-files]");
  function show() {
    if (!list) return;
    list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
  }
  input.addEventListener("change", show);
  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) {
    e.preventDefault();
    zone.classList.remove("over");
    var dt = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (f) { dt.items.add(f); });
    Array.prototype.forEach.call(e.dataTransfer.files, function (f) { dt.items.add(f); });
    input.files = dt.files;
    show();
  });
});
document.querySelectorAll("form[data-confirm]").forEach(function (form) {
  form.addEventListener("submit", function (e) { if (!window.confirm(form.getAttribute("data-confirm"))) e.preventDefault(); });
});
`;

/** Serves `/manage/static/app.css` and `app.js`; false for anything else. */
export function serveStatic(name: string, res: ServerResponse): boolean {
  const asset = name === "app.css" ? { type: "text/css; charset=utf-8", body: CSS } : name === "app.js" ? { type: "text/javascript; charset=utf-8", body: JS } : undefined;
  if (!asset) return false;
  res.writeHead(200, { "content-type": asset.type, "content-length": Buffer.byteLength(asset.body), "cache-control": "max-age=3600", "x-content-type-options": "nosniff" });
  res.end(asset.body);
  return true;
}
