/** `zsync config policy [PREFIX [POLICY]] [--unset]` */
import { CONFLICT_POLICIES, type ConflictPolicy } from "../../merge/content-kinds.js";
import { WcError } from "../../wc/admin.js";
import { policyKey, setPolicy } from "../../wc/config-policy.js";
import { toCheckoutPaths, withWorkingCopy } from "../../wc/session.js";
import { defineCommand } from "../command.js";
import { createOutput, type GlobalArgs } from "../output.js";

interface Args extends GlobalArgs {
  prefix?: string;
  policy?: ConflictPolicy;
  unset: boolean;
}

const policyCommand = defineCommand<Args>({
  command: "policy [prefix] [policy]",
  describe: "show or set the conflict policy (merge, mine, theirs, newest, error) of a folder or file of this checkout",
  builder: (y) =>
    y
      .positional("prefix", { type: "string", describe: "checkout path the policy applies to (and everything under it); . for all" })
      .positional("policy", { type: "string", choices: CONFLICT_POLICIES })
      .option("unset", { type: "boolean", default: false, describe: "remove the policy of PREFIX" }),
  handler: async (args) => {
    const out = createOutput(args);
    const changing = args.policy !== undefined || args.unset;
    if (changing && args.prefix === undefined) throw new WcError("usage", "name the path prefix whose policy to change", 2);
    if (args.policy !== undefined && args.unset) throw new WcError("usage", "give a policy or --unset, not both", 2);
    await withWorkingCopy(".", { lock: changing ? "config" : undefined }, async (wc) => {
      const prefix = args.prefix === undefined ? undefined : policyKey(toCheckoutPaths(wc.root, [args.prefix])[0]!);
      const policies = changing ? await setPolicy(wc, { prefix: prefix!, policy: args.policy, unset: args.unset }) : (wc.config.policies ?? {});
      const shown = Object.entries(policies).filter(([key]) => prefix === undefined || changing || key === prefix);
      out.result({ policies: Object.fromEntries(shown) });
      for (const [key, policy] of shown) out.line(`${key === "" ? "." : key + "/"}  ${policy}`);
    });
  },
});

export const configCommand = defineCommand<GlobalArgs>({
  command: "config <setting>",
  describe: "checkout settings kept in .zsync/config.json (policy: conflict policies by path)",
  builder: (y) => y.command(policyCommand).demandCommand(1, "name a setting: policy"),
  handler: async () => {},
});
