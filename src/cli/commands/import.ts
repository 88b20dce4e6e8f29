/** `zsync import|checkin URL [DIR] [-m MSG] [--no-attach]`: a local tree becomes a new server object. */
import { stat } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { WcError } from "../../wc/admin.js";
import { importTree } from "../../wc/import.js";
import { defineCommand } from "../command.js";
import { clientForUrl } from "../connect.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  url: string;
  dir: string;
  message?: string;
  attach: boolean;
}

/** The last segment of a URL's path, decoded (undefined when the URL does not parse). */
function lastSegment(url: string): string | undefined {
  try {
    const segments = new URL(url).pathname.split("/").filter(Boolean);
    return segments.length === 0 ? "" : decodeURIComponent(segments[segments.length - 1]);
  } catch {
    return undefined;
  }
}

export const importCommand = defineCommand<Args>({
  command: "import <url> [dir]",
  aliases: ["checkin"],
  describe: "import a local tree DIR (default .) as the new object named by URL, then make DIR a checkout of it",
  builder: (y) =>
    y
      .positional("url", { type: "string", describe: "http(s):// or zsync+ssh://[user@]host[:port]/parent/NEWNAME" })
      .positional("dir", { type: "string", default: ".", describe: "the directory (or file) to import" })
      .option("message", { alias: "m", type: "string", describe: "log message" })
      .option("attach", { type: "boolean", default: true, describe: "make DIR a checkout of the new object afterwards (--no-attach: leave it alone)" }),
  handler: async (args) => {
    const out = createOutput(args);
    // Refuse what cannot work before asking for a password or sending anything.
    const name = lastSegment(args.url);
    if (name !== undefined && name.startsWith("@@")) throw new WcError("reserved-name", `cannot import as ${name}: names starting with @@ are reserved; nothing was imported`);
    if (!(await stat(args.dir).then(() => true, () => false))) throw new WcError("not-found", `${args.dir} does not exist; nothing was imported`);
    const { client, origin, path, user, ca } = await clientForUrl(args.url, args);
    const result = await importTree({ client, origin, path, user, ca, dir: args.dir, note: args.message, attach: args.attach });
    const url = `${origin}${result.path}`;
    out.result({
      revision: result.revision,
      url,
      path: result.path,
      kind: result.kind,
      imported: result.imported,
      meta: result.meta,
      skipped: result.skipped,
      attached: result.attached,
      ...(result.notAttached === undefined ? {} : { notAttached: result.notAttached }),
    });
    const top = result.path.slice(result.path.lastIndexOf("/") + 1);
    for (const item of result.imported) {
      const shown = item.path === "" ? top : `${top}/${item.path}`;
      out.line(`Adding         ${shown}${item.kind === "folder" ? "/" : ""}${result.meta.includes(item.path) ? "  (with metadata)" : ""}`);
    }
    for (const skipped of result.skipped) out.warn(`skipped ${skipped.path}: ${skipped.reason}`);
    out.line(`Committed revision ${result.revision}.`);
    const shownDir = relative(process.cwd(), resolve(args.dir)) || ".";
    if (result.attached) out.line(`${shownDir} is now a checkout of ${url} at revision ${result.revision}.`);
    else if (result.notAttached) out.warn(`not attached: ${result.notAttached}`);
  },
});
