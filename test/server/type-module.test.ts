/**
 * The content-type plug-in API: the example type under examples/todo-type/ loads, round-trips
 * and merges; `zsync-server serve --type-module` validates its files on commit; a module that is
 * not a content type is refused at start. Also the built-in registry's lookups.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { spawnSync } from "node:child_process";
import { createTypeRegistry, loadTypeModule } from "../../src/server/types/registry.js";
import { contactType, eventType } from "../../src/server/types/builtins.js";
import { zsync } from "../helpers/cli.js";
import { checkoutInProcess, Remote, run } from "../helpers/scenario.js";
import { SERVER_BIN, startServer, tempDir, type TestServer } from "../helpers/server.js";

const EXAMPLE = fileURLToPath(new URL("../../examples/todo-type/todo-type.js", import.meta.url));
const LIST = "[ ] buy milk\n[x] call Ann\n[ ] water plants\n";

describe("the example plug-in type", () => {
  test("loads, and the registry finds it by media type", async () => {
    const todo = await loadTypeModule(EXAMPLE);
    assert.equal(todo.name, "todo");
    const registry = createTypeRegistry({ plugins: [todo] });
    assert.equal(registry.forMediaType("text/x-todo; charset=utf-8").name, "todo");
    assert.equal(registry.forMediaType("text/vcard").name, "contact");
    assert.equal(registry.forMediaType("text/plain").name, "file");
    assert.equal(registry.forMediaType(undefined).name, "file");
  });

  test("round-trips", async () => {
    const todo = await loadTypeModule(EXAMPLE);
    const parsed = todo.parse(LIST);
    assert.equal(todo.serialize(parsed), LIST);
    assert.deepEqual(todo.parse(todo.serialize(parsed)), parsed);
  });

  test("merges task by task; a task changed differently is a conflict keeping mine", async () => {
    const todo = await loadTypeModule(EXAMPLE);
    const base = todo.parse(LIST);
    const mine = todo.parse("[x] buy milk\n[x] call Ann\n[ ] water plants\n[ ] pay rent\n");
    const theirs = todo.parse("[ ] buy milk\n[x] call Ann\n[x] water plants\n");
    const clean = todo.merge(base, mine, theirs);
    assert.deepEqual(clean.conflicts, []);
    assert.equal(todo.serialize(clean.value), "[x] buy milk\n[x] call Ann\n[x] water plants\n[ ] pay rent\n");
    const conflict = todo.merge(base, todo.parse("[x] call Ann\n[ ] water plants\n"), todo.parse("[x] buy milk\n[x] call Ann\n[ ] water plants\n"));
    assert.deepEqual(conflict.conflicts, ["buy milk"], "removed here, ticked there");
  });

  test("parse errors carry the line", async () => {
    const todo = await loadTypeModule(EXAMPLE);
    assert.throws(() => todo.parse("[ ] ok\nnot a task\n"), (e: unknown) => (e as { line?: number }).line === 2);
  });

  test("a module that is no content type is refused, naming what is wrong", async () => {
    const dir = await tempDir("zsync-type-module-");
    const file = join(dir, "bad.js");
    writeFileSync(file, "export default { name: 'bad', mediaTypes: ['text/x-bad'], extensions: [], defaultPolicy: 'sometimes', parse() {}, serialize() {}, merge() {} };\n");
    await assert.rejects(loadTypeModule(file), /not a content type: defaultPolicy must be merge, mine, theirs, newest or error/);
    const serve = spawnSync(process.execPath, [SERVER_BIN, "--data-dir", dir, "serve", "--port", "0", "--type-module", file], { encoding: "utf8", timeout: 60_000 });
    assert.notEqual(serve.status, 0);
    assert.match(serve.stderr, /--type-module .*bad\.js: not a content type/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("zsync-server serve --type-module", () => {
  let server: TestServer;
  let remote: Remote;
  before(async () => {
    server = await startServer({ demo: true, args: ["--type-module", EXAMPLE] });
    remote = new Remote(server);
  });
  after(() => server.stop());

  test("announces the type, refuses a malformed .todo with its line, accepts a valid one", async () => {
    assert.match(server.stdout(), /content type todo \(text\/x-todo\) loaded from/);
    await remote.createFolder("todos", {});
    const wc = await checkoutInProcess(remote, "todos", "zsync-todo-");
    mkdirSync(join(wc, "lists"));
    writeFileSync(join(wc, "lists/home.todo"), "[ ] buy milk\n- forgot the brackets\n");
    await run(["add", "--type", "text/x-todo", "lists/home.todo"], wc);
    const refused = await zsync(["commit", "-m", "bad list"], { cwd: wc });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /lists\/home\.todo is not a valid todo: line 2: expected "\[ \] task"/);
    assert.equal((await remote.entries("todos")).has("lists"), false, "nothing of the commit was stored");
    writeFileSync(join(wc, "lists/home.todo"), LIST);
    await run(["commit", "-m", "good list"], wc);
    assert.equal((await remote.entries("todos")).get("lists/home.todo")?.meta?.contentType, "text/x-todo");
    rmSync(join(wc, ".."), { recursive: true, force: true });
  });
});

test("built-in contact and event validation", () => {
  assert.throws(() => contactType.parse("BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n"), /without a VERSION/);
  assert.throws(() => contactType.parse("BEGIN:VCARD\r\nVERSION:4.0\r\nN:a;b\r\nEND:VCARD\r\n"), (e: unknown) => (e as { line: number }).line === 1);
  assert.throws(() => contactType.parse("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), /expected BEGIN:VCARD/);
  assert.throws(() => contactType.parse(""), /no BEGIN:VCARD/);
  assert.doesNotThrow(() => contactType.parse("BEGIN:VCARD\r\nVERSION:2.1\r\nN:Doe;John\r\nEND:VCARD\r\n"));
  assert.throws(() => eventType.parse("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20240101\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"), /VEVENT without a UID/);
  const merged = contactType.merge(
    contactType.parse("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nTEL:1\r\nEND:VCARD\r\n"),
    contactType.parse("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nTEL:2\r\nEND:VCARD\r\n"),
    contactType.parse("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:B\r\nTEL:1\r\nEND:VCARD\r\n"),
  );
  assert.deepEqual(merged.conflicts, []);
  assert.equal(contactType.serialize(merged.value), "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:B\r\nTEL:2\r\nEND:VCARD\r\n");
});
