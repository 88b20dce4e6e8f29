/** add, mkdir, remove, revert, copy, cleanup, info. */
import type { CommandModule } from "yargs";
import { addCommand } from "./add.js";
import { cleanupCommand } from "./cleanup.js";
import { configCommand } from "./config.js";
import { copyCommand } from "./copy.js";
import { infoCommand } from "./info.js";
import { mkdirCommand } from "./mkdir.js";
import { removeCommand } from "./remove.js";
import { resolveCommand } from "./resolve.js";
import { revertCommand } from "./revert.js";

export const TREE_COMMANDS: CommandModule[] = [addCommand, mkdirCommand, removeCommand, copyCommand, revertCommand, resolveCommand, cleanupCommand, infoCommand, configCommand];
