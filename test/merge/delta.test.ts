/**
 * How `update` reads a delta against the checkout (src/merge/delta.ts), from tables of cases
 * named after what happened: the rules both the update of the entries and the one decided from
 * the index summary follow.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { alreadyCurrent, deletedSinceCommitted, type LocalBase } from "../../src/merge/delta.js";

const remote = { kind: "file" as const, revision: 7 };

test("already current: the checkout has the server's object, with nothing pending on it", () => {
  const cases: { name: string; local: LocalBase | undefined; current: boolean }[] = [
    { name: "committed from here at that revision", local: { kind: "file", revision: 7, pending: false }, current: true },
    { name: "changed on the server since (an older BASE here)", local: { kind: "file", revision: 5, pending: false }, current: false },
    { name: "scheduled for removal, or in conflict, at that revision", local: { kind: "file", revision: 7, pending: true }, current: false },
    { name: "a folder here where the server has a file", local: { kind: "folder", revision: 7, pending: false }, current: false },
    { name: "a local addition (no BASE revision)", local: { kind: "file", pending: true }, current: false },
    { name: "not in the checkout at all", local: undefined, current: false },
  ];
  for (const c of cases) assert.equal(alreadyCurrent(c.local, remote), c.current, c.name);
});

test("deleted since committed: an entry newer than the checkout that the delta does not list", () => {
  // The checkout is at 10; the delta goes up to 15.
  const cases: { name: string; revision: number | undefined; listed: boolean; deleted: boolean }[] = [
    { name: "committed from here at 12, not listed: deleted on the server since", revision: 12, listed: false, deleted: true },
    { name: "committed from here at 15 (the target), not listed", revision: 15, listed: false, deleted: true },
    { name: "committed from here at 12, listed: still there", revision: 12, listed: true, deleted: false },
    { name: "at the checkout's revision: the delta would name its deletion", revision: 10, listed: false, deleted: false },
    { name: "older than the checkout", revision: 3, listed: false, deleted: false },
    { name: "newer than the target (an update to an older head): not judged here", revision: 16, listed: false, deleted: false },
    { name: "a local addition (no BASE revision)", revision: undefined, listed: false, deleted: false },
  ];
  for (const c of cases) assert.equal(deletedSinceCommitted(c.revision, 10, 15, c.listed), c.deleted, c.name);
});
