/**
 * `zsync-server user key add|remove|list`: the ssh public keys that authenticate an account on
 * the ssh endpoint (its owner becomes the principal of every request on the connection).
 */
import { readFile } from "node:fs/promises";
import { parseAuthorizedKeys } from "../ssh/authorized-keys.js";
import { withStore, type ServerArgv } from "./common.js";

/** Builds the `user key` subcommands (registered by `user.ts`). */
export function userKeyCommands(y: ServerArgv): ServerArgv {
  return y
    .command(
      "add <name> <pubkeyfile>",
      "authorize the ssh public keys in PUBKEYFILE (authorized_keys lines; - for stdin) for an account",
      (y2) => y2.positional("name", { type: "string", demandOption: true }).positional("pubkeyfile", { type: "string", demandOption: true }),
      async (args) => {
        const source = args.pubkeyfile === "-" ? "standard input" : args.pubkeyfile;
        let text: string;
        try {
          text = args.pubkeyfile === "-" ? await readStdin() : await readFile(args.pubkeyfile, "utf8");
        } catch (error) {
          throw new Error(`cannot read ${source}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message}`);
        }
        // Everything is checked before anything is stored: a bad line leaves the account as it was.
        const keys = parseAuthorizedKeys(text, { source });
        await withStore(args, async (store) => {
          if (!(await store.getAccount(args.name))) throw new Error(`no account ${JSON.stringify(args.name)}; add it with \`zsync-server user add ${args.name}\``);
          const existing = new Set((await store.listAccountKeys(args.name)).map((key) => key.fingerprint));
          const seen = new Set<string>();
          for (const key of keys) {
            if (existing.has(key.fingerprint) || seen.has(key.fingerprint)) throw new Error(`${args.name} has key ${key.fingerprint} already`);
            seen.add(key.fingerprint);
          }
          for (const key of keys) {
            await store.addAccountKey({ account: args.name, ...key });
            console.log(`added ${key.type} key ${key.fingerprint}${key.comment ? ` (${key.comment})` : ""} to ${args.name}`);
          }
        });
      },
    )
    .command(
      "remove <name> <fingerprint>",
      "withdraw an account's ssh key (fingerprint as `user key list` shows it)",
      (y2) => y2.positional("name", { type: "string", demandOption: true }).positional("fingerprint", { type: "string", demandOption: true }),
      async (args) => {
        await withStore(args, async (store) => {
          if (!(await store.getAccount(args.name))) throw new Error(`no account ${JSON.stringify(args.name)}`);
          if (!(await store.removeAccountKey(args.name, args.fingerprint))) {
            throw new Error(`${args.name} has no key ${args.fingerprint}; see \`zsync-server user key list ${args.name}\``);
          }
        });
        console.log(`removed key ${args.fingerprint} from ${args.name}`);
      },
    )
    .command(
      "list [name]",
      "list ssh keys (one account's, or all): ACCOUNT FINGERPRINT TYPE COMMENT",
      (y2) => y2.positional("name", { type: "string" }),
      async (args) => {
        await withStore(args, async (store) => {
          if (args.name !== undefined && !(await store.getAccount(args.name))) throw new Error(`no account ${JSON.stringify(args.name)}`);
          for (const key of await store.listAccountKeys(args.name)) {
            console.log([key.account, key.fingerprint, key.type, key.comment].join(" ").trimEnd());
          }
        });
      },
    )
    .demandCommand(1, "name a user key subcommand: add, remove or list");
}

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text;
}
