/** Which scan scopes `zsync status` derives from the paths a watcher says were touched (src/wc/watch/fast-status.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { scopesFor } from "../../src/wc/watch/fast-status.js";

const entries = new Map<string, unknown>(["", "docs", "docs/a.md", "img", "img/logo.png"].map((p) => [p, {}]));

test("touched paths become scan scopes", () => {
  const rows: [string[], string[]][] = [
    [[], []],
    [["docs/a.md"], ["docs/a.md"]],
    [["docs/@@meta/a.md.json"], ["docs/a.md"]],
    [["@@meta/@@root.json"], [""]],
    [["docs/@@meta/not-json"], ["docs/@@meta"]],
    [["new/sub/f.txt", "new/sub", "new"], ["new"]],
    [["docs/new/deep/f.txt"], ["docs/new"]],
    [["docs", "docs/a.md", "img/logo.png"], ["docs", "img/logo.png"]],
    [["../escape", "/abs", ".zsync/entries.json", "docs/a.md"], ["docs/a.md"]],
    [["", "docs/a.md"], [""]],
  ];
  for (const [touched, expected] of rows) assert.deepEqual(scopesFor(touched, entries), expected, JSON.stringify(touched));
});
