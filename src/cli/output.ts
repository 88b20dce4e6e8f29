/**
 * What commands print: plain lines for people, one JSON document for scripts (`--json`),
 * colour only on a TTY and never with `--no-color`.
 */
import pc from "picocolors";

/** Global options every command accepts. */
export interface GlobalArgs {
  json: boolean;
  quiet: boolean;
  color: boolean;
  nonInteractive: boolean;
  username?: string;
  password?: string;
  /** false with --no-auth-cache: never store a login token for a password. */
  authCache?: boolean;
  /** ssh private key to offer first (zsync+ssh:// URLs). */
  identity?: string;
  /** known_hosts file to read and write instead of ~/.ssh/known_hosts + ~/.ssh/zsync_known_hosts. */
  knownHosts?: string;
  /** Trust and store an unknown ssh host key without asking. */
  acceptNewHostKey: boolean;
  /** CA certificate file (PEM) to trust for https:// servers, besides the system store. */
  ca?: string;
}

/** The output channel of one command run. */
export interface Output {
  json: boolean;
  /** Whether {@link line} prints (neither --json nor --quiet): callers skip building lines no one sees. */
  shows: boolean;
  /** A line for people (suppressed by --json and --quiet). */
  line(text: string): void;
  /** A warning on stderr (kept with --quiet and with --json, whose stdout stays one JSON document). */
  warn(text: string): void;
  /** The result document for --json (printed once, at the end). */
  result(value: unknown): void;
  paint: { red(s: string): string; green(s: string): string; yellow(s: string): string; bold(s: string): string; dim(s: string): string };
}

/** Builds the output channel from the global options. */
export function createOutput(args: GlobalArgs): Output {
  const colored = args.color && !args.json && process.stdout.isTTY === true && !("NO_COLOR" in process.env);
  const colors = pc.createColors(colored);
  return {
    json: args.json,
    shows: !args.json && !args.quiet,
    line(text) {
      if (!args.json && !args.quiet) process.stdout.write(text + "\n");
    },
    warn(text) {
      process.stderr.write(`zsync: ${text}\n`);
    },
    result(value) {
      if (args.json) process.stdout.write(JSON.stringify(value, null, 2) + "\n");
    },
    paint: { red: colors.red, green: colors.green, yellow: colors.yellow, bold: colors.bold, dim: colors.dim },
  };
}
