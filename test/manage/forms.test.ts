/**
 * Every /manage form and page URL over plain HTTP (fetch) against the real zsync-server: a path
 * the account may not read answers exactly like a missing one on every page and form; a malformed
 * upload is a 400; uploads, messages and moves over the limits are 413 and change nothing; every
 * POST form found on the pages (and every POST route) is refused without its CSRF token; a POST
 * without a session goes to the login; sessions expire on the server's clock (moved by the test
 * through ZSYNC_CLOCK_OFFSET_FILE, never waited for).
 */
import assert from "node:assert/strict";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MANAGE_POST_ROUTES } from "../../src/server/manage/index.js";
import { DEMO_AUTH, startServer, tempDir, type TestServer, serverCliOk } from "../helpers/server.js";

interface Answer {
  status: number;
  text: string;
  location: string | null;
  cookie: string | null;
}

/** The server's --max-changes here: small, so limits are reached with a few files. */
const MAX_CHANGES = 20;
const HOUR = 3600_000;

describe("/manage forms and page URLs", { timeout: 180_000 }, () => {
  let server: TestServer;
  let dir: string;
  let clockFile: string;
  let clockOffset = 0;
  let manager: { cookie: string; csrf: string };
  let editor: { cookie: string; csrf: string };
  /** Revisions of /demo/secret/s.txt: made, then changed. */
  let r1 = 0;
  let r2 = 0;

  async function call(path: string, opts: { cookie?: string; form?: Record<string, string> | [string, string][]; body?: FormData | string; type?: string; method?: string } = {}): Promise<Answer> {
    const body = opts.form ? new URLSearchParams(opts.form) : opts.body;
    const headers: Record<string, string> = {};
    if (opts.cookie) headers.cookie = opts.cookie;
    if (opts.type) headers["content-type"] = opts.type;
    const res = await fetch(`${server.url}${path}`, { method: opts.method ?? (body !== undefined ? "POST" : "GET"), body, redirect: "manual", headers });
    const setCookie = res.headers.get("set-cookie");
    return { status: res.status, text: await res.text(), location: res.headers.get("location"), cookie: setCookie ? setCookie.split(";")[0] : null };
  }
  const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];

  async function logIn(user: string, password: string): Promise<{ cookie: string; csrf: string }> {
    const form = await call("/manage/login");
    const done = await call("/manage/login", { cookie: form.cookie!, form: { csrf: csrfOf(form.text), username: user, password, next: "/manage/browse" } });
    assert.equal(done.status, 303, done.text);
    const page = await call("/manage/browse?path=/demo", { cookie: done.cookie! });
    assert.equal(page.status, 200);
    return { cookie: done.cookie!, csrf: csrfOf(page.text) };
  }

  const head = async () => {
    const res = await fetch(`${server.url}/.well-known/zsync`, { headers: { authorization: DEMO_AUTH } });
    return ((await res.json()) as { repository: { revision: number } }).repository.revision;
  };

  function upload(session: { csrf?: string }, folder: string, files: Record<string, string>, message = "", base = 0): FormData {
    const form = new FormData();
    if (session.csrf !== undefined) form.set("csrf", session.csrf);
    form.set("path", folder);
    form.set("base", String(base));
    form.set("message", message);
    for (const [name, text] of Object.entries(files)) form.append("files", new Blob([text]), name);
    return form;
  }

  async function moveClock(ms: number): Promise<void> {
    clockOffset += ms;
    await writeFile(clockFile, String(clockOffset));
  }

  before(async () => {
    dir = await tempDir("zsync-manage-forms-");
    clockFile = join(dir, "clock-offset");
    await writeFile(clockFile, "0");
    server = await startServer({ args: ["--max-changes", String(MAX_CHANGES)], env: { ZSYNC_CLOCK_OFFSET_FILE: clockFile } });
    manager = await logIn("zsync", "zsync");
    assert.equal((await call("/manage/mkdir", { cookie: manager.cookie, form: { csrf: manager.csrf, path: "/demo", name: "secret", message: "" } })).status, 303);
    assert.equal((await call("/manage/upload", { cookie: manager.cookie, body: upload(manager, "/demo/secret", { "s.txt": "one\n" }) })).status, 303);
    r1 = await head();
    assert.equal((await call("/manage/upload", { cookie: manager.cookie, body: upload(manager, "/demo/secret", { "s.txt": "two\n" }, "", r1) })).status, 303);
    r2 = await head();
    await serverCliOk(server.dataDir, ["user", "add", "ed", "--role", "editor", "--password-stdin"], "ed-password-1\n");
    await serverCliOk(server.dataDir, ["grant", "ed", "/demo/secret", "none"]);
    editor = await logIn("ed", "ed-password-1");
  });
  after(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("a path the account may not read answers exactly like a missing one, on every page and form", async () => {
    const before = await head();
    const gets = [
      "browse?path=P",
      `browse?path=P&rev=${r1}`,
      "raw?path=P",
      `raw?path=P&rev=${r1}`,
      "edit?path=P",
      "meta?path=P",
      "move?path=P",
      "delete?path=P",
      "log?path=P",
      `diff?path=P&from=${r1}&to=${r2}`,
      `diff?path=P&from=${r1}&to=${r2}&view=split`,
    ];
    const posts: [string, (p: string) => Record<string, string>][] = [
      ["edit", (p) => ({ path: p, base: String(r2), content: "mine\n", message: "" })],
      ["meta", (p) => ({ path: p, base: String(r2), title: "t", contentType: "text/plain", annotations: "", message: "" })],
      ["move", (p) => ({ path: p, to: "/demo/moved-away", base: String(r2), message: "" })],
      ["delete", (p) => ({ path: p, base: String(r2), message: "" })],
      ["restore", (p) => ({ path: p, rev: String(r1), message: "" })],
      ["mkdir", (p) => ({ path: p, name: "inside", message: "" })],
    ];
    const checked: string[] = [];
    const differences: string[] = [];
    for (const [hidden, missing] of [
      ["/demo/secret/s.txt", "/demo/nothin/s.txt"],
      ["/demo/secret", "/demo/nothin"],
    ]) {
      const same = (a: Answer, b: Answer, what: string) => {
        const message = (text: string) => /<title>([^<]*)<\/title>[^]*role="alert">([^<]*)</.exec(text)?.slice(1).join(": ") ?? text.slice(0, 200);
        if (a.status !== 404 || b.status !== 404 || a.text.replaceAll("secret", "nothin") !== b.text) {
          differences.push(`${what}: hidden ${a.status} ${message(a.text)} | missing ${b.status} ${message(b.text)}`);
        }
        checked.push(what);
      };
      for (const url of gets) {
        const a = await call(`/manage/${url.replace("P", encodeURIComponent(hidden))}`, { cookie: editor.cookie });
        const b = await call(`/manage/${url.replace("P", encodeURIComponent(missing))}`, { cookie: editor.cookie });
        same(a, b, `GET ${url} with ${hidden}`);
      }
      for (const [route, fields] of posts) {
        const a = await call(`/manage/${route}`, { cookie: editor.cookie, form: { csrf: editor.csrf, ...fields(hidden) } });
        const b = await call(`/manage/${route}`, { cookie: editor.cookie, form: { csrf: editor.csrf, ...fields(missing) } });
        same(a, b, `POST ${route} with ${hidden}`);
      }
      const a = await call("/manage/upload", { cookie: editor.cookie, body: upload(editor, hidden, { "u.txt": "u\n" }) });
      const b = await call("/manage/upload", { cookie: editor.cookie, body: upload(editor, missing, { "u.txt": "u\n" }) });
      same(a, b, `POST upload into ${hidden}`);
    }
    assert.deepEqual(differences, [], "hidden and missing paths answer alike (404, the same page)");
    assert.equal(checked.length, 2 * (gets.length + posts.length + 1));
    // A new folder inside a file that the account can see is a plain 400, not a 404.
    const inFile = await call("/manage/mkdir", { cookie: editor.cookie, form: { csrf: editor.csrf, path: "/demo/README.txt", name: "inside", message: "" } });
    assert.equal(inFile.status, 400, inFile.text);
    assert.match(inFile.text, /\/demo\/README.txt is a file, not a folder/);
    assert.equal(await head(), before, "nothing was committed");
  });

  test("a malformed upload body is a 400 with a clear message, not a 500; nothing is committed", async () => {
    const before = await head();
    const truncated =
      `--XyZ\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n${manager.csrf}\r\n` +
      `--XyZ\r\nContent-Disposition: form-data; name="path"\r\n\r\n/demo\r\n` +
      `--XyZ\r\nContent-Disposition: form-data; name="files"; filename="cut.txt"\r\nContent-Type: text/plain\r\n\r\nthe body ends here`;
    const cut = await call("/manage/upload", { cookie: manager.cookie, body: truncated, type: "multipart/form-data; boundary=XyZ" });
    assert.equal(cut.status, 400, cut.text);
    assert.match(cut.text, /the upload is not valid multipart\/form-data: .*nothing was changed/);
    const noBoundary = await call("/manage/upload", { cookie: manager.cookie, body: "whatever", type: "multipart/form-data" });
    assert.equal(noBoundary.status, 400, noBoundary.text);
    assert.match(noBoundary.text, /the upload is not valid multipart\/form-data/);
    const notMultipart = await call("/manage/upload", { cookie: manager.cookie, form: { csrf: manager.csrf, path: "/demo" } });
    assert.equal(notMultipart.status, 415);
    assert.equal(await head(), before);
    assert.doesNotMatch(server.stderr(), /internal error/);
  });

  test("uploads, messages and moves over the limits are refused with 413 and change nothing", async () => {
    const before = await head();
    const files = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${String(i).padStart(2, "0")}.txt`, `file ${i}\n`]));
    const tooMany = await call("/manage/upload", { cookie: manager.cookie, body: upload(manager, "/demo", files(MAX_CHANGES + 1)) });
    assert.equal(tooMany.status, 413, tooMany.text);
    assert.match(tooMany.text, new RegExp(`more than ${MAX_CHANGES} files in one upload`));
    const longMessage = "m".repeat(64 * 1024 + 1);
    const long = await call("/manage/upload", { cookie: manager.cookie, body: upload(manager, "/demo", { "a.txt": "a\n" }, longMessage) });
    assert.equal(long.status, 413, long.text);
    assert.match(long.text, /the field .{1,6}message.{1,6} is longer than 65536 bytes/);
    for (const [route, form] of [
      ["mkdir", { path: "/demo", name: "long", message: longMessage }],
      ["delete", { path: "/demo/README.txt", base: String(before), message: longMessage }],
      ["mkdir", { path: "/demo", name: "n".repeat(64 * 1024 + 1), message: "" }],
    ] as const) {
      const answer = await call(`/manage/${route}`, { cookie: manager.cookie, form: { csrf: manager.csrf, ...form } });
      assert.equal(answer.status, 413, `${route}: ${answer.text}`);
      assert.match(answer.text, /is longer than 65536 bytes/);
    }
    assert.equal(await head(), before, "nothing was committed");
    // Exactly the limit is fine (and makes a folder of 20 files for the moves below).
    assert.equal((await call("/manage/mkdir", { cookie: manager.cookie, form: { csrf: manager.csrf, path: "/demo", name: "many", message: "m".repeat(64 * 1024) } })).status, 303);
    const full = await call("/manage/upload", { cookie: manager.cookie, body: upload(manager, "/demo/many", files(MAX_CHANGES)) });
    assert.equal(full.status, 303, full.text);
    const afterUpload = await head();
    assert.equal(afterUpload, before + 2);
    // A move of that folder is 21 adds and a delete: over the limit, like a protocol commit of 22 changes.
    const move = await call("/manage/move", { cookie: manager.cookie, form: { csrf: manager.csrf, path: "/demo/many", to: "/demo/many2", base: String(afterUpload), message: "" } });
    assert.equal(move.status, 413, move.text);
    assert.match(move.text, new RegExp(`moving /demo/many takes ${MAX_CHANGES + 2} changes in one revision, more than the server&#39;s limit of ${MAX_CHANGES}`));
    // A move whose new paths would be too long for the repository is a 400.
    // 4092 bytes: the folder's path fits, the path of the file inside it would not.
    const deep = "/demo/" + Array.from({ length: 20 }, () => "d".repeat(200)).join("/") + "/" + "e".repeat(67);
    assert.equal(deep.length - 1, 4092);
    const tooDeep = await call("/manage/move", { cookie: manager.cookie, form: { csrf: manager.csrf, path: "/demo/secret", to: deep, base: String(afterUpload), message: "" } });
    assert.equal(tooDeep.status, 400, tooDeep.text);
    assert.match(tooDeep.text, /bad path: .*longer than 4096/);
    assert.equal(await head(), afterUpload, "nothing was committed");
  });

  test("every POST form on the pages, and every POST route, is refused without its CSRF token; nothing changes", async () => {
    const before = await head();
    const users = await serverCliOk(server.dataDir, ["user", "list", "--json"]);
    // Crawl the pages a manager sees and collect every POST form with its fields.
    const pages = [
      "browse?path=/demo",
      "browse?path=/demo/README.txt",
      `browse?path=/demo/secret/s.txt&rev=${r1}`,
      "edit?path=/demo/README.txt",
      "meta?path=/demo/README.txt",
      "move?path=/demo/README.txt",
      "delete?path=/demo/README.txt",
      "log?path=/demo",
      `diff?path=/demo/secret/s.txt&from=${r1}&to=${r2}`,
      "accounts",
    ];
    const forms: { page: string; action: string; fields: [string, string][]; multipart: boolean }[] = [];
    for (const page of pages) {
      const answer = await call(`/manage/${page}`, { cookie: manager.cookie });
      assert.equal(answer.status, 200, page);
      for (const match of answer.text.matchAll(/<form\b([^>]*)>([^]*?)<\/form>/g)) {
        if (!/method="post"/.test(match[1])) continue;
        const action = /action="\/manage\/([a-z-]+)"/.exec(match[1])![1];
        const fields: [string, string][] = [];
        for (const input of match[2].matchAll(/<(input|textarea|select)\b([^>]*)>/g)) {
          const name = /name="([^"]+)"/.exec(input[2])?.[1];
          if (!name || name === "csrf" || /type="file"/.test(input[2])) continue;
          fields.push([name, /value="([^"]*)"/.exec(input[2])?.[1] || "x"]);
        }
        forms.push({ page, action, fields, multipart: /multipart\/form-data/.test(match[1]) });
      }
    }
    const login = await call("/manage/login");
    forms.push({ page: "login", action: "login", fields: [["username", "zsync"], ["password", "zsync"], ["next", "/manage/browse"]], multipart: false });
    assert.ok(/name="csrf"/.test(login.text));
    const actions = new Set(forms.map((f) => f.action));
    assert.deepEqual([...actions].sort(), [...MANAGE_POST_ROUTES].sort(), "a form for every POST route, and no form to another route");
    assert.ok(forms.length >= 20, `only ${forms.length} forms found`);
    for (const form of forms) {
      for (const token of [undefined, "x".repeat(43), editor.csrf]) {
        const cookie = form.action === "login" ? login.cookie! : manager.cookie;
        let answer: Answer;
        if (form.multipart) {
          const body = new FormData();
          if (token !== undefined) body.set("csrf", token);
          for (const [name, value] of form.fields) body.append(name, value);
          body.append("files", new Blob(["csrf\n"]), "csrf.txt");
          answer = await call(`/manage/${form.action}`, { cookie, body });
        } else {
          answer = await call(`/manage/${form.action}`, { cookie, form: token === undefined ? form.fields : [...form.fields, ["csrf", token]] });
        }
        assert.equal(answer.status, 403, `${form.action} (from ${form.page}) with token ${token}: ${answer.text}`);
      }
    }
    assert.equal(await head(), before, "nothing was committed");
    assert.equal(await serverCliOk(server.dataDir, ["user", "list", "--json"]), users, "no account changed");
    assert.equal((await call("/manage/browse?path=/demo", { cookie: manager.cookie })).status, 200, "still logged in (logout needs the token too)");
  });

  test("a POST without a session changes nothing and goes to the login page", async () => {
    const before = await head();
    for (const route of MANAGE_POST_ROUTES.filter((r) => r !== "login")) {
      for (const cookie of [undefined, "zsync_session=not-a-session"]) {
        const answer = await call(`/manage/${route}`, { cookie, form: { path: "/demo", name: "no-session", message: "" } });
        assert.equal(answer.status, 303, `${route}: ${answer.text}`);
        assert.equal(answer.location, "/manage/login", route);
      }
    }
    assert.equal(await head(), before);
  });

  test("sessions expire on the server's clock: 12 hours idle, 7 days at most", async () => {
    const session = await logIn("zsync", "zsync");
    const open = async () => (await call("/manage/browse?path=/demo", { cookie: session.cookie })).status;
    await moveClock(11 * HOUR);
    assert.equal(await open(), 200, "11 hours idle");
    await moveClock(11 * HOUR);
    assert.equal(await open(), 200, "11 more hours idle: each visit restarts the idle time");
    await moveClock(12 * HOUR + 60_000);
    const expired = await call("/manage/browse?path=/demo", { cookie: session.cookie });
    assert.equal(expired.status, 303, "12 hours and a minute idle");
    assert.match(expired.location!, /^\/manage\/login/);

    const week = await logIn("zsync", "zsync");
    const visit = async () => (await call("/manage/browse?path=/demo", { cookie: week.cookie })).status;
    for (let hours = 11; hours < 7 * 24; hours += 11) {
      await moveClock(11 * HOUR);
      assert.equal(await visit(), 200, `${hours} hours old, visited every 11 hours`);
    }
    await moveClock(11 * HOUR);
    assert.equal(await visit(), 303, "over 7 days old");
  });
});
