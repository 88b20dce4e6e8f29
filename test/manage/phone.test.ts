/**
 * The /manage pages at phone width (375 px, headless Chromium) with long unbroken names, paths,
 * authors, content types and messages: the browse and history pages (and a file, a diff and the
 * metadata form) never scroll sideways — long words wrap instead.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, logIn, screenshotter } from "../helpers/browser.js";
import { startServer, tempDir, type TestServer, serverCliOk } from "../helpers/server.js";

describe("/manage at phone width", { timeout: 120_000 }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let shot: (page: Page, name: string) => Promise<string>;
  const folder = "a-folder-name-that-goes-on-and-on-without-any-space-" + "x".repeat(60);
  const file = "a-file-name-that-goes-on-and-on-without-any-space-" + "y".repeat(80) + ".txt";
  const author = "an-account-with-a-very-long-name-" + "z".repeat(40);
  const password = "long-password-1";

  before(async () => {
    server = await startServer();
    dir = await tempDir("zsync-manage-phone-");
    shot = screenshotter(join(dir, "screenshots"), (line) => console.log(line));
    await serverCliOk(server.dataDir, ["user", "add", author, "--role", "manager", "--password-stdin"], password + "\n");
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    await logIn(page, server.url, author, password);
    // A folder, a file with a long unbroken content type, text and message, and a second version.
    await page.goto(`${server.url}/manage/browse?path=/demo`);
    await page.locator("#mkdir-name").fill(folder);
    await page.locator("#mkdir-message").fill("m".repeat(300));
    await page.getByRole("button", { name: "Create folder" }).click();
    await page.getByText(/Created \/demo\//).waitFor();
    for (const text of ["first-line-" + "w".repeat(300) + "\n", "second-line-" + "v".repeat(300) + "\n"]) {
      await page.goto(`${server.url}/manage/browse?path=${encodeURIComponent(`/demo/${folder}`)}`);
      await page.setInputFiles("#files", [{ name: file, mimeType: "text/plain", buffer: Buffer.from(text) }]);
      await page.locator("#upload-message").fill("a-message-without-spaces-" + "q".repeat(300));
      await page.getByRole("button", { name: "Upload" }).click();
      await page.getByText(/Uploaded 1 file/).waitFor();
    }
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    console.log(`screenshots kept in ${join(dir, "screenshots")}`);
  });

  /** Loads the page; says what is wrong when it is wider than the viewport (and which elements stick out). */
  async function fits(url: string, name: string): Promise<string | undefined> {
    const answer = await page.goto(`${server.url}/manage/${url}`);
    assert.equal(answer!.status(), 200, url);
    await shot(page, name);
    const { scrollWidth, clientWidth, wide } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      wide: [...document.querySelectorAll("main *, header *")].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).slice(0, 3).map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : "")),
    }));
    return scrollWidth <= clientWidth ? undefined : `${name}: ${scrollWidth} px wide in a ${clientWidth} px viewport (${wide.join(", ")})`;
  }

  test("browse and history pages do not scroll sideways at 375 px, whatever the names", async () => {
    const folderPath = encodeURIComponent(`/demo/${folder}`);
    const filePath = encodeURIComponent(`/demo/${folder}/${file}`);
    const wide = [
      await fits("browse?path=/demo", "browse-demo"),
      await fits(`browse?path=${folderPath}`, "browse-long-folder"),
      await fits(`browse?path=${filePath}`, "browse-long-file"),
      await fits("log?path=/demo", "history-demo"),
      await fits(`log?path=${filePath}`, "history-long-file"),
      await fits(`log?path=${folderPath}`, "history-long-folder"),
    ];
    assert.deepEqual(wide.filter(Boolean), [], "no page scrolls sideways");
  });

  test("a file at an old revision, a diff and the metadata form fit too", async () => {
    const filePath = encodeURIComponent(`/demo/${folder}/${file}`);
    const head = Number(/r(\d+)/.exec((await page.goto(`${server.url}/manage/log?path=${filePath}`), await page.locator("li.panel strong").first().innerText()))![1]);
    const wide = [
      await fits(`browse?path=${filePath}&rev=${head - 1}`, "browse-old-revision"),
      await fits(`diff?path=${filePath}&from=${head - 1}&to=${head}`, "diff-unified"),
      await fits(`diff?path=${filePath}&from=${head - 1}&to=${head}&view=split`, "diff-split"),
      await fits(`meta?path=${filePath}`, "meta-form"),
    ];
    assert.deepEqual(wide.filter(Boolean), [], "no page scrolls sideways");
  });
});
