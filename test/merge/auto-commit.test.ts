/** The table of `zsync watch --commit` decisions (src/merge/auto-commit.ts) and its message template. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { commitMessage, planAutoCommit, type AutoCommitItem } from "../../src/merge/auto-commit.js";

const item = (path: string, content: AutoCommitItem["content"], meta: AutoCommitItem["meta"] = " ", metaError?: string): AutoCommitItem => ({ path, content, meta, metaError });

test("each scan state has one decision", () => {
  const rows: [AutoCommitItem, string][] = [
    [item("m", "M"), "commit"],
    [item("a", "A"), "commit"],
    [item("r", "R"), "commit"],
    [item("meta", "=", "M"), "commit"],
    [item("same", "=", " "), "none"],
    [item("c", "C"), "conflict"],
    [item("mc", "M", "C"), "conflict"],
    [item("u", "?"), "held:unversioned"],
    [item("gone", "!"), "held:missing"],
    [item("obs", "~"), "held:obstructed"],
    [item("badmeta", "M", "M", "bad JSON"), "held:bad-meta"],
    [item("removed-badmeta", "R", " ", "bad JSON"), "commit"],
  ];
  for (const [row, expected] of rows) {
    const plan = planAutoCommit([row]);
    const got = plan.commit.length ? "commit" : plan.conflicts.length ? "conflict" : plan.held.length ? `held:${plan.held[0].reason}` : "none";
    assert.equal(got, expected, `${row.path}: ${row.content}${row.meta}`);
  }
});

test("order is kept and each path lands in one list", () => {
  const plan = planAutoCommit([item("b", "M"), item("a", "C"), item("c", "A"), item("d", "?")]);
  assert.deepEqual(plan, { commit: ["b", "c"], conflicts: ["a"], held: [{ path: "d", reason: "unversioned" }] });
});

test("message templates", () => {
  const date = new Date("2026-12-04T18:00:00.000Z");
  assert.equal(commitMessage("zsync watch: {paths}", { paths: ["a.txt", ""], user: "u", host: "h", date }), "zsync watch: a.txt, .");
  assert.equal(commitMessage("{count} by {user}@{host} at {date}: {paths}", { paths: ["1", "2", "3", "4", "5", "6", "7"], user: "ann", host: "box", date }), "7 by ann@box at 2026-12-04T18:00:00.000Z: 1, 2, 3, 4, 5 and 2 more");
  assert.equal(commitMessage("{unknown} {paths}", { paths: ["x"], user: "", host: "", date }), "{unknown} x");
});
