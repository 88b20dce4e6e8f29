/**
 * Headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM) driven by playwright-core, for the
 * /manage page tests. One browser per test file; screenshots go to a temp directory whose paths
 * are written to the test log.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Launches the browser with flags that keep it quiet and offline. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
  });
}

/** Saves screenshots as `NN-name.png` under `dir` and logs each path. */
export function screenshotter(dir: string, log: (line: string) => void): (page: Page, name: string) => Promise<string> {
  let n = 0;
  return async (page, name) => {
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${String(++n).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot: ${file}`);
    return file;
  };
}

/** Logs in through the form. */
export async function logIn(page: Page, baseUrl: string, user: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/manage/login`);
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/manage\/browse/);
}
