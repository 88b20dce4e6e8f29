/** diff, log, cat, list, checkin/import. */
import type { CommandModule } from "yargs";
import { catCommand } from "./cat.js";
import { diffCommand } from "./diff.js";
import { listCommand } from "./list.js";
import { importCommand } from "./import.js";
import { logCommand } from "./log.js";
import { mergeCommand } from "./merge.js";

export const HISTORY_COMMANDS: CommandModule[] = [diffCommand, logCommand, catCommand, listCommand, importCommand, mergeCommand];
