/**
 * `zsync-server`: serve a repository (`serve`, or `--stdio` under sshd), manage its accounts.
 * Each command lives in `commands/`.
 */
import yargs from "yargs";
import { copyStoreCommand } from "./commands/copy-store.js";
import { gcCommand } from "./commands/gc.js";
import { grantCommand } from "./commands/grant.js";
import { mirrorGitCommand } from "./commands/mirror-git.js";
import { migrateCommand } from "./commands/migrate.js";
import { serveCommand } from "./commands/serve.js";
import { tokenCommand } from "./commands/token.js";
import { stdioCommand } from "./commands/stdio.js";
import { userCommand } from "./commands/user.js";
import { VERSION } from "./version.js";
import { defaultDataDir } from "./commands/common.js";

/** Runs the server command line. */
export async function main(argv: string[]): Promise<void> {
  let y = yargs(argv)
    .scriptName("zsync-server")
    // Only these variables, read explicitly: yargs' .env("ZSYNC") turned every ZSYNC_* variable
    // (the client's ZSYNC_PASSWORD too) into an unknown option that strict mode refused.
    .option("data-dir", { type: "string", default: defaultDataDir(), defaultDescription: "$XDG_DATA_HOME/zsync-server, else ~/.local/share/zsync-server", describe: "data directory (store, upload staging, ssh host key); env ZSYNC_DATA_DIR" })
    .option("store", { type: "string", default: process.env.ZSYNC_STORE, describe: "store: sqlite:PATH or postgres://USER:PASS@HOST:PORT/DB?schema=zsync&pool=10 (PG* variables fill in what the URL leaves out; default: sqlite:DATA_DIR/repository.sqlite); env ZSYNC_STORE" });
  y = serveCommand(y);
  y = userCommand(y);
  y = grantCommand(y);
  y = tokenCommand(y);
  y = mirrorGitCommand(y);
  y = migrateCommand(y);
  y = copyStoreCommand(y);
  y = gcCommand(y);
  // The default command: `--stdio`, or "name a command" (usage error) without it.
  y = stdioCommand(y);
  await y
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
