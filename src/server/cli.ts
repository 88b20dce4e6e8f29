/**
 * `zsync-server`: serve a repository, manage its accounts.
 */
import { resolve, join } from "node:path";
import yargs from "yargs";
import { hashPassword } from "./auth.js";
import { seedDemo } from "./demo.js";
import { serve } from "./serve.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/types.js";
import { VERSION } from "./version.js";

interface StoreArgs {
  dataDir: string;
  store?: string;
}

function storeSpec(args: StoreArgs): string {
  return args.store ?? `sqlite:${join(resolve(args.dataDir), "repository.sqlite")}`;
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (!fromStdin && process.stdin.isTTY) {
    const { password } = await import("@inquirer/prompts");
    return password({ message: "Password:", mask: "*" });
  }
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const line = text.split(/\r?\n/)[0];
  if (!line) throw new Error("no password on standard input");
  return line;
}

async function withStore<T>(args: StoreArgs, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(storeSpec(args));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Runs the server command line. */
export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName("zsync-server")
    // Only these variables, read explicitly: yargs' .env("ZSYNC") turned every ZSYNC_* variable
    // (the client's ZSYNC_PASSWORD too) into an unknown option that strict mode refused.
    .option("data-dir", { type: "string", default: process.env.ZSYNC_DATA_DIR ?? "zsync-data", describe: "data directory (store, upload staging, keys); env ZSYNC_DATA_DIR" })
    .option("store", { type: "string", describe: "store: sqlite:PATH (default: sqlite:DATA_DIR/repository.sqlite)" })
    .command(
      "serve",
      "serve the repository over HTTP",
      (y) =>
        y
          .option("host", { type: "string", default: process.env.ZSYNC_HOST ?? "127.0.0.1", describe: "address to listen on; env ZSYNC_HOST" })
          .option("port", { type: "number", default: Number(process.env.ZSYNC_PORT ?? 8080), describe: "port (0: any free port); env ZSYNC_PORT" })
          .option("demo", { type: "boolean", default: false, describe: "create the demo account and /demo content if missing" })
          .option("max-body-bytes", { type: "number", describe: "largest request body accepted" })
          .option("quiet", { type: "boolean", default: false, describe: "no request log" }),
      async (args) => {
        const store = await openStore(storeSpec(args));
        if (args.demo) for (const line of await seedDemo(store)) console.log(line);
        if ((await store.countAccounts()) === 0) {
          console.error("warning: no accounts configured, so every request is anonymous; add one with `zsync-server user add NAME`");
        }
        const running = await serve({
          store,
          dataDir: resolve(args.dataDir),
          host: args.host,
          port: args.port,
          limits: args.maxBodyBytes === undefined ? {} : { maxBodyBytes: args.maxBodyBytes },
          log: args.quiet ? undefined : (line) => console.error(line),
        });
        console.log(`zsync-server ${VERSION} listening on ${running.url}`);
        if (args.demo) {
          console.log(`
Try:
  curl -u zsync:zsync ${running.url}/demo/@@toFS.snarf
  zsync checkout ${running.url.replace("://", "://zsync@")}/demo work     (password: zsync)
Stop with Ctrl-C.`);
        }
        const stop = async () => {
          await running.close();
          await store.close();
          process.exit(0);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      },
    )
    .command("user", "manage accounts", (y) =>
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
        .demandCommand(1, "name a user subcommand"),
    )
    .demandCommand(1, "name a command, e.g. zsync-server serve")
    .strict()
    .version(VERSION)
    .help()
    .fail((message, error, y) => {
      if (error) {
        console.error(`zsync-server: ${error.message}`);
        process.exit(1);
      }
      y.showHelp();
      console.error(`\nzsync-server: ${message}`);
      process.exit(2);
    })
    .parseAsync();
}
