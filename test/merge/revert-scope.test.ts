/**
 * The rule of `revert` for a path inside a folder that is not coming back with it
 * (src/merge/revert-scope.ts), from a table of cases named after what the user did.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { revertBlocker, type RevertAncestor, type RevertTarget } from "../../src/merge/revert-scope.js";

const cases: { name: string; target: RevertTarget; ancestors: RevertAncestor[]; refused?: RegExp }[] = [
  {
    name: "svn E155038: a child of a folder scheduled for removal, alone",
    target: { path: "d/z", schedule: "removed" },
    ancestors: [{ path: "d", schedule: "removed", disk: "none", reverted: false }],
    refused: /^can't revert 'd\/z' without reverting its folder 'd', which is scheduled for removal: run `zsync revert d`$/,
  },
  {
    name: "the folder was removed and a file of the same name created in its place (the model test's seed 1121916620)",
    target: { path: "d/z", schedule: "removed" },
    ancestors: [{ path: "d", schedule: "removed", disk: "file", reverted: false }],
    refused: /without reverting its folder 'd'.*the file now at 'd' is kept as d\.zsync-saved/,
  },
  {
    name: "the folder is reverted in the same command",
    target: { path: "d/z", schedule: "removed" },
    ancestors: [{ path: "d", schedule: "removed", disk: "file", reverted: true }],
  },
  {
    name: "a folder replaced on disk by a file without zsync (~), a missing child",
    target: { path: "d/z" },
    ancestors: [{ path: "d", disk: "file", reverted: false }],
    refused: /^can't revert 'd\/z': a file is where its folder 'd' belongs; move that file away, or run `zsync revert d`/,
  },
  {
    name: "the outermost folder to revert is named",
    target: { path: "a/b/c", schedule: "removed" },
    ancestors: [
      { path: "a/b", schedule: "removed", disk: "none", reverted: false },
      { path: "a", schedule: "removed", disk: "none", reverted: false },
    ],
    refused: /without reverting its folder 'a',/,
  },
  {
    name: "an outer folder reverted does not cover an inner one still removed",
    target: { path: "a/b/c", schedule: "removed" },
    ancestors: [
      { path: "a/b", schedule: "removed", disk: "none", reverted: false },
      { path: "a", disk: "file", reverted: true },
    ],
    refused: /without reverting its folder 'a\/b',/,
  },
  {
    name: "a missing folder is simply made again",
    target: { path: "d/z" },
    ancestors: [{ path: "d", disk: "none", reverted: false }],
  },
  {
    name: "an addition only becomes unversioned: never refused",
    target: { path: "d/new", schedule: "added" },
    ancestors: [{ path: "d", disk: "file", reverted: false }],
  },
  {
    name: "an ordinary path in an ordinary folder",
    target: { path: "d/z" },
    ancestors: [{ path: "d", disk: "folder", reverted: false }],
  },
];

for (const c of cases) {
  test(`revert scope: ${c.name}`, () => {
    const why = revertBlocker(c.target, c.ancestors);
    if (c.refused) assert.match(why ?? "(allowed)", c.refused);
    else assert.equal(why, undefined);
  });
}
