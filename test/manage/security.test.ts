/**
 * Security of the /manage pages over plain HTTP against the real zsync-server: cookie attributes
 * (Secure under TLS), session fixation, logout, CSRF, markup in names/metadata/messages, path
 * traversal in every page parameter, open redirects. Each refused change is checked to change
 * nothing (the head revision stays).
 */
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DEMO_AUTH, startServer, tempDir, type TestServer } from "../helpers/server.js";
import { makeCa, makeServerCert } from "../helpers/tls.js";

interface Answer {
  status: number;
  text: string;
  location: string | null;
  cookie: string | null;
}

describe("/manage security", { timeout: 120_000 }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  async function call(path: string, opts: { cookie?: string; form?: Record<string, string>; body?: FormData; method?: string } = {}): Promise<Answer> {
    const body = opts.form ? new URLSearchParams(opts.form) : opts.body;
    const res = await fetch(`${server.url}${path}`, { method: opts.method ?? (body ? "POST" : "GET"), body, redirect: "manual", headers: opts.cookie ? { cookie: opts.cookie } : {} });
    const setCookie = res.headers.get("set-cookie");
    return { status: res.status, text: await res.text(), location: res.headers.get("location"), cookie: setCookie ? setCookie.split(";")[0] : null };
  }

  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];

  async function logIn(user = "zsync", password = "zsync"): Promise<{ cookie: string; csrf: string; visitor: string }> {
    const form = await call("/manage/login");
    const visitor = form.cookie!;
    const done = await call("/manage/login", { cookie: visitor, form: { csrf: csrfOf(form.text), username: user, password, next: "/manage/browse" } });
    assert.equal(done.status, 303, done.text);
    const cookie = done.cookie!;
    const page = await call("/manage/browse?path=/demo", { cookie });
    assert.equal(page.status, 200);
    return { cookie, csrf: csrfOf(page.text), visitor };
  }

  const head = async () => {
    const res = await fetch(`${server.url}/.well-known/zsync`, { headers: { authorization: DEMO_AUTH } });
    return ((await res.json()) as { repository: { revision: number } }).repository.revision;
  };

  test("serve prints the /manage address (and with --demo, the login)", async () => {
    // The lines after "listening on" may still be in the pipe: wait for the output that says it.
    while (!/Stop with Ctrl-C/.test(server.stdout())) await new Promise((resolve) => server.process.stdout!.once("data", resolve));
    assert.match(server.stdout(), new RegExp(`manage in a browser: ${server.url}/manage {5}\\(log in as zsync, password zsync\\)`));
  });

  test("the session cookie is HttpOnly, SameSite=Strict, scoped to /manage; pages forbid inline script and framing", async () => {
    const res = await fetch(`${server.url}/manage/login`);
    const cookie = res.headers.get("set-cookie")!;
    assert.match(cookie, /^zsync_session=[A-Za-z0-9_-]{43}; Path=\/manage; HttpOnly; SameSite=Strict$/);
    assert.match(res.headers.get("content-security-policy")!, /script-src 'self'/);
    assert.equal(res.headers.get("x-frame-options"), "DENY");
  });

  test("under TLS the cookie is Secure", async () => {
    const pki = await tempDir("zsync-manage-pki-");
    makeCa(pki, "ca");
    makeServerCert(pki, "server", "ca", "IP:127.0.0.1");
    const tls = await startServer({ args: ["--tls-cert", join(pki, "server.pem"), "--tls-key", join(pki, "server.key")] });
    try {
      const cookie = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${tls.url}/manage/login`, { rejectUnauthorized: false }, (res) => {
          res.resume();
          resolve(String(res.headers["set-cookie"]));
        });
        req.on("error", reject);
        req.end();
      });
      assert.match(cookie, /; HttpOnly; SameSite=Strict; Secure$/);
    } finally {
      await tls.stop();
      await rm(pki, { recursive: true, force: true });
    }
  });

  test("session fixation: login makes a new session id, and the pre-login id is worth nothing", async () => {
    const { cookie, visitor } = await logIn();
    assert.notEqual(cookie, visitor);
    const withOld = await call("/manage/browse", { cookie: visitor });
    assert.equal(withOld.status, 303);
    assert.match(withOld.location!, /^\/manage\/login/);
  });

  test("logout ends the session on the server: the old cookie no longer opens a page", async () => {
    const { cookie, csrf } = await logIn();
    const refused = await call("/manage/logout", { cookie, form: {} });
    assert.equal(refused.status, 403, "logout needs the CSRF token too");
    assert.equal((await call("/manage/browse", { cookie })).status, 200);
    const out = await call("/manage/logout", { cookie, form: { csrf } });
    assert.equal(out.status, 303);
    assert.match(out.cookie!, /^zsync_session=$/);
    const after = await call("/manage/browse", { cookie });
    assert.equal(after.status, 303);
    assert.match(after.location!, /^\/manage\/login/);
  });

  test("CSRF: forms without the session's token are refused and change nothing", async () => {
    const { cookie, csrf } = await logIn();
    const other = await logIn();
    const before = await head();
    for (const token of [undefined, "", "x".repeat(43), other.csrf]) {
      const form: Record<string, string> = { path: "/demo", name: "csrf-test", message: "" };
      if (token !== undefined) form.csrf = token;
      const answer = await call("/manage/mkdir", { cookie, form });
      assert.equal(answer.status, 403, `token ${token}`);
      assert.match(answer.text, /nothing was changed/);
    }
    const upload = new FormData();
    upload.set("path", "/demo");
    upload.set("base", String(before));
    upload.set("files", new Blob(["x"]), "csrf.txt");
    assert.equal((await call("/manage/upload", { cookie, body: upload })).status, 403);
    const accounts = await call("/manage/accounts", { cookie, form: { action: "add", name: "mallory", password: "mallory-pass", role: "manager" } });
    assert.equal(accounts.status, 403);
    assert.equal(await head(), before);
    const users = await fetch(`${server.url}/manage/accounts`, { headers: { cookie } }).then((r) => r.text());
    assert.doesNotMatch(users, /mallory/);
    // The same form with the token works (the refusals above were about the token only).
    assert.equal((await call("/manage/mkdir", { cookie, form: { csrf, path: "/demo", name: "csrf-test", message: "" } })).status, 303);
    assert.equal(await head(), before + 1);
  });

  test("XSS: file names, metadata values and commit messages with markup render as text on every page", async () => {
    const { cookie, csrf } = await logIn();
    // No "/" in a name; a `"` would arrive percent-encoded (as browsers send it).
    const name = `'><script>alert(1)<script>.txt`;
    const upload = new FormData();
    upload.set("csrf", csrf);
    upload.set("path", "/demo");
    upload.set("base", String(await head()));
    upload.set("files", new Blob(["<script>alert(4)</script>\n"], { type: "text/plain" }), name);
    upload.set("message", `<script>alert(3)</script>`);
    const up = await call("/manage/upload", { cookie, body: upload });
    assert.equal(up.status, 303, up.text);
    const path = `/demo/${name}`;
    const object = await fetch(`${server.url}/manage/meta?path=${encodeURIComponent(path)}`, { headers: { cookie } }).then((r) => r.text());
    const meta = await call("/manage/meta", { cookie, form: { csrf, path, base: /name="base" value="(\d+)"/.exec(object)![1], title: `</td><script>alert(2)</script>`, contentType: "text/plain", key: "x<b>", value: `"><img src=x onerror=alert(5)>`, json: "0", message: "<b>bold</b>" } });
    assert.equal(meta.status, 303, meta.text);
    const rev = await head();
    const pages = [
      `/manage/browse?path=/demo`,
      `/manage/browse?path=${encodeURIComponent(path)}`,
      `/manage/meta?path=${encodeURIComponent(path)}`,
      `/manage/edit?path=${encodeURIComponent(path)}`,
      `/manage/log?path=/demo`,
      `/manage/diff?path=/demo&from=${rev - 2}&to=${rev}`,
      `/manage/diff?path=/demo&from=${rev - 2}&to=${rev}&view=split`,
      `/manage/move?path=${encodeURIComponent(path)}`,
      `/manage/delete?path=${encodeURIComponent(path)}`,
    ];
    for (const page of pages) {
      const { status, text } = await call(page, { cookie });
      assert.equal(status, 200, `${page}: ${text}`);
      assert.equal(text.match(/<script/g)?.length, 1, `${page}: only the page's own script tag`);
      assert.doesNotMatch(text, /<img src=x|<b>|onerror=alert\(5\)>/, page);
      assert.match(text, /&#60;script&#62;alert\(/, `${page} shows the markup as text`);
    }
  });

  test("path traversal: every path parameter refuses what is not a repository path, with 400 and no change", async () => {
    const { cookie, csrf } = await logIn();
    const bad = ["../etc/passwd", "/demo/../../etc/passwd", "demo/./README.txt", "demo\\..\\x", "demo/@@meta/README.txt.json", "demo/.zsync/config.json", "demo/\u0000x", "demo//x"];
    for (const page of ["browse", "raw", "edit", "meta", "move", "delete", "log", "diff"]) {
      for (const value of bad) {
        const answer = await call(`/manage/${page}?path=${encodeURIComponent(value)}&from=1`, { cookie });
        assert.equal(answer.status, 400, `${page} ${JSON.stringify(value)}: ${answer.status}`);
        assert.match(answer.text, /bad path/);
        assert.doesNotMatch(answer.text, /root:x:0:0/);
      }
    }
    for (const rev of ["../1", "-1", "1e3", "999999"]) {
      assert.equal((await call(`/manage/browse?path=/demo&rev=${encodeURIComponent(rev)}`, { cookie })).status, 400, rev);
    }
    const before = await head();
    const posts: [string, Record<string, string>][] = [
      ["mkdir", { path: "/demo", name: "../escape" }],
      ["mkdir", { path: "/demo", name: ".." }],
      ["mkdir", { path: "/demo/..", name: "x" }],
      ["mkdir", { path: "/demo", name: "@@meta" }],
      ["move", { path: "/demo/README.txt", to: "/demo/../../x", base: String(before) }],
      ["delete", { path: "/demo/../demo", base: String(before) }],
      ["restore", { path: "../demo", rev: "1" }],
      ["edit", { path: "/demo/../demo/README.txt", base: String(before), content: "x" }],
      ["meta", { path: "..", base: String(before) }],
      ["accounts", { action: "grant", name: "zsync", path: "/demo/../..", role: "none" }],
    ];
    for (const [page, form] of posts) {
      const answer = await call(`/manage/${page}`, { cookie, form: { csrf, message: "", ...form } });
      assert.equal(answer.status, 400, `${page} ${JSON.stringify(form)}: ${answer.text}`);
    }
    const upload = new FormData();
    upload.set("csrf", csrf);
    upload.set("path", "/demo/..");
    upload.set("base", String(before));
    upload.set("files", new Blob(["x"]), "x.txt");
    assert.equal((await call("/manage/upload", { cookie, body: upload })).status, 400);
    assert.equal(await head(), before, "nothing changed");
  });

  test("after login only /manage pages are redirect targets (no open redirect)", async () => {
    for (const next of ["//evil.example/", "https://evil.example/", "/manage/../x", "/demo/@@toFS.snarf"]) {
      const form = await call("/manage/login");
      const done = await call("/manage/login", { cookie: form.cookie!, form: { csrf: csrfOf(form.text), username: "zsync", password: "zsync", next } });
      assert.equal(done.status, 303);
      assert.equal(done.location, "/manage/browse", next);
    }
  });

  test("failed logins in the page count towards the API's limits (and the other way round)", async () => {
    const attempt = async () => {
      const form = await call("/manage/login");
      return call("/manage/login", { cookie: form.cookie!, form: { csrf: csrfOf(form.text), username: "ghost", password: "wrong", next: "" } });
    };
    for (let i = 0; i < 10; i++) assert.equal((await attempt()).status, 401, `attempt ${i + 1}`);
    const blocked = await attempt();
    assert.equal(blocked.status, 429);
    assert.match(blocked.text, /too many failed logins; try again in \d+ s/);
    const api = await fetch(`${server.url}/.well-known/zsync`, { headers: { authorization: "Basic " + Buffer.from("ghost:other").toString("base64") } });
    assert.equal(api.status, 429, "the API refuses the same user from the same address");
  });

  test("a server without accounts: everyone is the anonymous manager, as in the API, and forms still need the token", async () => {
    const open = await startServer({ demo: false });
    try {
      const first = await fetch(`${open.url}/manage/browse`, { redirect: "manual" });
      assert.equal(first.status, 200);
      const cookie = first.headers.get("set-cookie")!.split(";")[0];
      const text = await first.text();
      assert.match(text, /anonymous/);
      assert.match(text, /href="\/manage\/accounts"/);
      const mkdir = (form: Record<string, string>) => fetch(`${open.url}/manage/mkdir`, { method: "POST", body: new URLSearchParams(form), headers: { cookie }, redirect: "manual" }).then((r) => r.status);
      assert.equal(await mkdir({ path: "/", name: "open" }), 403);
      assert.equal(await mkdir({ csrf: csrfOf(text), path: "/", name: "open" }), 303);
      const log = await fetch(`${open.url}/open/@@log`).then((r) => r.json() as Promise<{ revisions: { author: string }[] }>);
      assert.equal(log.revisions[0].author, "anonymous");
    } finally {
      await open.stop();
    }
  });

  test("an edit of a file deleted meanwhile is not saved and hands the text back (nothing is lost)", async () => {
    const { cookie, csrf } = await logIn();
    const form = await call("/manage/edit?path=/demo/index.html", { cookie });
    const base = /name="base" value="(\d+)"/.exec(form.text)![1];
    const deleted = await call("/manage/delete", { cookie, form: { csrf, path: "/demo/index.html", base: String(await head()), message: "gone" } });
    assert.equal(deleted.status, 303, deleted.text);
    const before = await head();
    const answer = await call("/manage/edit", { cookie, form: { csrf, path: "/demo/index.html", base, content: "my <precious> text\r\n", message: "" } });
    assert.equal(answer.status, 409);
    assert.match(answer.text, /Someone deleted index\.html while you edited it/);
    assert.match(answer.text, /my &#60;precious&#62; text/);
    assert.equal(await head(), before);
  });
});
