/**
 * Tree conflicts as `resolve` ends them: `working`/`mine-*` keep the local state; `theirs-*` take
 * the server's side — the local object saved first as `FILE.orig` (a folder's whole tree as
 * `DIR.orig/`) — for the conflicts zsync knows how to reverse; `base` does not apply.
 */
import { createReadStream } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { DIR_CONFLICT_REASONS } from "../merge/dir-decision.js";
import { FILE_CONFLICT_REASONS } from "../merge/file-decision.js";
import { isKindClash } from "../merge/tree.js";
import type { ObjectMeta } from "../protocol/types.js";
import { lstatOrNone } from "./add.js";
import { entriesUnder, type ConflictRecord, type Entry } from "./entries.js";
import { formatMeta, metaFileOf } from "./meta-files.js";
import { storePristine } from "./pristine.js";
import { MetaChoices, metaText } from "./resolve-meta.js";
import { Refusal, type Accept, type ResolvedPath } from "./resolve-steps.js";
import { readCheckoutFile } from "./safe-path.js";

/** The tree-conflict part of resolve's plan. */
export class TreeChoices extends MetaChoices {
  /** Plans a tree conflict's choice; returns the entry changes it leads to. */
  protected async tree(path: string, entry: Entry, conflict: ConflictRecord, accept: Accept, rec: ResolvedPath, next: Entry): Promise<Record<string, Entry | null>> {
    const reason = conflict.reason ?? "";
    const replaced = isKindClash(reason);
    if (accept === "base") {
      throw new Refusal(`'${path}' is in a tree conflict (${reason}): --accept base does not apply; keep your side (working) or take the server's (theirs-full)`);
    }
    if (accept !== "theirs-full" && accept !== "theirs-conflict") {
      // Keep the local state as it is: only the record goes (and a merge's SOURCE version is kept).
      if (replaced) rec.note = "the next commit replaces the server's object with yours";
      if (entry.kind === "file") await this.keepSourceVersion(path, conflict, rec);
      return { [path]: next };
    }
    const changes: Record<string, Entry | null> = { [path]: next };
    if (replaced || (entry.kind === "folder" && reason === DIR_CONFLICT_REASONS.deletedRemotelyWithLocalChanges)) {
      // The local object goes — deleted on the server, or replaced there by another kind. Everything
      // is saved first (a folder's whole tree as DIR.orig/), and the entries are dropped, so that
      // for a replacement the next update simply brings the server's object.
      const notes: string[] = [];
      if (entry.kind === "folder") {
        const moved = await this.moveFolderAside(path);
        rec.savedAs = moved.savedAs;
        if (moved.left.length > 0) notes.push(`left in place (not regular files): ${moved.left.join(", ")}`);
        for (const inner of entriesUnder(this.wc.entries.entries, path)) changes[inner] = null;
      } else {
        rec.savedAs = await this.saveAside(path, { remove: true });
      }
      rec.metaSavedAs = await this.replaceMetaFile(path, null, { save: true });
      changes[path] = null;
      if (replaced) notes.push("run `zsync update` to bring the server's version");
      if (notes.length > 0) rec.note = notes.join("; ");
      return changes;
    }
    switch (reason) {
      case FILE_CONFLICT_REASONS.editedLocallyDeletedRemotely:
        // Accept the deletion: the file and its metadata file go, saved as .orig.
        rec.savedAs = await this.saveAside(path, { remove: true });
        rec.metaSavedAs = await this.replaceMetaFile(path, null, { save: true });
        return { [path]: null };
      case FILE_CONFLICT_REASONS.removedLocallyChangedRemotely:
      case FILE_CONFLICT_REASONS.obstructedByUnversionedFile: {
        // Take the server's file (the BASE now); a local file that differs is saved first.
        delete next.schedule;
        delete next.cache;
        const now = await this.current(path);
        if (now !== "absent" && now !== "other" && now.hash !== entry.hash) rec.savedAs = await this.saveAside(path, { remove: false });
        await this.writeContent(path, entry.hash!);
        const wanted = entry.meta ? metaText(entry.meta as Record<string, unknown>) : null;
        const bytes = await readCheckoutFile(this.root, metaFileOf(path)).catch(() => undefined);
        if (bytes === undefined ? wanted !== null : !sameJson(bytes.toString("utf8"), entry.meta)) {
          rec.metaSavedAs = await this.replaceMetaFile(path, wanted, { save: true });
        }
        return changes;
      }
      default:
        throw new Refusal(`'${path}' is in a tree conflict zsync cannot take the server's side of (${reason || "unknown reason"}); resolve it by hand, then --accept working`);
    }
  }

  /** Moves every regular file under folder `path` (its @@meta files included) into `path.orig/`, then removes the emptied folders. */
  protected async moveFolderAside(path: string): Promise<{ savedAs?: string; left: string[] }> {
    const s = await lstatOrNone(join(this.root, path));
    if (!s?.isDirectory()) return { left: [] };
    const dest = await this.pickOrig(path);
    const dirs: string[] = [];
    const left: string[] = [];
    const walk = async (rel: string) => {
      dirs.push(rel);
      this.steps.push({ do: "mkdir", path: rel === "" ? dest : `${dest}/${rel}` });
      for (const name of (await readdir(join(this.root, path, rel))).sort()) {
        const inner = rel === "" ? name : `${rel}/${name}`;
        const st = await lstat(join(this.root, path, inner));
        if (st.isDirectory()) await walk(inner);
        else if (st.isFile()) {
          const from = `${path}/${inner}`;
          const stored = await storePristine(this.root, createReadStream(join(this.root, from)));
          this.steps.push({ do: "write", path: `${dest}/${inner}`, hash: stored.hash, expect: "absent" });
          this.steps.push({ do: "delete", path: from, expect: { hash: stored.hash } });
        } else left.push(`${path}/${inner}`);
      }
    };
    await walk("");
    for (const rel of dirs.sort((a, b) => b.length - a.length)) this.steps.push({ do: "rmdir", path: rel === "" ? path : `${path}/${rel}` });
    return { savedAs: dest, left };
  }
}

function sameJson(text: string, meta: ObjectMeta | undefined): boolean {
  try {
    return formatMeta(JSON.parse(text) as ObjectMeta) === formatMeta(meta ?? {});
  } catch {
    return false;
  }
}

