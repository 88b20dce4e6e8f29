/**
 * `zsync-server --stdio`: one HTTP/1.1 connection on stdin/stdout, for stock OpenSSH
 * (`Subsystem zsync /usr/bin/zsync-server --stdio …` in sshd_config). sshd has authenticated the
 * unix user already; requests act as the account of that name (or `--as`).
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { Duplex } from "node:stream";
import type { Principal } from "./auth.js";
import { createChannelServer } from "./channel-server.js";
import { createApp } from "./http/app.js";
import { DEFAULT_LIMITS } from "./http/context.js";
import { HttpError, sendError } from "./http/errors.js";
import type { Store } from "./store/types.js";
import { attachPrincipal } from "./transport-principal.js";
import { VERSION } from "./version.js";

export interface StdioOptions {
  store: Store;
  dataDir: string;
  /** The account requests act as (sshd's user name, or `--as`). */
  account?: string;
  log?: (line: string) => void;
  input?: NodeJS.ReadableStream;
  /** Heartbeat interval of `@@events` streams (default 15 s). */
  heartbeatMs?: number;
  output?: NodeJS.WritableStream;
}

/** Serves until the connection ends (the client's EOF, `Connection: close`, or an error). */
export async function serveStdio(options: StdioOptions): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  // Several of these processes (one per ssh session) may share the data directory: each stages
  // its uploads in a directory of its own and never clears anyone else's.
  await mkdir(join(options.dataDir, "tmp"), { recursive: true });
  const tempDir = await mkdtemp(join(options.dataDir, "tmp", "stdio-"));
  try {
    const principal = await principalOf(options.store, options.account);
    // Its own revision notifier (createApp's default) on the store's commit feed: commits come from other processes.
    const app = createApp({ store: options.store, limits: DEFAULT_LIMITS, tempDir, version: VERSION, log: options.log, heartbeatMs: options.heartbeatMs });
    const handler = principal === "no-account" ? refuseAll(options.account) : app;
    const channels = createChannelServer(handler);
    const socket = stdioSocket(input, output);
    if (principal && principal !== "no-account") attachPrincipal(socket, principal);
    const done = new Promise<void>((resolve) => {
      socket.once("finish", resolve);
      socket.once("close", resolve);
      output.once("error", resolve);
    });
    channels.adopt(socket, { remoteAddress: "stdio" });
    await done;
    // The response's own 'finish' handlers (the request log line) run after the socket's.
    await new Promise((resolve) => setImmediate(resolve));
    await channels.close();
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

/** The account's principal; undefined when the server has no accounts (anonymous, as over HTTP). */
async function principalOf(store: Store, account: string | undefined): Promise<Principal | "no-account" | undefined> {
  if ((await store.countAccounts()) === 0) return undefined;
  const found = account === undefined ? undefined : await store.getAccount(account);
  return found ? { name: found.name, role: found.role } : "no-account";
}

/** The handler when the ssh user has no account: every request is told so. */
function refuseAll(account: string | undefined): (req: IncomingMessage, res: ServerResponse) => void {
  const message =
    account === undefined
      ? "no user name: zsync-server --stdio needs --as NAME or the USER variable"
      : `the ssh user ${JSON.stringify(account)} has no zsync account; add one with \`zsync-server user add ${account}\` or map it with --as`;
  return (req, res) => {
    // Read the request to its end first, so the next one on the connection is parsed cleanly.
    req.resume();
    req.once("end", () => sendError(res, new HttpError(401, "unauthorized", message)));
  };
}

/** stdin and stdout as one duplex stream, as node:http wants its socket. */
function stdioSocket(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Duplex {
  const socket = new Duplex({
    read() {
      input.resume();
    },
    write(chunk, _encoding, callback) {
      output.write(chunk, callback);
    },
    final(callback) {
      // stdout stays open (it belongs to the process); the caller exits once this is done.
      output.write("", () => callback());
    },
  });
  input.on("data", (chunk) => {
    if (!socket.push(chunk)) input.pause();
  });
  input.once("end", () => socket.push(null));
  input.once("error", (error) => socket.destroy(error as Error));
  output.on("error", () => socket.destroy());
  return socket;
}
