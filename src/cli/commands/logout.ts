/** `zsync logout [URL] [-u USER]`: revoke the stored login token on the server and forget it. */
import { ProtocolError } from "../../transport/http/client.js";
import { credentialsFile, findLogin, loginOrigin, removeLogin } from "../../transport/token-store.js";
import { WcError } from "../../wc/admin.js";
import { defineCommand } from "../command.js";
import { clientWithCredentials } from "../connect.js";
import { loginTarget } from "../login-target.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  url?: string;
}

export const logoutCommand = defineCommand<Args>({
  command: "logout [url]",
  describe: "log out of a server: revoke the stored token there and delete it here",
  builder: (y) =>
    y
      .positional("url", { type: "string", describe: "http(s):// or zsync+ssh://[user@]host[:port] (default: the current checkout's server and user)" })
      .alias("u", "username"),
  handler: async (args) => {
    const out = createOutput(args);
    const target = await loginTarget(args.url, args);
    const origin = loginOrigin(target.origin);
    const login = await findLogin(target.origin, target.user);
    if (!login) throw new WcError("not-logged-in", `no stored login to ${origin}${target.user ? ` as ${target.user}` : ""} in ${credentialsFile()}`);
    let revokeError: Error | undefined;
    let alreadyInvalid = false;
    try {
      await (await clientWithCredentials(target.origin, { token: login.token, args })).revokeCurrentToken();
    } catch (error) {
      if (error instanceof ProtocolError && error.status === 401) alreadyInvalid = true;
      else revokeError = error as Error;
    }
    await removeLogin(origin, login.user);
    if (revokeError) {
      throw new WcError(
        "revoke-failed",
        `deleted the login to ${origin} (${login.user}) here, but the token could not be revoked on the server (${revokeError.message}); ` +
          `it stays valid until ${login.expiresAt ?? "revoked"} unless the server's administrator runs \`zsync-server token revoke ${login.id}\``,
      );
    }
    out.result({ origin, user: login.user, id: login.id, revoked: !alreadyInvalid, alreadyInvalid });
    out.line(alreadyInvalid ? `Logged out of ${origin} (${login.user}); the token had already expired or been revoked.` : `Logged out of ${origin} (${login.user}); token ${login.id} revoked.`);
  },
});
