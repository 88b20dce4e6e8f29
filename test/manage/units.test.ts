/** The pure parts of /manage and the history verbs: escaping, sessions (with a fake clock), form parsing, revision words. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseRevisionArg } from "../../src/cli/revision-arg.js";
import { ManageError, nameParam, pathParam } from "../../src/server/manage/context.js";
import { escapeHtml, href, html } from "../../src/server/manage/html.js";
import { safeNext } from "../../src/server/manage/login.js";
import { metaFromForm } from "../../src/server/manage/meta-form.js";
import { csrfMatches, SessionStore, sessionIdFrom } from "../../src/server/manage/sessions.js";

describe("html", () => {
  test("interpolations are escaped, markup values are not, arrays join, nullish renders nothing", () => {
    assert.equal(escapeHtml(`<a href="x" onclick='y'>&\``), "&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#96;");
    const name = `<script>alert(1)</script>`;
    assert.equal(html`<td>${name}</td>`.text, "<td>&#60;script&#62;alert(1)&#60;/script&#62;</td>");
    assert.equal(html`<ul>${["a<", "b"].map((x) => html`<li>${x}</li>`)}</ul>`.text, "<ul><li>a&#60;</li><li>b</li></ul>");
    assert.equal(html`${undefined}${null}${false}${0}`.text, "0");
    assert.equal(href("browse", { path: "/a b&c", rev: undefined }), "/manage/browse?path=%2Fa+b%26c");
  });
});

describe("sessions", () => {
  test("idle time and maximum age end a session; ids and CSRF tokens are fresh and distinct", () => {
    let now = 0;
    const store = new SessionStore({ idleMs: 100, maxAgeMs: 250, now: () => now });
    const a = store.create({ account: "ann" });
    const b = store.create({ account: "ann" });
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.csrf, b.csrf);
    assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
    now = 90;
    assert.equal(store.get(a.id), a, "touched within the idle time");
    now = 180;
    assert.equal(store.get(a.id), a);
    assert.equal(store.get(b.id), undefined, "idle for 180 > 100");
    now = 251;
    assert.equal(store.get(a.id), undefined, "older than the maximum age");
  });

  test("destroyAccount ends every session of one account only; the oldest go when full", () => {
    const store = new SessionStore({ maxSessions: 2 });
    const ann = store.create({ account: "ann" });
    const bob = store.create({ account: "bob" });
    store.destroyAccount("ann");
    assert.equal(store.get(ann.id), undefined);
    assert.equal(store.get(bob.id), bob);
    store.create();
    store.create();
    assert.equal(store.get(bob.id), undefined, "least recently used first");
  });

  test("CSRF comparison and the cookie parser", () => {
    const session = new SessionStore().create();
    assert.equal(csrfMatches(session, session.csrf), true);
    for (const wrong of [undefined, "", session.csrf.slice(1), session.csrf + "x", "x".repeat(43)]) assert.equal(csrfMatches(session, wrong), false);
    assert.equal(sessionIdFrom("a=1; zsync_session=abc ; b=2"), "abc");
    assert.equal(sessionIdFrom("zsync_sessionx=abc"), undefined);
    assert.equal(sessionIdFrom(undefined), undefined);
  });
});

describe("page parameters", () => {
  test("paths: slashes trimmed; anything that is not a repository path is a 400", () => {
    assert.equal(pathParam("/demo/a/"), "demo/a");
    assert.equal(pathParam(""), "");
    assert.equal(pathParam(null), "");
    for (const bad of ["..", "a/../b", "a/./b", "a//b", "a\\b", "@@meta", "a/.zsync", "a/.ZSYNC.", "a\u0000"]) {
      assert.throws(() => pathParam(bad), (e: unknown) => e instanceof ManageError && e.status === 400, bad);
    }
    assert.equal(nameParam(" new "), "new");
    for (const bad of ["", "a/b", "..", "@@x"]) assert.throws(() => nameParam(bad), ManageError, bad);
  });

  test("after login only /manage pages", () => {
    assert.equal(safeNext("/manage/log?path=%2Fdemo"), "/manage/log?path=%2Fdemo");
    for (const bad of [null, "", "//evil", "https://evil/", "/manage/../x", "/demo", "/manage\\x", "/manageX"]) assert.equal(safeNext(bad), "/manage/browse", String(bad));
  });

  test("metadata from the form: title, type, other keys (JSON where marked), annotations; empty is null; bad input says why", () => {
    const form = new URLSearchParams([
      ["title", "T"], ["contentType", " text/plain "],
      ["key", "audience"], ["value", "all"], ["json", "0"],
      ["key", "tags"], ["value", '["a","b"]'], ["json", "1"],
      ["key", ""], ["value", "ignored"], ["json", "0"],
      ["annotations", '{"dc": {"creator": "ann"}}'],
    ]);
    assert.deepEqual(metaFromForm(form, 256 * 1024), { contentType: "text/plain", extra: { title: "T", audience: "all", tags: ["a", "b"] }, annotations: { dc: { creator: "ann" } } });
    assert.equal(metaFromForm(new URLSearchParams([["title", ""], ["key", ""], ["value", ""], ["json", "0"]]), 1024), null);
    assert.throws(() => metaFromForm(new URLSearchParams([["key", "x"], ["value", "{"], ["json", "1"]]), 1024), /value of x is not valid JSON/);
    assert.throws(() => metaFromForm(new URLSearchParams([["annotations", "[1"]]), 1024), /annotations must be a JSON object/);
    assert.throws(() => metaFromForm(new URLSearchParams([["contentType", "text/plain\u00e9"]]), 1024), /printable ASCII/);
    assert.throws(() => metaFromForm(new URLSearchParams([["key", "title"], ["value", "x"], ["json", "0"]]), 1024), /Title field/);
  });
});

describe("revision arguments", () => {
  const cases: [string, ReturnType<typeof parseRevisionArg> | RegExp][] = [
    ["5", { start: 5 }],
    ["r12", { start: 12 }],
    ["HEAD", { start: "HEAD" }],
    ["base", { start: "BASE" }],
    ["2:5", { start: 2, end: 5 }],
    ["HEAD:1", { start: "HEAD", end: 1 }],
    ["1:2:3", /at most one ':'/],
    ["two", /bad revision "two"/],
    ["-1", /bad revision/],
    [":3", /bad revision/],
    ["1.5", /bad revision/],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => {
      if (expected instanceof RegExp) assert.throws(() => parseRevisionArg(input), expected);
      else assert.deepEqual(parseRevisionArg(input), expected);
    });
  }
});
