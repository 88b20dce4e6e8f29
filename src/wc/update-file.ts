/**
 * How `update` brings one server file into the checkout, or deletes one the server deleted, once
 * the tree reconciler has said both sides are files: the per-file table (decideFile) decides, and
 * this turns its decision into journal steps, entry changes and a report line.
 */
import { join } from "node:path";
import { decideFile, type FileAction } from "../merge/file-decision.js";
import type { EntryInfo } from "../protocol/types.js";
import { entryFromRemote, type Entry } from "./entries.js";
import { formatMeta, metaFileOf } from "./meta-files.js";
import { planFileMerge, planMeta } from "./plan-object.js";
import { holdsStartOfBase } from "./cut-short.js";
import { hashFile } from "./pristine.js";
import type { PathStatus } from "./scan.js";
import { textHash, type UpdatePlan } from "./update-plan.js";

/**
 * The file planner of an update, adding to `plan`. `finishesCheckout`: the update finishes an
 * interrupted checkout, whose working files may have been cut short (see below).
 */
export function filePlanner(plan: UpdatePlan, root: string, opts: { finishesCheckout?: boolean } = {}) {
  const { ctx, steps, entryChanges, skipped, note, fileExpect, planRemoval } = plan;
  return planFile;

  /** Plans the server's file `remote` (or the deletion of `deletedPath`) over the local `entry` and `status`. */
  async function planFile(remote: EntryInfo | undefined, entry: Entry | undefined, status: PathStatus | undefined, deletedPath?: string) {
    const path = remote?.path ?? deletedPath!;
    const hasBase = entry !== undefined && entry.schedule !== "added";
    const present = status !== undefined && status.content !== "!" && status.kind === "file";
    // The scan does not hash unversioned files; comparing with the server's content needs it.
    if (present && !entry && status.workingHash === undefined) status.workingHash = (await hashFile(join(root, path))).hash;
    // An interrupted checkout leaves the files it was writing (src/wc/early-writes.ts), perhaps
    // cut short: the table completes those (rule 9a).
    const cutShort = present && !entry && opts.finishesCheckout === true && remote !== undefined && status.workingHash !== remote.hash && (await holdsStartOfBase(root, path, remote.hash!));
    // Edited metadata is a local change too: a file deleted on the server must not take it along.
    const metaEdited = !remote && status?.meta === "M";
    const localState: "absent" | "unchanged" | "modified" = !present
      ? "absent"
      : hasBase && status.workingHash === entry!.hash && !metaEdited
        ? "unchanged"
        : "modified";
    // A metadata-only change bumps the revision but not the content: that is "unchanged" here.
    const remoteState: "absent" | "unchanged" | "changed" = !remote ? "absent" : hasBase && entry!.hash === remote.hash ? "unchanged" : "changed";
    const decision: FileAction = decideFile({
      local: localState,
      base: hasBase,
      remote: remoteState,
      schedule: entry?.schedule,
      conflicted: entry?.conflict !== undefined,
      sameContent: present && remote !== undefined && status.workingHash === remote.hash,
      cutShort,
    });
    const kind = "file" as const;
    switch (decision.action) {
      case "nothing": {
        if (decision.report === "C") {
          skipped.push(path);
          note({ path, kind, content: "C", meta: " ", reason: "remains in conflict; resolve it, then update again" });
          return;
        }
        if (!remote || !hasBase) return;
        // Content stays; the BASE still moves to the server's revision and metadata.
        const next: Entry = { ...entryFromRemote(remote), ...(entry!.cache ? { cache: entry!.cache } : {}) };
        if (entry!.schedule === "removed") next.schedule = "removed";
        // An object scheduled for removal has no metadata file to merge into: only its BASE moves.
        const meta = entry!.schedule === "removed" ? " " : planMeta(ctx, path, entry, remote, status, next);
        entryChanges[path] = next;
        note({ path, kind, content: " ", meta });
        return;
      }
      case "take-remote": {
        steps.push({ do: "write", path, hash: remote!.hash!, expect: fileExpect(present ? status : undefined) });
        const next = entryFromRemote(remote!);
        const meta = planMeta(ctx, path, hasBase ? entry : undefined, remote!, status, next);
        entryChanges[path] = next;
        note({ path, kind, content: "U", meta });
        return;
      }
      case "adopt": {
        const next = entryFromRemote(remote!);
        const meta = planMeta(ctx, path, hasBase ? entry : undefined, remote!, status, next);
        entryChanges[path] = next;
        note({ path, kind, content: localState === "modified" && hasBase ? "G" : "U", meta });
        return;
      }
      case "delete":
        planRemoval(path, entry!, status);
        note({ path, kind, content: "D", meta: " " });
        return;
      case "forget":
        if (entry?.meta) steps.push({ do: "write-text", path: metaFileOf(path), text: null, expect: { hash: textHash(formatMeta(entry.meta)) } });
        entryChanges[path] = null;
        note({ path, kind, content: "D", meta: " " });
        return;
      case "tree-conflict": {
        const artifacts: string[] = [];
        let next: Entry;
        if (remote) {
          const theirs = `${path}.r${remote.revision}`;
          steps.push({ do: "write", path: theirs, hash: remote.hash!, expect: "absent" });
          artifacts.push(theirs);
          next = entryFromRemote(remote);
          if (entry?.schedule === "removed") next.schedule = "removed";
          // The server's metadata is the new BASE's: write it (merged with a local metadata file),
          // or keeping the local file would later commit its deletion.
          if (!hasBase) planMeta(ctx, path, undefined, remote, status, next);
        } else {
          next = { kind: "file", schedule: "added" };
        }
        next.conflict = {
          kind: "tree",
          artifacts,
          reason: decision.reason,
          versions: { base: hasBase ? entry!.hash : undefined, mine: present ? status.workingHash : undefined, theirs: remote?.hash },
          ...(remote ? { labels: { base: hasBase ? `.r${entry!.revision}` : ".base", theirs: `.r${remote.revision}` } } : {}),
        };
        entryChanges[path] = next;
        note({ path, kind, content: "C", meta: " ", reason: decision.reason });
        return;
      }
      case "merge": {
        const next = entryFromRemote(remote!);
        const conflict = await planFileMerge(ctx, path, hasBase ? entry : undefined, status!, remote!);
        if (conflict) next.conflict = conflict;
        const meta = planMeta(ctx, path, hasBase ? entry : undefined, remote!, status, next);
        entryChanges[path] = next;
        note({ path, kind, content: conflict ? "C" : "G", meta, reason: conflict?.reason });
        return;
      }
    }
  }
}
