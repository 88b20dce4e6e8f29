/** `zsync log [TARGET] [-r REV|REV:REV] [-l N] [-v]`: the history of the checkout, a path in it, or a URL, svn style. */
import type { LogEntry } from "../../protocol/types.js";
import { WcError } from "../../wc/admin.js";
import { log } from "../../wc/log.js";
import { defineCommand } from "../command.js";
import { headOf, resolveHistoryTarget } from "../history-target.js";
import { parseRevisionArg, resolveRevisionWord } from "../revision-arg.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  target?: string;
  limit?: number;
  verbose: boolean;
  revision?: string;
}

const SEPARATOR = "-".repeat(72);
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** svn's date: `2026-11-21 10:00:00 +0000 (Sat, 21 Nov 2026)`, in the local time zone (TZ). */
export function svnDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const two = (n: number) => String(n).padStart(2, "0");
  const offset = -d.getTimezoneOffset();
  const zone = `${offset < 0 ? "-" : "+"}${two(Math.floor(Math.abs(offset) / 60))}${two(Math.abs(offset) % 60)}`;
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zone}` +
    ` (${WEEKDAYS[d.getDay()]}, ${two(d.getDate())} ${MONTHS[d.getMonth()]} ${d.getFullYear()})`
  );
}

/** One revision as `svn log` prints it (without the separator lines). */
export function formatLogEntry(entry: LogEntry, verbose: boolean): string[] {
  const note = entry.note.replace(/\r\n/g, "\n").replace(/\n+$/, "");
  const count = note === "" ? 0 : note.split("\n").length;
  const lines = [`r${entry.revision} | ${entry.author} | ${svnDate(entry.date)} | ${count} line${count === 1 ? "" : "s"}`];
  if (verbose) {
    lines.push("Changed paths:");
    for (const change of entry.changes) lines.push(`   ${change.action} ${change.path}`);
  }
  lines.push("");
  if (note !== "") lines.push(...note.split("\n"));
  return lines;
}

export const logCommand = defineCommand<Args>({
  command: "log [target]",
  describe: "show the history of the checkout root, a path in it, or a server URL (asks the server)",
  builder: (y) =>
    y
      .positional("target", { type: "string", describe: "a path in the checkout (default: its root) or an http(s):// or zsync+ssh:// URL" })
      .option("revision", { alias: "r", type: "string", describe: "REV or REV1:REV2 (numbers, HEAD, BASE); REV1 > REV2 lists newest first, REV1 < REV2 oldest first" })
      .option("limit", { alias: "l", type: "number", describe: "show at most N revisions" })
      .option("verbose", { alias: "v", type: "boolean", default: false, describe: "list the paths each revision changed" }),
  handler: async (args) => {
    const out = createOutput(args);
    if (args.limit !== undefined && !(Number.isSafeInteger(args.limit) && args.limit > 0)) {
      throw new WcError("bad-limit", `--limit must be a positive whole number, not ${args.limit}`, 2);
    }
    const range = args.revision === undefined ? undefined : parseRevisionArg(args.revision);
    const target = await resolveHistoryTarget(args.target, args);
    const context = { base: target.base, head: headOf(target.client) };
    let from: number | undefined;
    let to: number | undefined;
    let ascending = false;
    if (range) {
      const start = await resolveRevisionWord(range.start, context);
      const end = range.end === undefined ? start : await resolveRevisionWord(range.end, context);
      ascending = start < end;
      from = Math.max(start, end);
      to = Math.min(start, end);
    }
    // Oldest first needs the whole range before the limit applies (svn counts in the order shown).
    const report = await log({ client: target.client, path: target.path, limit: ascending ? undefined : args.limit, from, to });
    const revisions = ascending ? report.revisions.reverse().slice(0, args.limit) : report.revisions;
    out.result({ path: report.path, revisions });
    out.line(SEPARATOR);
    for (const entry of revisions) {
      for (const line of formatLogEntry(entry, args.verbose)) out.line(line);
      out.line(SEPARATOR);
    }
  },
});
