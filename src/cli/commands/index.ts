/** Every command module, in the order `zsync --help` lists them. */
import type { CommandModule } from "yargs";
import { AUTH_COMMANDS } from "./auth.js";
import { CORE_COMMANDS } from "./core.js";
import { HISTORY_COMMANDS } from "./history.js";
import { TREE_COMMANDS } from "./tree.js";
import { contactsCommand } from "./contacts.js";
import { notesCommand } from "./notes.js";

export const COMMANDS: CommandModule[] = [...CORE_COMMANDS, ...TREE_COMMANDS, ...HISTORY_COMMANDS, ...AUTH_COMMANDS, notesCommand, contactsCommand];
