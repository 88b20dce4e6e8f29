/** `zsync-server serve`: serve the repository over HTTP. */
import { resolve } from "node:path";
import { seedDemo } from "../demo.js";
import { serve } from "../serve.js";
import { DEFAULT_FAILURE_LIMITS } from "../rate-limit.js";
import { openStore } from "../store/open.js";
import { DEFAULT_TOKEN_TTL_DAYS } from "../tokens.js";
import { VERSION } from "../version.js";
import { storeSpec, type ServerArgv } from "./common.js";
import { readTlsFiles } from "./tls-files.js";

/** Registers the command. */
export function serveCommand(y: ServerArgv): ServerArgv {
  return y.command(
    "serve",
    "serve the repository over HTTP",
    (y) =>
      y
        .option("host", { type: "string", default: process.env.ZSYNC_HOST ?? "127.0.0.1", describe: "address to listen on; env ZSYNC_HOST" })
        .option("port", { type: "number", default: Number(process.env.ZSYNC_PORT ?? 8080), describe: "port (0: any free port); env ZSYNC_PORT" })
        .option("demo", { type: "boolean", default: false, describe: "create the demo account and /demo content if missing" })
        .option("max-body-bytes", { type: "number", describe: "largest request body accepted" })
        .option("tls-cert", { type: "string", describe: "serve HTTPS with this certificate chain (PEM file); needs --tls-key" })
        .option("tls-key", { type: "string", describe: "private key (PEM file) of --tls-cert" })
        .option("quiet", { type: "boolean", default: false, describe: "no request log" })
        .option("token-ttl-days", { type: "number", default: DEFAULT_TOKEN_TTL_DAYS, describe: "lifetime of login tokens in days (fractions allowed: 0.0001 ≈ 9 s, for tests)" })
        .option("max-login-failures", { type: "number", default: DEFAULT_FAILURE_LIMITS.perUser, describe: "failed logins per minute of one address and user before a cool-down (per address: 3×)" })
        .option("login-cool-down", { type: "number", default: DEFAULT_FAILURE_LIMITS.coolDownMs / 1000, describe: "seconds failed logins are refused (429) once over the limit" }),
    async (args) => {
      if (!(args.tokenTtlDays > 0)) throw new Error("--token-ttl-days must be a positive number");
      if (!Number.isInteger(args.maxLoginFailures) || args.maxLoginFailures < 1) throw new Error("--max-login-failures must be a positive integer");
      if (!(args.loginCoolDown > 0)) throw new Error("--login-cool-down must be a positive number of seconds");
      // Read before opening the store: a bad certificate must not leave anything half started.
      const tls = await readTlsFiles(args.tlsCert, args.tlsKey);
      const store = await openStore(storeSpec(args));
      if (args.demo) for (const line of await seedDemo(store)) console.log(line);
      if ((await store.countAccounts()) === 0) {
        console.error("warning: no accounts configured, so every request is anonymous; add one with `zsync-server user add NAME`");
      }
      const running = await serve({
        store,
        dataDir: resolve(args.dataDir),
        host: args.host,
        port: args.port,
        limits: args.maxBodyBytes === undefined ? {} : { maxBodyBytes: args.maxBodyBytes },
        ...(tls ? { tls } : {}),
        log: args.quiet ? undefined : (line) => console.error(line),
        tokenTtlMs: args.tokenTtlDays * 86_400_000,
        failureLimits: { perUser: args.maxLoginFailures, perAddress: 3 * args.maxLoginFailures, coolDownMs: args.loginCoolDown * 1000 },
      });
      console.log(`zsync-server ${VERSION} listening on ${running.url}`);
      if (args.demo) {
        console.log(`
Try:
  curl -u zsync:zsync ${running.url}/demo/@@toFS.snarf
  zsync checkout ${running.url.replace("://", "://zsync@")}/demo work     (password: zsync)
Stop with Ctrl-C.`);
      }
      const stop = async () => {
        await running.close();
        await store.close();
        process.exit(0);
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    },
  );
}
