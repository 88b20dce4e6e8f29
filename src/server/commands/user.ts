/** `zsync-server user …`: manage accounts. */
import { hashPassword } from "../auth.js";
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
      .command("key", "manage an account's ssh public keys", userKeyCommands)
      .demandCommand(1, "name a user subcommand"),
  );
}
