/** `zsync-server grant …`: give accounts roles on subtrees. */
import { ArchivePathError, checkArchivePath, isProtocolPath } from "../../protocol/paths.js";
import { GRANT_ROLES } from "../authz/access.js";
import { withStore, type ServerArgv } from "./common.js";

/** `/docs/`, `docs` → `docs`; `/` → `` (the whole repository). Throws on a path no object can have. */
export function grantPath(input: string): string {
  const path = input.replace(/^\/+/, "").replace(/\/+$/, "");
  try {
    checkArchivePath(path);
  } catch (error) {
    if (error instanceof ArchivePathError) throw new Error(`bad path ${JSON.stringify(input)}: ${error.message.replace(/^invalid archive path "[^"]*": /, "")}`);
    throw error;
  }
  if (isProtocolPath(path)) throw new Error(`bad path ${JSON.stringify(input)}: names starting with @@ are reserved`);
  return path;
}

/** Registers the command and its subcommands. */
export function grantCommand(y: ServerArgv): ServerArgv {
  return y.command("grant", "give an account a role on a subtree (nearest grant wins; none hides)", (y) =>
    y
      .command(
        "$0 <name> <path> <role>",
        "grant NAME the role ROLE on PATH (like /docs) and below",
        (y2) =>
          y2
            .positional("name", { type: "string", demandOption: true })
            .positional("path", { type: "string", demandOption: true })
            .positional("role", { choices: GRANT_ROLES, demandOption: true }),
        async (args) => {
          const path = grantPath(args.path);
          await withStore(args, async (store) => {
            if (!(await store.getAccount(args.name))) throw new Error(`no account ${args.name}`);
            await store.setGrant({ account: args.name, path, role: args.role });
          });
          console.log(`${args.name} is ${args.role} on /${path}`);
        },
      )
      .command(
        "remove <name> <path>",
        "remove NAME's grant on PATH",
        (y2) => y2.positional("name", { type: "string", demandOption: true }).positional("path", { type: "string", demandOption: true }),
        async (args) => {
          const path = grantPath(args.path);
          const removed = await withStore(args, (store) => store.removeGrant(args.name, path));
          if (!removed) throw new Error(`${args.name} has no grant on /${path}`);
          console.log(`removed the grant of ${args.name} on /${path}`);
        },
      )
      .command(
        "list [name]",
        "list grants (of one account, or all)",
        (y2) => y2.positional("name", { type: "string" }).option("json", { type: "boolean", default: false, describe: "print JSON" }),
        async (args) => {
          const grants = await withStore(args, async (store) => {
            if (args.name !== undefined && !(await store.getAccount(args.name))) throw new Error(`no account ${args.name}`);
            return store.listGrants(args.name);
          });
          const rows = grants.map((g) => ({ account: g.account, path: "/" + g.path, role: g.role }));
          if (args.json) console.log(JSON.stringify(rows, null, 2));
          else if (rows.length === 0) console.log("no grants");
          else for (const row of rows) console.log(`${row.account}\t${row.path}\t${row.role}`);
        },
      ),
  );
}
