/**
 * The TLS side of connecting a command to an http(s) server: which CA file applies, the
 * verifying dispatcher, and the one-line warning for credentials in clear text.
 */
import { resolve } from "node:path";
import type { Dispatcher } from "undici";
import { cleartextCredentialsWarning, dispatcherFor } from "./tls.js";

/**
 * The CA file for a command, as an absolute path: `--ca`, else `ZSYNC_CA`, else the one the
 * checkout remembered (`.zsync/config.json` `ca`), else none.
 */
export function caFileFor(args: { ca?: string }, config?: { ca?: string }): string | undefined {
  const given = args.ca ?? (process.env.ZSYNC_CA || undefined);
  return given !== undefined ? resolve(given) : config?.ca;
}

/**
 * The client options for an origin: a certificate-verifying dispatcher for https://. Prints the
 * clear-text warning on stderr when credentials would go over plain http:// to another host.
 */
export async function httpOptions(origin: string, opts: { user?: string; caFile?: string }): Promise<{ dispatcher?: Dispatcher }> {
  const warning = cleartextCredentialsWarning(origin, opts.user !== undefined);
  if (warning) process.stderr.write(`zsync: ${warning}\n`);
  const dispatcher = await dispatcherFor(origin, { caFile: opts.caFile });
  return dispatcher ? { dispatcher } : {};
}
