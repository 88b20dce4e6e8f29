/** `zsync-server token list|revoke`: see and revoke login tokens (never their secrets). */
import type { TokenRecord } from "../store/types.js";
import { withStore, type ServerArgv } from "./common.js";

/** The public fields of a token: everything but its hash. */
function publicToken(t: TokenRecord): Omit<TokenRecord, "secretHash"> {
  return { id: t.id, account: t.account, label: t.label, createdAt: t.createdAt, expiresAt: t.expiresAt, revoked: t.revoked };
}

function state(t: TokenRecord, now: number): string {
  if (t.revoked) return "revoked";
  if (t.expiresAt !== null && Date.parse(t.expiresAt) <= now) return "expired";
  return "active";
}

/** Registers the command and its subcommands. */
export function tokenCommand(y: ServerArgv): ServerArgv {
  return y.command("token", "list and revoke login tokens", (y) =>
    y
      .command(
        "list [name]",
        "list the tokens of one account, or of all (never their secrets)",
        (y2) => y2.positional("name", { type: "string", describe: "account name" }).option("json", { type: "boolean", default: false, describe: "print JSON" }),
        async (args) => {
          const tokens = await withStore(args, (store) => store.listTokens(args.name));
          const now = Date.now();
          if (args.json) {
            console.log(JSON.stringify({ tokens: tokens.map((t) => ({ ...publicToken(t), state: state(t, now) })) }, null, 2));
            return;
          }
          if (tokens.length === 0) {
            console.log(args.name ? `no tokens for ${args.name}` : "no tokens");
            return;
          }
          console.log(["ID", "ACCOUNT", "STATE", "CREATED", "EXPIRES", "LABEL"].join("\t"));
          for (const t of tokens) console.log([t.id, t.account, state(t, now), t.createdAt, t.expiresAt ?? "never", t.label].join("\t"));
        },
      )
      .command(
        "revoke <id>",
        "revoke a token: it stops working at once, on a running server too",
        (y2) => y2.positional("id", { type: "string", demandOption: true }),
        async (args) => {
          const revoked = await withStore(args, (store) => store.revokeToken(args.id));
          if (!revoked) throw new Error(`no token with id ${args.id}; see zsync-server token list`);
          console.log(`revoked token ${args.id}`);
        },
      )
      .demandCommand(1, "name a token subcommand: list or revoke"),
  );
}
