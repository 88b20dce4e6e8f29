/** add, mkdir, remove, copy, move, revert, resolve, cleanup, info. */
import type { CommandModule } from "yargs";
import { addCommand } from "./add.js";
import { cleanupCommand } from "./cleanup.js";
import { configCommand } from "./config.js";
import { copyCommand } from "./copy.js";
import { infoCommand } from "./info.js";
import { mkdirCommand } from "./mkdir.js";
import { moveCommand } from "./move.js";
import { removeCommand } from "./remove.js";
import { resolveCommand } from "./resolve.js";
import { revertCommand } from "./revert.js";

export const TREE_COMMANDS: CommandModule[] = [addCommand, mkdirCommand, removeCommand, copyCommand, moveCommand, revertCommand, resolveCommand, cleanupCommand, infoCommand, configCommand];
