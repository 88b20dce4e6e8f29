/**
 * The /manage pages in headless Chromium (playwright-core) against the real zsync-server, with
 * the real `zsync` client where the story needs one. One server and one browser for the file;
 * the scenarios build on each other in order. Screenshots: see the "screenshot:" lines.
 */
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser, logIn, screenshotter } from "../helpers/browser.js";
import { zsync } from "../helpers/cli.js";
import { startServer, tempDir, type TestServer, serverCliOk } from "../helpers/server.js";

async function ok(args: string[], cwd: string, env?: Record<string, string>) {
  const result = await zsync(args, { cwd, env });
  assert.equal(result.code, 0, `zsync ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe("/manage in a browser", { timeout: 240_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dir: string;
  let work: string;
  let url: string;
  let shot: (page: Page, name: string) => Promise<string>;
  const dialogs: string[] = [];
  /** The revision in which the page saved its version over the client's (the conflict test). */
  let pageVersionRevision = 0;
  const RITA_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGjcJnJ2xmk+z+5SBvP1K6jZTItEzeju+F2F31P/9AGD rita@laptop";

  before(async () => {
    server = await startServer();
    url = server.url.replace("://", "://zsync@");
    dir = await tempDir("zsync-manage-");
    shot = screenshotter(join(dir, "screenshots"), (line) => console.log(line));
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.accept();
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    console.log(`screenshots kept in ${join(dir, "screenshots")}`);
  });

  const head = async () => Number(JSON.parse((await ok(["log", `${url}/`, "-l", "1", "--json"], dir)).stdout).revisions[0].revision);

  test("log in: a wrong password is refused on the page, the right one opens the repository", async () => {
    await page.goto(`${server.url}/manage`);
    await page.waitForURL(/\/manage\/login/);
    await page.getByLabel("User name").fill("zsync");
    await page.getByLabel("Password").fill("wrong");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText("Wrong user name or password.").waitFor();
    await shot(page, "login-refused");
    // With the keyboard only: the user name field has the focus, Tab to the password, Enter sends.
    await page.goto(`${server.url}/manage/login`);
    // autofocus lands after load on a busy machine: type only once the field has the focus.
    await page.waitForFunction(() => document.activeElement?.id === "username");
    await page.keyboard.type("zsync");
    await page.keyboard.press("Tab");
    await page.keyboard.type("zsync");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/manage\/browse/);
    await page.getByRole("link", { name: "demo/" }).click();
    await page.getByRole("heading", { name: "demo/" }).waitFor();
    await shot(page, "browse-demo");
  });

  test("the original zsync story: folder and files in the page → checkout → edit → commit → the page shows it", async () => {
    await page.goto(`${server.url}/manage/browse?path=/demo`);
    await page.locator("#mkdir-name").fill("story");
    await page.locator("#mkdir-message").fill("a folder for the story");
    await page.getByRole("button", { name: "Create folder" }).click();
    await page.getByText(/Created \/demo\/story in revision \d+/).waitFor();
    await page.setInputFiles("#files", [
      { name: "hello.txt", mimeType: "text/plain", buffer: Buffer.from("Hello from the page.\n") },
      { name: "page.html", mimeType: "text/html", buffer: Buffer.from("<h1>Story</h1>\n") },
    ]);
    await page.locator("#upload-message").fill("two files");
    await page.getByRole("button", { name: "Upload" }).click();
    await page.getByText(/Uploaded 2 files in revision \d+/).waitFor();
    await shot(page, "story-folder");

    await ok(["checkout", `${url}/demo/story`, "story", "-q"], dir);
    work = join(dir, "story");
    assert.equal(await readFile(join(work, "hello.txt"), "utf8"), "Hello from the page.\n");
    await writeFile(join(work, "hello.txt"), "Hello from the command line.\n");
    const commit = await ok(["commit", "-m", "edited in a checkout"], work);
    const revision = Number(/revision (\d+)/i.exec(commit.stdout)?.[1]);
    assert.ok(revision > 0, commit.stdout);

    await page.getByRole("link", { name: "hello.txt", exact: true }).click();
    await page.locator("pre.content").getByText("Hello from the command line.").waitFor();
    await page.getByText(`r${revision} by zsync`).waitFor();
    await shot(page, "story-file-after-commit");
  });

  test("upload by drag and drop replaces a file and adds one, in one revision", async () => {
    await page.goto(`${server.url}/manage/browse?path=/demo/story`);
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(["dropped\n"], "dropped.txt", { type: "text/plain" }));
      dt.items.add(new File(["Hello, dropped over.\n"], "hello.txt", { type: "text/plain" }));
      const zone = document.querySelector("[data-dropzone]")!;
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.getByText("dropped.txt, hello.txt").waitFor();
    await page.getByRole("button", { name: "Upload" }).click();
    await page.getByText(/Uploaded 2 files in revision \d+/).waitFor();
    assert.equal((await ok(["cat", `${url}/demo/story/dropped.txt`], dir)).stdout, "dropped\n");
    assert.equal((await ok(["cat", `${url}/demo/story/hello.txt`], dir)).stdout, "Hello, dropped over.\n");
    const log = JSON.parse((await ok(["log", `${url}/demo/story`, "-l", "1", "-v", "--json"], dir)).stdout);
    assert.deepEqual(log.revisions[0].changes.map((c: { path: string; action: string }) => `${c.action} ${c.path}`).sort(), ["A /demo/story/dropped.txt", "M /demo/story/hello.txt"]);
  });

  test("edit a text file and its metadata in the page; the client sees both", async () => {
    await page.goto(`${server.url}/manage/browse?path=/demo/story/page.html`);
    await page.getByRole("link", { name: "Edit text" }).click();
    await page.getByLabel("Content").fill("<h1>Story</h1>\n<p>edited in the browser</p>\n");
    await page.getByLabel("Message").fill("edited in the page");
    await shot(page, "edit-text");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText(/Saved \/demo\/story\/page\.html as revision \d+/).waitFor();
    assert.equal((await ok(["cat", `${url}/demo/story/page.html`], dir)).stdout, "<h1>Story</h1>\n<p>edited in the browser</p>\n", "line ends stay LF");

    await page.getByRole("link", { name: "Edit metadata" }).click();
    await page.getByLabel("Title").fill("The story page");
    await page.getByLabel("Key 1", { exact: true }).fill("audience");
    await page.getByLabel("Value 1", { exact: true }).fill("everyone");
    await shot(page, "edit-metadata");
    await page.getByRole("button", { name: "Save metadata" }).click();
    await page.getByText(/Saved the metadata of \/demo\/story\/page\.html/).waitFor();
    const meta = JSON.parse((await ok(["cat", "--meta", `${url}/demo/story/page.html`], dir)).stdout);
    assert.deepEqual(meta, { contentType: "text/html", extra: { audience: "everyone", title: "The story page" } });
  });

  test("a conflicting edit: the page shows the client's change and asks, never overwrites", async () => {
    await ok(["update", "-q"], work);
    await page.goto(`${server.url}/manage/edit?path=/demo/story/hello.txt`);
    await page.getByLabel("Content").fill("Hello, the page's version.\n");
    // Meanwhile a client commits.
    await writeFile(join(work, "hello.txt"), "Hello, the client's version.\n");
    await ok(["commit", "-m", "client wins the race", "-q"], work);
    const before = await head();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: /Someone changed hello\.txt while you edited it/ }).waitFor();
    await page.locator(".diff").first().getByText("+Hello, the client's version.").waitFor();
    await shot(page, "edit-conflict");
    assert.equal(await head(), before, "nothing was committed");
    assert.equal((await ok(["cat", `${url}/demo/story/hello.txt`], dir)).stdout, "Hello, the client's version.\n");
    await page.getByRole("button", { name: "Save my version over theirs" }).click();
    const saved = await page.getByText(/Saved \/demo\/story\/hello\.txt as revision \d+/).textContent();
    pageVersionRevision = Number(/revision (\d+)/.exec(saved!)![1]);
    assert.equal(pageVersionRevision, before + 1);
    assert.equal((await ok(["cat", `${url}/demo/story/hello.txt`], dir)).stdout, "Hello, the page's version.\n");

    // The same for metadata: the form shows their change and keeps my values.
    await page.goto(`${server.url}/manage/meta?path=/demo/story/hello.txt`);
    await page.getByLabel("Title").fill("title from the page");
    await ok(["update", "-q"], work);
    await writeFile(join(work, "@@meta/hello.txt.json"), JSON.stringify({ contentType: "text/plain", extra: { title: "title from the client" } }, null, 2) + "\n");
    await ok(["commit", "-m", "client retitles", "-q"], work);
    await page.getByRole("button", { name: "Save metadata" }).click();
    await page.getByText(/Someone changed \/demo\/story\/hello\.txt after you opened this form/).waitFor();
    await page.locator(".diff").getByText('"title": "title from the client"').waitFor();
    assert.equal(await page.getByLabel("Title").inputValue(), "title from the page");
    await shot(page, "metadata-conflict");
    assert.equal(JSON.parse((await ok(["cat", "--meta", `${url}/demo/story/hello.txt`], dir)).stdout).extra.title, "title from the client");
    await page.getByRole("button", { name: "Save metadata" }).click();
    await page.getByText(/Saved the metadata of \/demo\/story\/hello\.txt/).waitFor();
    assert.equal(JSON.parse((await ok(["cat", "--meta", `${url}/demo/story/hello.txt`], dir)).stdout).extra.title, "title from the page");
  });

  test("history and diff: revisions with author, message and paths; unified and side by side", async () => {
    await page.goto(`${server.url}/manage/log?path=/demo/story/hello.txt`);
    await page.getByText("client wins the race").waitFor();
    await page.getByText("edited in a checkout").waitFor();
    await shot(page, "history");
    const rev = pageVersionRevision;
    await page.goto(`${server.url}/manage/diff?path=/demo/story&from=${rev - 1}&to=${rev}`);
    await page.getByText("-Hello, the client's version.").waitFor();
    await page.getByText("+Hello, the page's version.").waitFor();
    await shot(page, "diff-unified");
    await page.getByRole("link", { name: "Side by side" }).click();
    await page.locator("td.del").getByText("Hello, the client's version.").waitFor();
    await page.locator("td.add").getByText("Hello, the page's version.").waitFor();
    await shot(page, "diff-side-by-side");
    const download = page.waitForEvent("download");
    await page.goto(`${server.url}/manage/browse?path=/demo/story/hello.txt&rev=${rev - 1}`);
    await page.getByRole("link", { name: "Download" }).click();
    const file = await (await download).path();
    assert.equal(await readFile(file, "utf8"), "Hello, the client's version.\n");
  });

  test("restore an old version as a new revision", async () => {
    const rev = await head();
    const log = JSON.parse((await ok(["log", `${url}/demo/story/hello.txt`, "--json"], dir)).stdout);
    const first = log.revisions[log.revisions.length - 1].revision;
    await page.goto(`${server.url}/manage/browse?path=/demo/story/hello.txt&rev=${first}`);
    await page.getByText(`You are looking at revision ${first}`).waitFor();
    await shot(page, "old-version");
    await page.getByRole("button", { name: "Restore this version" }).click();
    await page.getByText(new RegExp(`Restored /demo/story/hello\\.txt from revision ${first} as revision ${rev + 1}`)).waitFor();
    assert.equal((await ok(["cat", `${url}/demo/story/hello.txt`], dir)).stdout, "Hello from the page.\n");
    // A deleted file comes back too.
    await page.goto(`${server.url}/manage/delete?path=/demo/story/dropped.txt`);
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByText(/Deleted \/demo\/story\/dropped\.txt in revision \d+/).waitFor();
    assert.deepEqual(dialogs, ["Really delete /demo/story/dropped.txt?"]);
    await page.goto(`${server.url}/manage/browse?path=/demo/story/dropped.txt&rev=${rev}`);
    await page.getByRole("button", { name: "Restore this version" }).click();
    await page.getByText(/Restored \/demo\/story\/dropped\.txt/).waitFor();
    assert.equal((await ok(["cat", `${url}/demo/story/dropped.txt`], dir)).stdout, "dropped\n");
  });

  test("rename/move in the page is one revision; the client follows with update", async () => {
    await page.goto(`${server.url}/manage/move?path=/demo/story/dropped.txt`);
    await page.getByLabel("New path").fill("/demo/story/moved.txt");
    await page.getByRole("button", { name: "Rename or move" }).click();
    await page.getByText(/Moved \/demo\/story\/dropped\.txt to \/demo\/story\/moved\.txt/).waitFor();
    await ok(["update", "-q"], work);
    assert.equal(await readFile(join(work, "moved.txt"), "utf8"), "dropped\n");
  });

  test("accounts: add, role, grant, reset password, token with revoke", async () => {
    await page.goto(`${server.url}/manage/browse?path=/demo`);
    await page.locator("#mkdir-name").fill("secret");
    await page.getByRole("button", { name: "Create folder" }).click();
    await page.getByText(/Created \/demo\/secret/).waitFor();

    await page.getByRole("link", { name: "Accounts" }).click();
    await page.locator("#add-name").fill("rita");
    await page.locator("#add-password").fill("rita-password-1");
    await page.locator("#add-role").selectOption("reader");
    await page.getByRole("button", { name: "Add account" }).click();
    await page.getByText("Added rita (reader).").waitFor();
    await page.locator("#gp-rita").fill("/demo/secret");
    await page.locator("#gr-rita").selectOption("none");
    await page.locator("section.account", { hasText: "rita" }).getByRole("button", { name: "Grant" }).click();
    await page.getByText("rita is none on /demo/secret.").waitFor();
    await page.locator("#tl-rita").fill("laptop");
    await page.locator("section.account", { hasText: "rita" }).getByRole("button", { name: "Make a token" }).click();
    const token = (await page.locator("#new-token").textContent())!;
    assert.match(token, /^zst_[0-9a-f]{16}_/);
    await shot(page, "accounts");
    const listed = await serverCliOk(server.dataDir, ["user", "list", "--json"]);
    assert.deepEqual(JSON.parse(listed).find((a: { name: string }) => a.name === "rita"), { name: "rita", role: "reader", keys: 0, grants: [{ path: "/demo/secret", role: "none" }] });
    const asToken = () => fetch(`${server.url}/.well-known/zsync`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
    assert.equal(await asToken(), 200);
    await page.locator("section.account", { hasText: "rita" }).getByRole("button", { name: "Revoke" }).click();
    await page.getByText("Revoked the token.").waitFor();
    assert.equal(await asToken(), 401, "a revoked token stops working at once");
    await page.locator("#key-rita").fill(RITA_KEY);
    await page.locator("section.account", { hasText: "rita" }).getByRole("button", { name: "Add key" }).click();
    await page.getByText("Added 1 key to rita.").waitFor();
    assert.match(await serverCliOk(server.dataDir, ["user", "key", "list", "rita"]), /SHA256:wxWC2SpcGpPsyNNp5uIwdJsMxGokrAMb5EJbxRjX92Q/);
    await page.locator("section.account", { hasText: "rita" }).getByRole("button", { name: "Remove key" }).click();
    await page.getByText("Removed a key of rita.").waitFor();
    assert.doesNotMatch(await serverCliOk(server.dataDir, ["user", "key", "list", "rita"]), /SHA256:/);
  });

  test("a reader sees no write forms and cannot write; a hidden path is a 404 like a missing one", async () => {
    const readerContext = await browser.newContext({ viewport: { width: 390, height: 800 } });
    readerContext.setDefaultTimeout(15_000);
    const reader = await readerContext.newPage();
    try {
      await logIn(reader, server.url, "rita", "rita-password-1");
      await reader.goto(`${server.url}/manage/browse?path=/demo`);
      await reader.getByRole("heading", { name: "demo/" }).waitFor();
      assert.equal(await reader.locator("form[action='/manage/upload']").count(), 0);
      assert.equal(await reader.getByRole("link", { name: "Delete" }).count(), 0);
      assert.equal(await reader.getByRole("link", { name: "secret/" }).count(), 0, "the hidden folder is not listed");
      await shot(reader, "reader-phone-width");
      const before = await head();
      // A reader who forges the form anyway is refused, and nothing changes.
      const csrf = await reader.locator("input[name=csrf]").first().inputValue();
      const forged = await readerContext.request.post(`${server.url}/manage/mkdir`, { form: { csrf, path: "/demo", name: "sneaky", message: "" }, maxRedirects: 0 });
      assert.equal(forged.status(), 403);
      assert.match(await forged.text(), /you \(reader\) may not add \/demo\/sneaky/);
      const upload = await readerContext.request.post(`${server.url}/manage/upload`, {
        multipart: { csrf, path: "/demo", base: String(before), files: { name: "sneaky.txt", mimeType: "text/plain", buffer: Buffer.from("x") } },
        maxRedirects: 0,
      });
      assert.equal(upload.status(), 403);
      assert.equal(await head(), before);
      const hidden = await reader.goto(`${server.url}/manage/browse?path=/demo/secret`);
      const hiddenText = await reader.locator("main").innerText();
      const missing = await reader.goto(`${server.url}/manage/browse?path=/demo/nothing`);
      const missingText = await reader.locator("main").innerText();
      assert.equal(hidden!.status(), 404);
      assert.equal(missing!.status(), 404);
      assert.equal(hiddenText.replace("secret", "X"), missingText.replace("nothing", "X"));
      await shot(reader, "hidden-is-missing");

      // A manager resets rita's password: her session ends on the server; then removes her.
      await page.goto(`${server.url}/manage/accounts`);
      await page.locator("#pw-rita").fill("rita-password-2");
      await page.locator("section.account", { hasText: "rita" }).getByRole("button", { name: "Reset password" }).click();
      await page.getByText("Changed the password of rita.").waitFor();
      await reader.goto(`${server.url}/manage/browse?path=/demo`);
      await reader.waitForURL(/\/manage\/login/);
      await logIn(reader, server.url, "rita", "rita-password-2");
      await page.locator("section.account", { hasText: "rita" }).getByRole("button", { name: "Remove account" }).click();
      await page.getByText("Removed rita.").waitFor();
      await reader.goto(`${server.url}/manage/browse?path=/demo`);
      await reader.waitForURL(/\/manage\/login/);
    } finally {
      await readerContext.close();
    }
  });

  test("names, metadata and messages with markup render as text", async () => {
    await page.goto(`${server.url}/manage/browse?path=/demo/story`);
    await page.setInputFiles("#files", [{ name: "<img src=x onerror=alert(1)>.txt", mimeType: "text/plain", buffer: Buffer.from("<script>alert(2)</script>\n") }]);
    await page.locator("#upload-message").fill("<script>alert(3)</script>");
    await page.getByRole("button", { name: "Upload" }).click();
    await page.getByText(/Uploaded 1 file/).waitFor();
    await page.getByRole("link", { name: "<img src=x onerror=alert(1)>.txt", exact: true }).click();
    await page.locator("pre.content").getByText("<script>alert(2)</script>").waitFor();
    await page.goto(`${server.url}/manage/log?path=/demo/story`);
    await page.getByText("<script>alert(3)</script>").waitFor();
    await shot(page, "markup-as-text");
    assert.deepEqual(dialogs, ["Really delete /demo/story/dropped.txt?", "Remove the account rita?"], "no script from content ran");
  });
});
