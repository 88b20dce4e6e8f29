/**
 * Journal writes of new files (a checkout's every file): created in place with O_EXCL, no temp
 * file. What a kill can leave there — a prefix of the content — is completed on replay; anything
 * else found in the way is moved aside, and a symbolic link is never written through.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, test } from "node:test";
import { adminPaths, FORMAT_VERSION, writeConfig } from "../../src/wc/admin.js";
import { saveEntries, type Entry } from "../../src/wc/entries.js";
import { runJournal } from "../../src/wc/journal.js";
import { storePristine } from "../../src/wc/pristine.js";
import { checkoutPathChecker } from "../../src/wc/safe-path.js";
import { tempDir } from "../helpers/server.js";

async function emptyCheckout(): Promise<string> {
  const root = await tempDir("zsync-newfiles-");
  const paths = adminPaths(root);
  await mkdir(paths.pristine, { recursive: true });
  await writeFile(paths.format, `${FORMAT_VERSION}\n`);
  await writeConfig(root, { origin: "http://127.0.0.1:1", path: "demo", repository: "uuid", depth: "infinity" });
  await saveEntries(root, { revision: 0, entries: new Map<string, Entry>([["", { kind: "folder", revision: 0 }]]) });
  return root;
}

const content = Buffer.from("0123456789".repeat(5000));
const hashOf = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

describe("journal: new files", () => {
  let root: string;
  let outside: string;
  beforeEach(async () => {
    root = await emptyCheckout();
    outside = await tempDir("zsync-outside-");
    await storePristine(root, Readable.from([content]));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  const write = (path: string) =>
    runJournal(root, {
      command: "checkout",
      steps: [{ do: "write", path, hash: hashOf(content), expect: "absent" }],
      entries: { [path]: { kind: "file", revision: 1, hash: hashOf(content), size: content.length } },
      revision: 1,
    });

  test("a new file is written in place, its own file (not a link to BASE), no temp file left", async () => {
    const report = await write("dir/sub/new.txt");
    assert.deepEqual(report.savedAside, []);
    assert.deepEqual(readFileSync(join(root, "dir/sub/new.txt")), content);
    assert.equal(lstatSync(join(root, "dir/sub/new.txt")).nlink, 1);
    assert.deepEqual(readdirSync(join(root, "dir/sub")), ["new.txt"]);
  });

  test("a prefix of the content (a copy killed midway) is completed, nothing saved aside", async () => {
    for (const cut of [0, 1, 4096, content.length - 1]) {
      writeFileSync(join(root, "torn.txt"), content.subarray(0, cut));
      const report = await write("torn.txt");
      assert.deepEqual(report.savedAside, [], `prefix of ${cut} bytes`);
      assert.deepEqual(readFileSync(join(root, "torn.txt")), content);
      await rm(join(root, "torn.txt"));
    }
  });

  test("other bytes in the way are moved aside, never overwritten", async () => {
    for (const other of [Buffer.from("0123456789X"), Buffer.concat([content, Buffer.from("more")]), Buffer.from("mine\n")]) {
      writeFileSync(join(root, "taken.txt"), other);
      const report = await write("taken.txt");
      assert.deepEqual(report.savedAside, [{ path: "taken.txt", savedAs: "taken.txt.zsync-saved" }]);
      assert.deepEqual(readFileSync(join(root, "taken.txt.zsync-saved")), other);
      assert.deepEqual(readFileSync(join(root, "taken.txt")), content);
      await rm(join(root, "taken.txt.zsync-saved"));
      await rm(join(root, "taken.txt"));
    }
  });

  test("a symbolic link in the way is moved aside; its target is never written", async () => {
    writeFileSync(join(outside, "target.txt"), "outside\n");
    symlinkSync(join(outside, "target.txt"), join(root, "link.txt"));
    const report = await write("link.txt");
    assert.deepEqual(report.savedAside, [{ path: "link.txt", savedAs: "link.txt.zsync-saved", was: "other" }]);
    assert.equal(readFileSync(join(outside, "target.txt"), "utf8"), "outside\n");
    assert.ok(lstatSync(join(root, "link.txt.zsync-saved")).isSymbolicLink());
    assert.deepEqual(readFileSync(join(root, "link.txt")), content);
  });

  test("a path beyond a symlinked folder is refused before anything is written", async () => {
    symlinkSync(outside, join(root, "away"));
    await assert.rejects(write("away/x.txt"), /symbolic link/);
    assert.deepEqual(readdirSync(outside), []);
  });
});

describe("journal: new metadata files (write-text)", () => {
  let root: string;
  let outside: string;
  beforeEach(async () => {
    root = await emptyCheckout();
    outside = await tempDir("zsync-outside-");
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });
  const text = '{\n  "contentType": "text/plain",\n  "title": "Grüße"\n}\n';
  const writeText = (path: string, expect: "absent" | "any") => runJournal(root, { command: "checkout", steps: [{ do: "write-text", path, text, expect }], entries: {} });

  for (const expect of ["absent", "any"] as const) {
    test(`expect ${expect}: written in place, no temp file left`, async () => {
      const report = await writeText("dir/@@meta/a.txt.json", expect);
      assert.deepEqual(report.savedAside, []);
      assert.equal(readFileSync(join(root, "dir/@@meta/a.txt.json"), "utf8"), text);
      assert.deepEqual(readdirSync(join(root, "dir/@@meta")), ["a.txt.json"]);
    });
  }

  test("a prefix of the text (a write killed midway) is completed, nothing saved aside", async () => {
    const bytes = Buffer.from(text);
    for (const cut of [0, 1, 20, bytes.length - 1]) {
      writeFileSync(join(root, "torn.json"), bytes.subarray(0, cut));
      const report = await writeText("torn.json", "absent");
      assert.deepEqual(report.savedAside, [], `prefix of ${cut} bytes`);
      assert.equal(readFileSync(join(root, "torn.json"), "utf8"), text);
      await rm(join(root, "torn.json"));
    }
  });

  test("other bytes in the way of an expected-absent file are moved aside, never overwritten", async () => {
    for (const other of ["{}\n", text + "more", "{\n  \"contentType\": \"text/html\"\n}\n"]) {
      writeFileSync(join(root, "taken.json"), other);
      const report = await writeText("taken.json", "absent");
      assert.deepEqual(report.savedAside, [{ path: "taken.json", savedAs: "taken.json.zsync-saved" }]);
      assert.equal(readFileSync(join(root, "taken.json.zsync-saved"), "utf8"), other);
      assert.equal(readFileSync(join(root, "taken.json"), "utf8"), text);
      await rm(join(root, "taken.json.zsync-saved"));
      await rm(join(root, "taken.json"));
    }
  });

  test("a symbolic link in the way is never written through", async () => {
    writeFileSync(join(outside, "target.json"), "outside\n");
    symlinkSync(join(outside, "target.json"), join(root, "link.json"));
    const report = await writeText("link.json", "absent");
    assert.deepEqual(report.savedAside, [{ path: "link.json", savedAs: "link.json.zsync-saved", was: "other" }]);
    assert.equal(readFileSync(join(outside, "target.json"), "utf8"), "outside\n");
    assert.equal(readFileSync(join(root, "link.json"), "utf8"), text);
  });
});

describe("checkoutPathChecker: one lstat per folder, same verdicts", () => {
  test("agrees with the per-path check, for folders seen before and after a link", async () => {
    const root = await tempDir("zsync-checker-");
    const outside = await tempDir("zsync-outside-");
    try {
      mkdirSync(join(root, "real/deeper"), { recursive: true });
      symlinkSync(outside, join(root, "real/link"));
      writeFileSync(join(root, "file"), "");
      const check = checkoutPathChecker(root);
      assert.equal(check("real/deeper/a.txt"), undefined);
      assert.equal(check("real/deeper/b.txt"), undefined, "cached folder");
      assert.match(check("real/link/a.txt") ?? "", /symbolic link "real\/link"/);
      assert.match(check("real/link/x/y.txt") ?? "", /symbolic link "real\/link"/, "a cached link refuses deeper paths too");
      assert.equal(check("missing/a/b.txt"), undefined, "missing folders: whatever creates them creates real ones");
      assert.equal(check("file/x"), undefined, "a file where a folder should be is an obstruction, not a link");
      assert.match(check("../x") ?? "", /component/);
      assert.match(check(".zsync/x") ?? "", /admin area/);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });
});
