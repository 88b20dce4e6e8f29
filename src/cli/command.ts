/** The shape of one CLI command module, without fighting yargs' inferred types. */
import type { Argv, CommandModule } from "yargs";
import type { GlobalArgs } from "./output.js";

/** A command: its yargs spec and a handler receiving the parsed arguments as `Args`. */
export interface CommandSpec<Args extends GlobalArgs> {
  command: string;
  aliases?: string[];
  describe: string;
  builder: (y: Argv) => Argv;
  handler: (args: Args) => Promise<void>;
}

/** Turns a command spec into a yargs command module. */
export function defineCommand<Args extends GlobalArgs>(spec: CommandSpec<Args>): CommandModule {
  return {
    command: spec.command,
    aliases: spec.aliases,
    describe: spec.describe,
    builder: spec.builder,
    handler: (argv) => spec.handler(argv as unknown as Args),
  };
}
