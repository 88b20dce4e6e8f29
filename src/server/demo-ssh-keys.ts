/**
 * Demo mode only: authorizes the running user's own ssh public keys (~/.ssh/id_ed25519.pub,
 * id_ecdsa.pub, id_rsa.pub) for the demo account, so the printed `zsync+ssh://` checkout works.
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseAuthorizedKeys } from "./ssh/authorized-keys.js";
import type { Store } from "./store/types.js";

const DEMO_KEY_FILES = ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"];

/** Adds the keys found to `account` (once); returns lines saying what it did or how to make a key. */
export async function authorizeDemoKeys(store: Store, account: string, options: { home?: string } = {}): Promise<string[]> {
  const sshDir = join(options.home ?? homedir(), ".ssh");
  const known = new Set((await store.listAccountKeys(account)).map((key) => key.fingerprint));
  const lines: string[] = [];
  let found = 0;
  for (const name of DEMO_KEY_FILES) {
    const file = join(sshDir, name);
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch {
      continue;
    }
    try {
      for (const key of parseAuthorizedKeys(text, { source: file })) {
        found++;
        if (known.has(key.fingerprint)) continue;
        await store.addAccountKey({ account, ...key });
        known.add(key.fingerprint);
        lines.push(`authorized ${file} (${key.fingerprint}) for the demo account ${account}`);
      }
    } catch (error) {
      lines.push(`skipped ${file}: ${(error as Error).message}`);
    }
  }
  if (found === 0) {
    lines.push(`no ssh key found in ${sshDir}; to use ssh, make one with \`ssh-keygen -t ed25519\` and restart the demo`);
  }
  return lines;
}
