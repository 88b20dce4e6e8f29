/**
 * Upload of one or many files into a folder (`multipart/form-data`, parsed by busboy): each file
 * is streamed to a temp file and hashed on the way, never held in memory, within the protocol's
 * body limit; then all of them are one revision. The CSRF field comes first in the form, and a
 * file arriving before a valid token is drained, not stored.
 */
import busboy from "busboy";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { createRequire } from "node:module";
import type { StoreChange } from "../store/types.js";
import { childPath, ManageError, nameParam, pathParam, redirect, type Page } from "./context.js";
import { commitFromPage } from "./commit.js";
import { href } from "./html.js";
import { csrfMatches } from "./sessions.js";

interface Staged {
  name: string;
  file: string;
  hash: string;
  size: number;
}

/** POST /manage/upload */
export async function handleUpload(page: Page): Promise<void> {
  const { req, deps } = page;
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > deps.limits.maxBodyBytes) throw new ManageError(413, `the upload of ${declared} bytes exceeds the limit of ${deps.limits.maxBodyBytes} bytes`);
  const fields = new Map<string, string>();
  const staged: Staged[] = [];
  let csrfOk = false;
  let total = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      let parser: busboy.Busboy;
      try {
        parser = busboy({ headers: req.headers, limits: { fields: 50, fieldSize: 64 * 1024, files: 10_000 } });
      } catch {
        reject(new ManageError(415, "the upload must be sent as multipart/form-data"));
        return;
      }
      const pending: Promise<void>[] = [];
      parser.on("field", (name, value) => {
        fields.set(name, value);
        if (name === "csrf") csrfOk = csrfMatches(page.session, value);
      });
      parser.on("file", (_field, stream, info) => {
        if (!csrfOk) {
          stream.resume();
          return;
        }
        if (info.filename === "" || info.filename === undefined) {
          stream.resume();
          return;
        }
        const file = join(deps.tempDir, `upload-${randomBytes(8).toString("hex")}`);
        const hash = createHash("sha256");
        const entry: Staged = { name: info.filename, file, hash: "", size: 0 };
        staged.push(entry);
        const count = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            total += chunk.length;
            entry.size += chunk.length;
            if (total > deps.limits.maxBodyBytes) return done(new ManageError(413, `the upload exceeds the limit of ${deps.limits.maxBodyBytes} bytes`));
            hash.update(chunk);
            done(null, chunk);
          },
        });
        pending.push(
          pipeline(stream, count, createWriteStream(file)).then(() => {
            entry.hash = hash.digest("hex");
          }),
        );
      });
      parser.on("error", reject);
      parser.on("close", () => Promise.all(pending).then(() => resolve(), reject));
      req.on("error", reject);
      req.pipe(parser);
    });
    if (!csrfOk) throw new ManageError(403, "the form expired or did not come from this site; nothing was changed");
    const folder = pathParam(fields.get("path"));
    const base = Number(fields.get("base"));
    if (!Number.isSafeInteger(base)) throw new ManageError(400, "the form lacks its base revision");
    if (staged.length === 0) throw new ManageError(400, "choose at least one file");
    const parent = await page.view.getObject(folder);
    if (!parent || parent.kind !== "folder") throw new ManageError(404, `no object at /${folder}`);
    const changes: StoreChange[] = [];
    const seen = new Set<string>();
    for (const item of staged) {
      const path = pathParam(childPath(folder, nameParam(item.name)));
      if (seen.has(path)) throw new ManageError(400, `${item.name} was chosen twice`);
      seen.add(path);
      const existing = await page.view.getObject(path);
      // Refused before anything reaches the store (as protocol commits check each change first).
      page.access.checkChange(existing ? "modify" : "add", path);
      await page.view.putBlobFromFile(item.hash, item.size, item.file, { take: true });
      if (existing?.kind === "file") {
        // The same bytes again are no change (a commit must change something).
        if (existing.hash !== item.hash) changes.push({ op: "modify", path, baseRevision: base, hash: item.hash });
      } else {
        const type = mimeTypes().lookup(item.name);
        changes.push({ op: "add", path, kind: "file", hash: item.hash, ...(type ? { meta: { contentType: type } } : {}) });
      }
    }
    if (changes.length === 0) {
      page.session.flash = { kind: "ok", text: "The files are the same as those in the folder; nothing was committed." };
      return redirect(page.res, href("browse", { path: "/" + folder }));
    }
    const revision = await commitFromPage(page, { note: fields.get("message") ?? "", changes });
    page.session.flash = { kind: "ok", text: `Uploaded ${changes.length} file${changes.length === 1 ? "" : "s"} in revision ${revision}.` };
    redirect(page.res, href("browse", { path: "/" + folder }));
  } finally {
    await Promise.all(staged.map((s) => rm(s.file, { force: true })));
  }
}

function mimeTypes(): typeof import("mime-types") {
  return createRequire(import.meta.url)("mime-types");
}
