/**
 * Writes the repository's history into a git repository: one git commit per revision, with the
 * revision's author, date and message, the files as a checkout has them and the metadata as
 * `@@meta/<name>.json` files. Incremental: each commit records its revision in a trailer
 * (`Zsync-Revision: N`), and a run starts after the last one mirrored.
 *
 * Byte for byte: files are added with `--force` (the content's own `.gitignore`, a global excludes
 * file or `.git/info/exclude` leave nothing out), and the mirror's `.git/info/attributes` (which
 * outranks any `.gitattributes` in the content) turns off end-of-line conversion, filters, `ident`
 * and working-tree encodings; its config sets `core.autocrlf=false` over the user's.
 *
 * Limits of git, not of the mirror: empty folders (without files or metadata) do not appear, and
 * an object named `.git` cannot be written (it is skipped, with a warning).
 */
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { CheckRepoActions, simpleGit, type SimpleGit } from "simple-git";
import { metaFileOf, metaText } from "../../protocol/meta-text.js";
import type { Store, StoredObject } from "../store/types.js";

export const REVISION_TRAILER = "Zsync-Revision";
export const REPOSITORY_TRAILER = "Zsync-Repository";

export interface MirrorOptions {
  /** A line per mirrored revision (and warnings). */
  log?: (line: string) => void;
}

/** Thrown when DIR holds another repository's mirror or something that is not a mirror. */
export class MirrorError extends Error {}

/** A git working tree that mirrors one repository. */
export interface GitMirror {
  /** The last revision mirrored (0 for a fresh mirror). */
  lastRevision(): Promise<number>;
  /** Mirrors every revision after the last one up to head; returns how many were added. */
  update(): Promise<number>;
}

function unsafe(path: string): boolean {
  return path.split("/").some((name) => name.toLowerCase() === ".git");
}

/** Opens (creating if needed) the mirror in `dir`. */
export async function openGitMirror(store: Store, dir: string, options: MirrorOptions = {}): Promise<GitMirror> {
  const log = options.log ?? (() => {});
  await mkdir(dir, { recursive: true });
  const git: SimpleGit = simpleGit({ baseDir: dir, allowEnvironment: ["GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE"] });
  if (!(await git.checkIsRepo(CheckRepoActions.IS_REPO_ROOT))) await git.init();
  await keepBytes(git, dir);
  const { uuid } = await store.info();

  async function lastRevision(): Promise<number> {
    let message: string;
    try {
      message = await git.raw(["log", "-1", "--format=%B"]);
    } catch {
      return 0; // no commit yet
    }
    const revision = new RegExp(`^${REVISION_TRAILER}: (\\d+)$`, "m").exec(message);
    const repository = new RegExp(`^${REPOSITORY_TRAILER}: (\\S+)$`, "m").exec(message);
    if (!revision || !repository) throw new MirrorError(`${dir} has commits that zsync-server mirror-git did not make; use an empty directory`);
    if (repository[1] !== uuid) throw new MirrorError(`${dir} mirrors another repository (${repository[1]}), not ${uuid}`);
    return Number(revision[1]);
  }

  async function writeObject(object: StoredObject): Promise<void> {
    const target = join(dir, object.path);
    if (object.kind === "folder") {
      await rm(target, { force: true });
      await mkdir(target, { recursive: true });
    } else {
      await rm(target, { recursive: true, force: true });
      await mkdir(join(target, ".."), { recursive: true });
      await pipeline(store.readBlob(object.hash!), createWriteStream(target));
    }
  }

  async function applyRevision(revision: number): Promise<void> {
    const [info] = await store.log("", { from: revision, limit: 1 });
    const delta = await store.changesSince("", revision - 1, { until: revision });
    for (const path of delta.deleted) {
      if (path === "" || unsafe(path)) continue;
      await rm(join(dir, path), { recursive: true, force: true });
      await rm(join(dir, metaFileOf(path)), { force: true });
    }
    for (const object of delta.changed) {
      if (unsafe(object.path)) {
        log(`warning: r${revision}: /${object.path} cannot be written into a git repository; skipped`);
        continue;
      }
      // A folder that was there keeps its contents; only a kind change or new content rewrites.
      if (object.path !== "" && !(object.kind === "folder" && (await isFolder(join(dir, object.path))))) await writeObject(object);
      const metaFile = join(dir, metaFileOf(object.path));
      const text = metaText(object.meta);
      if (text === "") await rm(metaFile, { force: true });
      else {
        await mkdir(join(metaFile, ".."), { recursive: true });
        await writeFile(metaFile, text);
      }
    }
    const author = info?.author ?? "unknown";
    const date = info?.date ?? new Date(0).toISOString();
    const note = (info?.note ?? "").replace(/\r\n/g, "\n").trimEnd();
    const message = `${note === "" ? `(no message) r${revision}` : note}\n\n${REVISION_TRAILER}: ${revision}\n${REPOSITORY_TRAILER}: ${uuid}\n`;
    const email = `${author.replace(/[^A-Za-z0-9._-]/g, "_")}@zsync`;
    await git.add(["-A", "--force", "."]);
    await git
      // Only what git needs (simple-git passes on only the GIT_ variables allowed above).
      .env({ PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir, GIT_AUTHOR_NAME: author, GIT_AUTHOR_EMAIL: email, GIT_AUTHOR_DATE: date, GIT_COMMITTER_NAME: author, GIT_COMMITTER_EMAIL: email, GIT_COMMITTER_DATE: date })
      .raw(["commit", "--allow-empty", "--no-verify", "--cleanup=verbatim", "-q", "-m", message]);
    log(`mirrored revision ${revision}`);
  }

  return {
    lastRevision,
    async update() {
      const last = await lastRevision();
      const { head } = await store.info();
      for (let revision = last + 1; revision <= head; revision++) await applyRevision(revision);
      return Math.max(0, head - last);
    },
  };
}

/** What git must not change in the mirror: attributes no content file can override, and config over the user's. */
export const MIRROR_ATTRIBUTES = "* -text -eol -filter -ident -working-tree-encoding\n";

async function keepBytes(git: SimpleGit, dir: string): Promise<void> {
  const attributes = resolve(dir, (await git.raw(["rev-parse", "--git-path", "info/attributes"])).trim());
  await mkdir(join(attributes, ".."), { recursive: true });
  await writeFile(attributes, MIRROR_ATTRIBUTES);
  for (const [key, value] of [
    ["core.autocrlf", "false"],
    ["core.safecrlf", "false"],
    ["commit.gpgSign", "false"],
  ] as const) {
    await git.addConfig(key, value, false, "local");
  }
}

async function isFolder(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}
