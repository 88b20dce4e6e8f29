/**
 * Plug-in types on the client (docs/CONTENT-TYPES.md, "What clients do with a plug-in type"): a
 * server started with `--type-module` announces each type's merge kind and default policy in
 * `/.well-known/zsync` and in snapshot manifests; the real `zsync` binary then merges the type's
 * files by that kind, applies that default policy on update and merge, and names and guesses the
 * type on `add` — without running the plug-in's code. The example type is examples/todo-type/.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { zsync } from "../helpers/cli.js";
import { checkoutFresh, Remote, run, statusOf, updateOf } from "../helpers/scenario.js";
import { DEMO_AUTH, startServer, type TestServer } from "../helpers/server.js";

const module = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const TODO = module("../../examples/todo-type/todo-type.js");
const CHECKLIST = module("../fixtures/types/checklist-type.js");
const SETTINGS = module("../fixtures/types/settings-type.js");
const LIST = "[ ] buy milk\n[ ] call Ann\n[ ] water plants\n[ ] pay rent\n";
const SETTINGS_BASE = JSON.stringify({ theme: "light", fontSize: 12, language: "en" }, null, 2) + "\n";

let server: TestServer;
let remote: Remote;
let counter = 0;
const made: string[] = [];

before(async () => {
  server = await startServer({ demo: true, args: ["--type-module", TODO, "--type-module", CHECKLIST, "--type-module", SETTINGS] });
  remote = new Remote(server);
});
after(async () => {
  await server.stop();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const read = (dir: string, path: string) => readFileSync(join(dir, path), "utf8");
const write = (dir: string, path: string, text: string) => writeFileSync(join(dir, path), text);

/** A fresh folder holding `tree` (typed by `meta`) and a checkout of it made by the binary. */
async function folderWith(tree: Record<string, string>, meta: Record<string, { contentType: string }>): Promise<{ folder: string; wc: string; base: number }> {
  const folder = `plug${++counter}`;
  const base = await remote.createFolder(folder, tree, meta);
  const wc = await checkoutFresh(remote.url(folder), "zsync-plug-");
  made.push(join(wc, ".."));
  return { folder, wc, base };
}

describe("plug-in types announced to clients", { concurrency: 2 }, () => {
  test("/.well-known/zsync and snapshot manifests list each type with its merge kind and default policy", async () => {
    const response = await fetch(`${server.url}/.well-known/zsync`, { headers: { authorization: DEMO_AUTH } });
    const info = (await response.json()) as { protocol: { features: string[] }; types: { name: string; merge: string; defaultPolicy: string; mediaTypes: string[]; extensions: string[] }[] };
    assert.ok(info.protocol.features.includes("types"));
    const byName = new Map(info.types.map((t) => [t.name, t]));
    assert.deepEqual(byName.get("todo"), { name: "todo", mediaTypes: ["text/x-todo"], extensions: [".todo"], merge: "lines", defaultPolicy: "merge" });
    assert.deepEqual([byName.get("checklist")?.merge, byName.get("checklist")?.defaultPolicy], ["lines", "error"]);
    assert.deepEqual([byName.get("settings")?.merge, byName.get("settings")?.defaultPolicy], ["json", "merge"]);
    assert.deepEqual([byName.get("contact")?.merge, byName.get("event")?.merge, byName.get("note")?.merge], ["records", "records", "lines"]);
    assert.equal(byName.has("file"), false, "plain files are no announced type");
    const { manifest, records } = await remote.client.snapshot("demo", { since: 0 });
    await records.return(undefined);
    assert.deepEqual(manifest.types, info.types);
  });

  test("add names and guesses a plug-in type; its files merge by lines on update; the server still validates the merge", async () => {
    const { folder, wc } = await folderWith({ "home.todo": LIST }, { "home.todo": { contentType: "text/x-todo" } });
    assert.ok(existsSync(join(wc, ".zsync/types.json")), "the checkout keeps the server's types");
    write(wc, "work.todo", "[ ] write report\n");
    write(wc, "shop.list", "[ ] bread\n");
    await run(["add", "work.todo"], wc);
    await run(["add", "--type", "todo", "shop.list"], wc);
    await run(["commit", "-m", "two lists"], wc);
    const entries = await remote.entries(folder);
    assert.equal(entries.get("work.todo")?.meta?.contentType, "text/x-todo", "guessed from the announced extension");
    assert.equal(entries.get("shop.list")?.meta?.contentType, "text/x-todo", "named by the announced type name");

    await remote.change(folder, { modify: { "home.todo": LIST.replace("[ ] pay rent", "[x] pay rent") } });
    write(wc, "home.todo", LIST.replace("[ ] buy milk", "[x] buy milk"));
    const up = await updateOf(wc);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.byPath.get("home.todo")?.content, "G");
    assert.equal(read(wc, "home.todo"), "[x] buy milk\n[ ] call Ann\n[ ] water plants\n[x] pay rent\n");

    // A line merge can make what the plug-in refuses: the server's validation has the last word.
    await remote.change(folder, { modify: { "home.todo": "[x] buy milk\n[ ] call Ann\n[ ] water plants\n[x] pay rent\n[ ] new task\n" } });
    write(wc, "home.todo", "[x] buy milk\n[ ] call Ann\n[ ] water plants\n[x] pay rent\nnot a task\n");
    const conflicted = await updateOf(wc);
    assert.equal(conflicted.byPath.get("home.todo")?.content, "C");
    await run(["resolve", "--accept", "working", "--force", "home.todo"], wc);
    const commit = await zsync(["commit", "-m", "markers"], { cwd: wc });
    assert.notEqual(commit.code, 0);
    assert.match(commit.stderr, /home\.todo is not a valid todo: line \d+/);
  });

  test("the announced default policy applies without --policy (checklist: error); --policy and config policy override it", async () => {
    const { folder, wc, base } = await folderWith({ "trip.checklist": LIST }, { "trip.checklist": { contentType: "text/x-checklist" } });
    const second = await checkoutFresh(remote.url(folder), "zsync-plug-");
    made.push(join(second, ".."));
    const theirs = LIST.replace("[ ] pay rent", "[x] pay rent");
    const mine = LIST.replace("[ ] buy milk", "[x] buy milk");
    const rev = await remote.change(folder, { modify: { "trip.checklist": theirs } });
    write(wc, "trip.checklist", mine);
    const up = await updateOf(wc);
    assert.equal(up.code, 1);
    assert.equal(up.byPath.get("trip.checklist")?.content, "C");
    assert.equal(up.byPath.get("trip.checklist")?.reason, "policy error: changed on both sides, not merged");
    assert.equal(read(wc, "trip.checklist"), mine, "untouched");
    assert.equal(read(wc, `trip.checklist.r${rev}`), theirs);
    assert.equal(read(wc, `trip.checklist.r${base}`), LIST);

    write(second, "trip.checklist", mine);
    const merged = await updateOf(second, ["--policy", "merge"]);
    assert.equal(merged.code, 0, merged.stderr + JSON.stringify(merged.report));
    assert.equal(read(second, "trip.checklist"), "[x] buy milk\n[ ] call Ann\n[ ] water plants\n[x] pay rent\n");

    // Per-path policies come before the type's default.
    const third = await checkoutFresh(remote.url(folder), "zsync-plug-");
    made.push(join(third, ".."));
    await remote.change(folder, { modify: { "trip.checklist": read(second, "trip.checklist").replace("[ ] call Ann", "[x] call Ann") } });
    write(third, "trip.checklist", read(third, "trip.checklist") + "[ ] pack bags\n");
    await run(["config", "policy", ".", "merge"], third);
    const byConfig = await updateOf(third);
    assert.equal(byConfig.code, 0, byConfig.stderr);
    assert.equal(read(third, "trip.checklist"), "[x] buy milk\n[x] call Ann\n[ ] water plants\n[x] pay rent\n[ ] pack bags\n");
  });

  test("zsync merge between checkouts uses the announced default policy too", async () => {
    const { folder, wc } = await folderWith({ "trip.checklist": LIST }, { "trip.checklist": { contentType: "text/x-checklist" } });
    const source = await checkoutFresh(remote.url(folder), "zsync-plug-");
    made.push(join(source, ".."));
    write(wc, "trip.checklist", LIST.replace("[ ] buy milk", "[x] buy milk"));
    write(source, "trip.checklist", LIST.replace("[ ] pay rent", "[x] pay rent"));
    const merged = await zsync(["merge", source], { cwd: wc });
    assert.equal(merged.code, 1, merged.stdout + merged.stderr);
    assert.equal(read(wc, "trip.checklist"), LIST.replace("[ ] buy milk", "[x] buy milk"), "error: TARGET's file untouched");
    assert.equal((await statusOf(wc)).byPath.get("trip.checklist")?.status, "C");
  });

  test("a json type merges per key: neighbouring keys changed on each side merge, one key changed differently is a conflict naming it", async () => {
    const { folder, wc, base } = await folderWith({ "app.settings": SETTINGS_BASE }, { "app.settings": { contentType: "application/x-settings+json" } });
    const change = (patch: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(SETTINGS_BASE), ...patch }, null, 2) + "\n";
    await remote.change(folder, { modify: { "app.settings": change({ theme: "dark" }) } });
    write(wc, "app.settings", change({ fontSize: 14 }));
    const up = await updateOf(wc);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(JSON.parse(read(wc, "app.settings")), { theme: "dark", fontSize: 14, language: "en" }, "adjacent lines, different keys: clean");
    await run(["commit", "-m", "font"], wc);

    const rev = await remote.change(folder, { modify: { "app.settings": change({ theme: "dark", fontSize: 14, language: "de" }) } });
    write(wc, "app.settings", change({ theme: "dark", fontSize: 14, language: "fr" }));
    const conflict = await updateOf(wc);
    assert.equal(conflict.code, 1);
    assert.equal(conflict.byPath.get("app.settings")?.reason, "conflicting keys: language");
    assert.equal(JSON.parse(read(wc, "app.settings")).language, "fr", "the working file stays JSON, holding mine");
    assert.equal(JSON.parse(read(wc, `app.settings.r${rev}`)).language, "de", "theirs beside it");
    assert.ok(base > 0);
  });
});
