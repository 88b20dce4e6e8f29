/** Accounts for end-to-end tests, added with the real `zsync-server user add`. */
import { spawn } from "node:child_process";
import { SERVER_BIN } from "./server.js";

/** A password distinctive enough to grep for. */
export const PASSWORD = "Sesame-7f3a9c-open";

/** Adds an account with a password through `zsync-server user add --password-stdin`. */
export function addAccount(dataDir: string, name: string, password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_BIN, "--data-dir", dataDir, "user", "add", name, "--password-stdin"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`user add failed: ${stderr}`))));
    child.stdin.end(password + "\n");
  });
}
