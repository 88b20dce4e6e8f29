/** `zsync-server user …`: manage accounts. */
import { hashPassword } from "../auth.js";
import { ACCOUNT_ROLES } from "../authz/access.js";
import { readPassword, withStore, type ServerArgv } from "./common.js";
import { userKeyCommands } from "./user-key.js";

/** Registers the command and its subcommands. */
export function userCommand(y: ServerArgv): ServerArgv {
  return y.command("user", "manage accounts", (y) =>
    y
      .command(
        "add <name>",
        "add an account (password from a prompt, or the first line of stdin)",
        (y2) =>
          y2
            .positional("name", { type: "string", demandOption: true })
            .option("role", { choices: ["manager", "editor", "reader"] as const, default: "editor" as const })
            .option("password-stdin", { type: "boolean", default: false }),
        async (args) => {
          const password = await readPassword(args.passwordStdin);
          await withStore(args, async (store) => store.addAccount(args.name, await hashPassword(password), args.role));
          console.log(`added ${args.name} (${args.role})`);
        },
      )
      .command(
        "passwd <name>",
        "set an account's password (from a prompt, or the first line of stdin); applies at once, also on a running server",
        (y2) => y2.positional("name", { type: "string", demandOption: true }).option("password-stdin", { type: "boolean", default: false }),
        async (args) => {
          await withStore(args, async (store) => {
            await requireAccount(store, args.name);
            const password = await readPassword(args.passwordStdin);
            await store.updateAccount(args.name, { passwordHash: await hashPassword(password) });
          });
          console.log(`changed the password of ${args.name}`);
        },
      )
      .command(
        "role <name> <role>",
        "change an account's role (grants on subtrees still override it there)",
        (y2) => y2.positional("name", { type: "string", demandOption: true }).positional("role", { choices: ACCOUNT_ROLES, demandOption: true }),
        async (args) => {
          await withStore(args, async (store) => {
            await requireAccount(store, args.name);
            await store.updateAccount(args.name, { role: args.role });
          });
          console.log(`${args.name} is now ${args.role}`);
        },
      )
      .command(
        "remove <name>",
        "remove an account with its keys, grants and tokens",
        (y2) =>
          y2
            .positional("name", { type: "string", demandOption: true })
            .option("force", { type: "boolean", default: false, describe: "remove even the last account (the server then serves everyone anonymously)" }),
        async (args) => {
          await withStore(args, async (store) => {
            await requireAccount(store, args.name);
            // Without accounts the server is open to everyone as manager: never by accident.
            if ((await store.countAccounts()) === 1 && !args.force) {
              throw new Error(`${args.name} is the last account: without accounts the server lets everyone in as manager; add another account first, or pass --force`);
            }
            await store.removeAccount(args.name);
          });
          console.log(`removed ${args.name}`);
        },
      )
      .command(
        "list",
        "list accounts with their role, number of ssh keys and grants",
        (y2) => y2.option("json", { type: "boolean", default: false, describe: "print JSON" }),
        async (args) => {
          const rows = await withStore(args, async (store) => {
            const [accounts, keys, grants] = await Promise.all([store.listAccounts(), store.listAccountKeys(), store.listGrants()]);
            return accounts.map((account) => ({
              name: account.name,
              role: account.role,
              keys: keys.filter((k) => k.account === account.name).length,
              grants: grants.filter((g) => g.account === account.name).map((g) => ({ path: "/" + g.path, role: g.role })),
            }));
          });
          if (args.json) {
            console.log(JSON.stringify(rows, null, 2));
            return;
          }
          if (rows.length === 0) console.log("no accounts (the server serves everyone anonymously)");
          for (const row of rows) {
            const grants = row.grants.map((g) => `${g.path}=${g.role}`).join(" ");
            console.log(`${row.name}\t${row.role}\t${row.keys} key${row.keys === 1 ? "" : "s"}${grants ? "\t" + grants : ""}`);
          }
        },
      )
      .command("key", "manage an account's ssh public keys", userKeyCommands)
      .demandCommand(1, "name a user subcommand"),
  );
}

async function requireAccount(store: { getAccount(name: string): Promise<unknown> }, name: string): Promise<void> {
  if (!(await store.getAccount(name))) throw new Error(`no account ${name}`);
}
