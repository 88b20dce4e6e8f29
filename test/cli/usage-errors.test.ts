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
import type { Argv, CommandModule } from "yargs";

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

/** Splits an example command line as a shell would (double quotes only; no pipes). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** `module` with its handler, and those of the subcommands its builder registers, replaced by `capture`. */
function capturing(module: CommandModule, capture: (args: Record<string, unknown>) => void): CommandModule {
  const builder = module.builder;
  return {
    ...module,
    handler: capture,
    builder: (y: Argv) => {
      const register = y.command.bind(y) as (m: CommandModule) => Argv;
      (y as unknown as { command: (m: CommandModule) => Argv }).command = (sub: CommandModule) => register(capturing(sub, capture));
      return typeof builder === "function" ? (builder(y) as Argv) : y.options(builder ?? {});
    },
  };
}

test("every help example parses with its command's options, URLs where the command takes a URL", async () => {
  const { default: yargs } = await import("yargs");
  const { EXAMPLES } = await import("../../src/cli/usage.js");
  const byVerb = new Map(COMMANDS.map((c) => [String(c.command).split(" ")[0]!, c]));
  let checked = 0;
  for (const [verb, examples] of Object.entries(EXAMPLES)) {
    const module = byVerb.get(verb);
    assert.ok(module, `examples for an unknown command ${verb}`);
    for (const [line] of examples) {
      if (line.includes("|")) continue; // a pipeline: only its zsync part is a command line
      const argv = words(line).slice(1); // without "zsync"
      let parsed: Record<string, unknown> | undefined;
      await yargs(argv)
        .option("username", { alias: "user", type: "string" })
        .command(capturing(module, (args) => void (parsed = args)))
        .strict()
        .fail((message) => assert.fail(`${line}: ${message}`))
        .parseAsync();
      assert.ok(parsed, `${line}: no command ran`);
      const isUrl = (v: unknown) => typeof v === "string" && /^(https?|zsync\+ssh):\/\//.test(v);
      for (const [key, value] of Object.entries(parsed)) {
        const values = Array.isArray(value) ? value : [value];
        if (key === "url") assert.ok(values.every(isUrl), `${line}: ${key} is not a URL`);
        if (values.some(isUrl)) assert.ok(["url", "target", "source", "paths", "name", "folder"].includes(key) || key === "_", `${line}: a URL in ${key}`);
      }
      if (verb === "import") assert.ok(isUrl(parsed.url) && !isUrl(parsed.dir), `${line}: import takes URL then DIR`);
      checked++;
    }
  }
  const total = Object.values(EXAMPLES).flat().filter(([line]) => !line.includes("|")).length;
  assert.equal(checked, total);
  assert.ok(total > 30, `only ${total} examples`);
});
