/**
 * The `zsync` command line: global options, the command modules, errors and exit codes
 * (0 success, 1 runtime error or unresolved conflicts, 2 usage error).
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { WcError } from "../wc/admin.js";
import { ProtocolError } from "../transport/http/client.js";
import { COMMANDS } from "./commands/index.js";
import { VERSION } from "../server/version.js";
import { endCommand, exitWhenWritten } from "../transport/command-end.js";
import { suggestVerb, usageError, verbTable, withExamples } from "./usage.js";

/** Prints a usage error (one line and a hint; `{"error": …}` with --json) and exits 2. */
function failUsage(message: string, argv: string[]): never {
  const { message: what, hint } = usageError(message, { argv, verbs: verbTable(COMMANDS), commands: COMMANDS });
  if (argv.includes("--json")) process.stdout.write(JSON.stringify({ error: { code: "usage", message: what, hint } }, null, 2) + "\n");
  process.stderr.write(`zsync: ${what}\n${hint}\n`);
  process.exit(2);
}

/** Exit code for a failure, and the message for it. */
export function describeFailure(error: unknown): { code: number; message: string } {
  if (error instanceof WcError) return { code: error.exitCode, message: error.message };
  if (error instanceof ProtocolError) {
    if (error.status === 401) return { code: 1, message: `the server refused the credentials (${error.message}); check the user name and password, or run \`zsync login\`` };
    if (error.status === 403) return { code: 1, message: `permission denied: ${error.message}` };
    if (error.status === 507) return { code: 1, message: "the server is out of disk space; nothing was committed (ask its administrator to free some)" };
    return { code: 1, message: error.message };
  }
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code === "string" && (e.code.startsWith("UND_ERR_") || ["ECONNRESET", "EPIPE", "ETIMEDOUT"].includes(e.code))) {
    return { code: 1, message: `the connection to the server broke off mid-transfer (${e.message}); run the command again` };
  }
  if (e?.code === "ENOSPC" || e?.code === "EDQUOT") {
    const where = e.path ? `while writing ${e.path}` : "(no space left on the device)";
    return { code: 1, message: `disk full ${where}: nothing was lost; free some space and run the command again` };
  }
  return { code: 1, message: e?.message ?? String(error) };
}

/** Runs the client with `argv` (without node and script). */
export async function main(argv: string[]): Promise<void> {
  let parser = yargs(argv)
    .scriptName("zsync")
    .usage("zsync COMMAND [options]\n\nEdit server content as local files (svn-like).")
    .option("json", { type: "boolean", default: false, global: true, describe: "print one JSON document (stable, documented in docs/CLI.md)" })
    .option("quiet", { alias: "q", type: "boolean", default: false, global: true, describe: "print less" })
    .option("color", { type: "boolean", default: true, global: true, describe: "colour output on a terminal (--no-color)" })
    .option("non-interactive", { type: "boolean", default: false, global: true, describe: "never prompt" })
    .option("username", { alias: "user", type: "string", global: true, describe: "user name on the server" })
    .option("password", { type: "string", global: true, describe: "password (or ZSYNC_PASSWORD); never stored, but exchanged for a stored login token" })
    .option("auth-cache", { type: "boolean", default: true, global: true, describe: "after a password works, store a login token in ~/.config/zsync/credentials (--no-auth-cache: don't)" })
    .option("identity", { alias: "i", type: "string", global: true, describe: "ssh private key file for zsync+ssh:// URLs" })
    .option("known-hosts", { type: "string", global: true, describe: "ssh known_hosts file to use (or ZSYNC_KNOWN_HOSTS)" })
    .option("accept-new-host-key", { type: "boolean", default: process.env.ZSYNC_SSH_ACCEPT_NEW === "1", global: true, describe: "trust and store an unknown ssh host key (or ZSYNC_SSH_ACCEPT_NEW=1); a changed key is still refused" })
    .option("ca", { type: "string", global: true, describe: "CA certificate (PEM) to trust for https:// servers (or ZSYNC_CA)" });
  for (const command of COMMANDS) parser = parser.command(withExamples(command));
  parser = parser
    .command("help [cmd]", "show help for a command", (y) => y.positional("cmd", { type: "string" }), async (args) => {
      if (!args.cmd) {
        parser.showHelp("log");
        return;
      }
      const verbs = verbTable(COMMANDS);
      const name = verbs.get(String(args.cmd));
      if (name === undefined || name === "help") {
        const guess = suggestVerb(String(args.cmd), verbs);
        failUsage(`no command '${args.cmd}'${guess ? `; did you mean '${guess}'?` : ""}`, ["help", ...(args.json ? ["--json"] : [])]);
      }
      await main([name, "--help"]);
    })
    .demandCommand(1, "name a command")
    .strict()
    .version(VERSION)
    .alias("h", "help")
    .help()
    .wrap(Math.min(100, process.stdout.columns ?? 100))
    .fail((message, error) => {
      if (error) throw error;
      failUsage(message, argv);
    });
  skipHelpCache(parser);
  await parser.parseAsync();
}

/**
 * yargs renders the invoked command's whole help after its handler starts, in case the handler
 * shows help later (~30 ms of every command, mostly string width). No handler of ours does after
 * its first await, so that rendering is skipped; `--help` and `zsync help` render as before.
 */
function skipHelpCache(parser: object): void {
  const internals = parser as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };
  const usage = internals.getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === "function") usage.cacheHelpMessage = () => {};
}

// `zsync status | head`: a reader that stops early is not an error (git and svn exit quietly too).
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

main(hideBin(process.argv))
  .finally(endCommand)
  .then(
  () => {
    if (process.exitCode === undefined) process.exitCode = 0;
  },
  (error: unknown) => {
    const { code, message } = describeFailure(error);
    if (process.argv.includes("--json")) {
      const { code: kind, paths } = error as { code?: string; paths?: string[] };
      process.stdout.write(JSON.stringify({ error: { code: kind ?? "error", message, ...(paths ? { paths } : {}) } }, null, 2) + "\n");
    }
    process.stderr.write(`zsync: ${message}\n`);
    process.exitCode = code;
  },
).then(exitWhenWritten);
