/** `zsync login [URL] [-u USER] [--label TEXT]`: exchange a password for a stored login token. */
import { hostname } from "node:os";
import { resolvePassword } from "../../transport/credentials.js";
import { findLogin, loginOrigin, saveLogin } from "../../transport/token-store.js";
import { WcError } from "../../wc/admin.js";
import { defineCommand } from "../command.js";
import { clientWithCredentials, PASSWORD_ATTEMPTS } from "../connect.js";
import { ProtocolError } from "../../transport/http/client.js";
import { loginTarget } from "../login-target.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  url?: string;
  label?: string;
  passwordStdin: boolean;
}

/** The password piped in (`--password-stdin`, docker's convention): all of stdin, one trailing newline dropped. */
async function readStdinPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  if (password === "") throw new WcError("empty-password", "--password-stdin read no password from stdin (pipe it in: echo \"$PW\" | zsync login URL -u USER --password-stdin)", 2);
  return password;
}

export const loginCommand = defineCommand<Args>({
  command: "login [url]",
  describe: "log in to a server: exchange a password for a revocable token kept in ~/.config/zsync/credentials",
  builder: (y) =>
    y
      .positional("url", { type: "string", describe: "http(s):// or zsync+ssh://[user@]host[:port] (default: the current checkout's server and user)" })
      .alias("u", "username")
      .option("password-stdin", { type: "boolean", default: false, describe: "read the password from stdin (keeps it out of ps and shell history)" })
      .option("label", { type: "string", describe: "a note on the token, shown by zsync-server token list (default: zsync on HOSTNAME)" }),
  handler: async (args) => {
    const out = createOutput(args);
    const target = await loginTarget(args.url, args);
    const origin = loginOrigin(target.origin);
    const user = target.user ?? (await findLogin(target.origin))?.user;
    if (user === undefined) throw new WcError("no-user", `name the user: zsync login ${origin} -u USER`, 2);
    let password: string | undefined;
    try {
      if (args.passwordStdin && (target.urlPassword !== undefined || args.password !== undefined)) {
        throw new WcError("two-passwords", "give the password one way: --password-stdin, --password, or in the URL", 2);
      }
      password = args.passwordStdin ? await readStdinPassword() : target.urlPassword ?? (await resolvePassword({ user, password: args.password, interactive: !args.nonInteractive, server: origin }));
    } catch (error) {
      if ((error as WcError).code !== "no-password") throw error;
      throw new WcError("no-password", `a password for ${user} is needed to log in: pass --password, set ZSYNC_PASSWORD, or run on a terminal to be asked`);
    }
    // A password typed at the prompt is asked again when refused, up to PASSWORD_ATTEMPTS times in all.
    const prompted = !args.passwordStdin && target.urlPassword === undefined && args.password === undefined && process.env.ZSYNC_PASSWORD === undefined;
    let created;
    for (let attempt = 1; ; attempt++) {
      try {
        created = await (await clientWithCredentials(target.origin, { user, password, args })).createToken({ label: args.label ?? `zsync on ${hostname()}` });
        break;
      } catch (error) {
        if (!prompted || !(error instanceof ProtocolError && error.status === 401) || attempt >= PASSWORD_ATTEMPTS) throw error;
        out.warn(`the server refused the password for ${user} at ${origin}; try again (${PASSWORD_ATTEMPTS - attempt} more ${PASSWORD_ATTEMPTS - attempt === 1 ? "try" : "tries"})`);
        password = await resolvePassword({ user, interactive: true, server: origin });
      }
    }
    const replaced = await findLogin(target.origin, user);
    const file = await saveLogin({ origin, user, token: created.token, id: created.id, expiresAt: created.expiresAt, createdAt: new Date().toISOString() });
    // The login this one replaces would otherwise stay valid on the server until it expires.
    if (replaced) await (await clientWithCredentials(target.origin, { token: replaced.token, args })).revokeCurrentToken().catch(() => {});
    out.result({ origin, user, id: created.id, expiresAt: created.expiresAt, credentialsFile: file });
    out.line(`Logged in to ${origin} as ${user} (token ${created.id}${created.expiresAt ? `, expires ${created.expiresAt}` : ""}); stored in ${file}.`);
  },
});
