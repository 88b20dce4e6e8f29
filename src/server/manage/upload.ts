/**
 * Upload of one or many files into a folder (`multipart/form-data`, parsed by busboy): each file
 * is streamed to a temp file and hashed on the way, never held in memory, within the protocol's
 * limits (`maxBodyBytes`, and `maxChanges` files); then all of them are one revision. A field over
 * MAX_FORM_FIELD_BYTES, more files than the limit, or a malformed body refuse the whole upload
 * (413, 400), and nothing is committed. The CSRF field comes first in the form, and a
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
import { childPath, fieldTooLong, ManageError, MAX_FORM_FIELD_BYTES, nameParam, pathParam, redirect, type Page } from "./context.js";
import { commitFromPage } from "./commit.js";
import { href } from "./html.js";
import { csrfMatches } from "./sessions.js";

/** Most non-file fields in one upload form (it has four). */
const MAX_UPLOAD_FIELDS = 50;

interface Staged {
  name: string;
  file: string;
  hash: string;
  size: number;
}

/** POST /manage/upload */
export async function handleUpload(page: Page): Promise<void> {
  const { req, deps } = page;
  const { maxBodyBytes, maxChanges } = deps.limits;
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > maxBodyBytes) throw new ManageError(413, `the upload of ${declared} bytes exceeds the limit of ${maxBodyBytes} bytes`);
  const fields = new Map<string, string>();
  const staged: Staged[] = [];
  const pending: Promise<void>[] = [];
  let csrfOk = false;
  let total = 0;
  // A limit passed is remembered and the rest of the body drained (never a half-read request);
  // the upload is then refused as a whole.
  let refused: ManageError | undefined;
  const refuse = (error: ManageError) => {
    refused ??= error;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "multipart/form-data") return reject(new ManageError(415, "the upload must be sent as multipart/form-data"));
      let parser: busboy.Busboy;
      try {
        // One file more than allowed is what tells a full upload from one over the limit.
        parser = busboy({ headers: req.headers, limits: { fields: MAX_UPLOAD_FIELDS, fieldSize: MAX_FORM_FIELD_BYTES, fieldNameSize: 100, files: maxChanges } });
      } catch (error) {
        return reject(new ManageError(400, `the upload is not valid multipart/form-data: ${(error as Error).message}`));
      }
      parser.on("field", (name, value, info) => {
        if (info.nameTruncated || info.valueTruncated) return refuse(fieldTooLong(name));
        fields.set(name, value);
        if (name === "csrf") csrfOk = csrfMatches(page.session, value);
      });
      parser.on("filesLimit", () => refuse(new ManageError(413, `more than ${maxChanges} files in one upload (the server's limit of changes in one revision); nothing was changed`)));
      parser.on("fieldsLimit", () => refuse(new ManageError(413, `more than ${MAX_UPLOAD_FIELDS} form fields in one upload; nothing was changed`)));
      parser.on("file", (_field, stream, info) => {
        if (!csrfOk || refused || info.filename === "" || info.filename === undefined) {
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
            if (total > maxBodyBytes) refuse(new ManageError(413, `the upload exceeds the limit of ${maxBodyBytes} bytes`));
            if (refused) return done(); // drained, not written
            hash.update(chunk);
            done(null, chunk);
          },
        });
        const written = pipeline(stream, count, createWriteStream(file)).then(() => {
          entry.hash = hash.digest("hex");
        });
        written.catch(() => {}); // seen by Promise.all below; never an unhandled rejection
        pending.push(written);
      });
      parser.on("error", (error: Error) => reject(new ManageError(400, `the upload is not valid multipart/form-data: ${error.message}; nothing was changed`)));
      parser.on("close", () => Promise.all(pending).then(() => resolve(), reject));
      req.on("error", reject);
      req.pipe(parser);
    });
    if (!csrfOk) throw new ManageError(403, "the form expired or did not come from this site; nothing was changed");
    if (refused) throw refused;
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
    await Promise.allSettled(pending);
    await Promise.all(staged.map((s) => rm(s.file, { force: true })));
  }
}

function mimeTypes(): typeof import("mime-types") {
  return createRequire(import.meta.url)("mime-types");
}
