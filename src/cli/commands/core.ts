/** checkout, status, update, commit, watch. */
import type { CommandModule } from "yargs";
import { checkoutCommand } from "./checkout.js";
import { commitCommand } from "./commit.js";
import { statusCommand } from "./status.js";
import { updateCommand } from "./update.js";
import { watchCommand } from "./watch.js";

export const CORE_COMMANDS: CommandModule[] = [checkoutCommand, statusCommand, updateCommand, commitCommand, watchCommand];
