/** diff, log, checkin/import. */
import type { CommandModule } from "yargs";
import { diffCommand } from "./diff.js";
import { importCommand } from "./import.js";
import { logCommand } from "./log.js";
import { mergeCommand } from "./merge.js";

export const HISTORY_COMMANDS: CommandModule[] = [diffCommand, logCommand, importCommand, mergeCommand];
