/**
 * Every change made in the page goes through here: blobs are staged like protocol uploads, then
 * one commit through the caller's permission-checked view of the store — the same `Store.commit`,
 * the same permission checks and the same out-of-date rules as `zsync commit`.
 */
import { createHash, randomBytes } from "node:crypto";
import { writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ForbiddenError, HiddenPathError } from "../authz/access.js";
import { InvalidChangeError, OutOfDateError, type StoreChange } from "../store/types.js";
import { ManageError, notFound, type Page } from "./context.js";

/** Stores bytes as a blob (through a temp file, as uploads are); returns its hash. */
export async function storeBytes(page: Page, bytes: Buffer): Promise<string> {
  const hash = createHash("sha256").update(bytes).digest("hex");
  if (await page.view.hasBlob(hash)) return hash;
  const file = join(page.deps.tempDir, `manage-${randomBytes(8).toString("hex")}`);
  try {
    await writeFile(file, bytes);
    await page.view.putBlobFromFile(hash, bytes.length, file);
  } finally {
    await rm(file, { force: true });
  }
  return hash;
}

/** Thrown when a change is out of date: the caller shows what changed and asks. */
export class PageOutOfDate extends Error {
  constructor(readonly paths: string[]) {
    super(`changed by someone else meanwhile: ${paths.map((p) => "/" + p).join(", ")}`);
  }
}

/** Commits as the logged-in account; returns the new revision. */
export async function commitFromPage(page: Page, input: { note: string; changes: StoreChange[] }): Promise<number> {
  const note = input.note.trim() === "" ? defaultNote(input.changes) : input.note;
  try {
    const done = await page.view.commit({ author: page.access.name, note, changes: input.changes });
    page.deps.log(`manage: ${page.access.name} committed revision ${done.revision}`);
    return done.revision;
  } catch (error) {
    if (error instanceof OutOfDateError) throw new PageOutOfDate(error.paths);
    if (error instanceof InvalidChangeError) throw new ManageError(409, error.message);
    if (error instanceof ForbiddenError) throw new ManageError(403, error.message);
    if (error instanceof HiddenPathError) throw notFound(error.path);
    throw error;
  }
}

function defaultNote(changes: StoreChange[]): string {
  const verbs = { add: "add", modify: "change", delete: "delete" };
  const first = changes[0];
  return `${verbs[first.op]} /${first.path}${changes.length > 1 ? ` and ${changes.length - 1} more` : ""} (web)`;
}
