/**
 * `displayPath`: how a checkout path is shown, relative to the current directory. Its fast path
 * (the root's relative path computed once, the checkout path appended) must show exactly what
 * `path.relative` shows, from the root, above it, inside it and beside it.
 */
import assert from "node:assert/strict";
import { relative, resolve } from "node:path";
import { test } from "node:test";
import { displayPath } from "../../src/wc/session.js";

const root = "/home/ann/work/site";
const cwds = ["/home/ann/work/site", "/home/ann/work", "/", "/home/ann/work/site/docs", "/home/ann/work/site/docs/a", "/home/ann/work/other", "/home/ann/work/site2", "/home/ann/work/..site", "/elsewhere/deep/down"];
const paths = ["", "index.html", "docs", "docs/a/b.txt", "docs/a", "..dots/x", "site2/y"];

test("displayPath shows what path.relative shows, from every kind of current directory", () => {
  for (const cwd of cwds) {
    for (const path of paths) {
      const expected = relative(cwd, resolve(root, path)) || ".";
      assert.equal(displayPath(root, path, cwd), expected, `root ${root}, path ${JSON.stringify(path)}, cwd ${cwd}`);
    }
  }
  // Another root after the first (the cached base is per root and cwd).
  assert.equal(displayPath("/srv/co", "a/b", "/srv"), "co/a/b");
  assert.equal(displayPath(root, "a", "/home/ann/work"), "site/a");
});
