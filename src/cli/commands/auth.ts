/** login, logout. */
import type { CommandModule } from "yargs";
import { loginCommand } from "./login.js";
import { logoutCommand } from "./logout.js";

export const AUTH_COMMANDS: CommandModule[] = [loginCommand, logoutCommand];
