/**
 * Usage errors and help through the real binary: one line and a hint (JSON with --json), exit 2;
 * typos suggest the verb; `zsync help frob` exits 2; every command's help has examples and no
 * contradictory `[required] [default: []]`; zsync+ssh:// is named where http(s):// is.
 */
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { COMMANDS } from "../../src/cli/commands/index.js";
import { suggestVerb, verbTable } from "../../src/cli/usage.js";

const cwd = tmpdir();

test("a missing argument: one line naming it, the usage, and a hint; no help page", async () => {
  const r = await zsync(["move", "a"], { cwd });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, "zsync: missing DST (usage: zsync move SRC DST)\nsee `zsync help move`\n");
  assert.equal(r.stdout, "");
  const co = await zsync(["checkout"], { cwd });
  assert.equal(co.stderr, "zsync: missing URL (usage: zsync checkout URL [DIR])\nsee `zsync help checkout`\n");
  const opt = await zsync(["status", "--bogus"], { cwd });
  assert.equal(opt.code, 2);
  assert.equal(opt.stderr.trim().split("\n").length, 2, opt.stderr);
  assert.match(opt.stderr, /unknown argument: bogus\nsee `zsync help status`/);
});

test("with --json a usage error is {error: {code: usage, message, hint}} on stdout", async () => {
  const r = await zsync(["add", "--json"], { cwd });
  assert.equal(r.code, 2);
  assert.deepEqual(JSON.parse(r.stdout), { error: { code: "usage", message: "missing PATHS… (usage: zsync add PATHS…)", hint: "see `zsync help add`" } });
});

test("typos and git verbs suggest the command; unknown commands exit 2", async () => {
  for (const [typed, meant] of [["comit", "commit"], ["mvoe", "move"], ["stauts", "status"], ["clone", "checkout"], ["pull", "update"]] as const) {
    const r = await zsync([typed], { cwd });
    assert.equal(r.code, 2, typed);
    assert.match(r.stderr, new RegExp(`unknown command '${typed}'; did you mean '${meant}'\\?`), typed);
  }
  const far = await zsync(["frobnicate"], { cwd });
  assert.equal(far.code, 2);
  assert.doesNotMatch(far.stderr, /did you mean/);
  // mv is move's alias, and a near miss never lands on a two-letter alias such as co.
  assert.equal(suggestVerb("mv", verbTable(COMMANDS)), "move");
  assert.equal(suggestVerb("cx", verbTable(COMMANDS)), undefined);
});

test("zsync help CMD shows the command's help; zsync help frob is a usage error", async () => {
  const ok = await zsync(["help", "mv"], { cwd });
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /zsync move <src> <dst>/);
  const bad = await zsync(["help", "frob"], { cwd });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no command 'frob'/);
  const typo = await zsync(["help", "comit", "--json"], { cwd });
  assert.equal(typo.code, 2);
  assert.equal(JSON.parse(typo.stdout).error.code, "usage");
});

test("every command's help has examples and no '[required] [default: []]'; zsync+ssh:// beside http(s)://", async () => {
  for (const command of COMMANDS) {
    const verb = String(command.command).split(" ")[0]!;
    const r = await zsync([verb, "--help"], { cwd });
    assert.equal(r.code, 0, verb);
    assert.match(r.stdout, /\nExamples:\n/, `${verb} --help has examples`);
    assert.doesNotMatch(r.stdout, /\[required\] \[default: \[\]\]/, verb);
    const positionals = r.stdout.split("Options:")[0]!;
    if (/http\(s\):\/\//.test(positionals)) assert.match(positionals, /zsync\+ssh:\/\//, `${verb} names zsync+ssh:// too`);
  }
});
