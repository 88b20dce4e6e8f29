/** `zsync-server serve`: serve the repository over HTTP, and over ssh when `--ssh-port` is given. */
import { resolve } from "node:path";
import { seedDemo } from "../demo.js";
import { authorizeDemoKeys } from "../demo-ssh-keys.js";
import { serve } from "../serve.js";
import { DEFAULT_FAILURE_LIMITS } from "../rate-limit.js";
import { loadHostKey } from "../ssh/host-key.js";
import { openStore } from "../store/open.js";
import { DEFAULT_TOKEN_TTL_DAYS } from "../tokens.js";
import { VERSION } from "../version.js";
import { createTypeRegistry, loadTypeModule } from "../types/registry.js";
import { storeSpec, type ServerArgv } from "./common.js";
import { readTlsFiles } from "./tls-files.js";

/** Registers the command. */
export function serveCommand(y: ServerArgv): ServerArgv {
  return y.command(
    "serve",
    "serve the repository over HTTP (and ssh with --ssh-port)",
    (y) =>
      y
        .option("host", { type: "string", default: process.env.ZSYNC_HOST ?? "127.0.0.1", describe: "address to listen on; env ZSYNC_HOST" })
        .option("port", { type: "number", default: Number(process.env.ZSYNC_PORT ?? 8080), describe: "port (0: any free port); env ZSYNC_PORT" })
        .option("ssh-port", { type: "number", describe: "also serve the ssh subsystem `zsync` on this port (0: any free port)" })
        .option("ssh-host", { type: "string", describe: "address for ssh (default: --host)" })
        .option("ssh-host-key", { type: "string", describe: "ssh host private key file (default: DATA_DIR/ssh_host_ed25519_key, generated when absent)" })
        .option("ssh-password-auth", { type: "boolean", default: false, describe: "also accept account passwords over ssh (default: public keys only)" })
        .option("demo", { type: "boolean", default: false, describe: "create the demo account and /demo content if missing" })
        .option("max-body-bytes", { type: "number", describe: "largest request body accepted" })
        .option("max-changes", { type: "number", describe: "most changes in one commit (protocol commits, and files in one upload or objects in one move in /manage); default 1000000" })
        .option("tls-cert", { type: "string", describe: "serve HTTPS with this certificate chain (PEM file); needs --tls-key" })
        .option("tls-key", { type: "string", describe: "private key (PEM file) of --tls-cert" })
        .option("events-heartbeat", { type: "number", default: 15, describe: "seconds between heartbeat comments on @@events streams" })
        .option("type-module", { type: "string", array: true, describe: "load a content type from this ES module (repeatable; see docs/CONTENT-TYPES.md)" })
        .option("syncml-root", { type: "string", describe: "serve SyncML at POST /syncml; datastores are the folders contacts, calendar and notes under this path (with --demo: /demo)" })
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
      const plugins = [];
      for (const file of args.typeModule ?? []) {
        const type = await loadTypeModule(file);
        plugins.push(type);
        console.log(`content type ${type.name} (${type.mediaTypes.join(", ")}) loaded from ${file}`);
      }
      const types = createTypeRegistry({ plugins });
      const syncmlRoot = args.syncmlRoot ?? (args.demo ? "/demo" : undefined);
      if (syncmlRoot !== undefined && !syncmlRoot.startsWith("/")) throw new Error("--syncml-root must be an absolute repository path such as /demo");
      const dataDir = resolve(args.dataDir);
      const sshWanted = args.sshPort !== undefined;
      if (sshWanted && (!Number.isInteger(args.sshPort) || args.sshPort! < 0 || args.sshPort! > 65535)) {
        throw new Error("--ssh-port must be a port number (0-65535)");
      }
      const store = await openStore(storeSpec(args), {
        // The commit feed's status lines (a lost PostgreSQL LISTEN connection), --quiet or not.
        log: (line) => console.error(line),
        migrated: ({ from, to }) => {
          if (from !== 0 && from !== to) console.error(`migrated the store's schema from version ${from} to ${to}`);
        },
      });
      if (args.demo) for (const line of await seedDemo(store)) console.log(line);
      if (args.demo && sshWanted) for (const line of await authorizeDemoKeys(store, "zsync")) console.log(line);
      if ((await store.countAccounts()) === 0) {
        console.error("warning: no accounts configured, so every request is anonymous; add one with `zsync-server user add NAME`");
      }
      const hostKey = sshWanted ? await loadHostKey(dataDir, { file: args.sshHostKey }) : undefined;
      if (args.maxChanges !== undefined && !(Number.isSafeInteger(args.maxChanges) && args.maxChanges > 0)) throw new Error("--max-changes must be a positive whole number");
      if (!(args.eventsHeartbeat > 0)) throw new Error("--events-heartbeat must be a positive number of seconds");
      const running = await serve({
        store,
        events: { heartbeatMs: args.eventsHeartbeat * 1000 },
        dataDir,
        host: args.host,
        port: args.port,
        limits: { ...(args.maxBodyBytes === undefined ? {} : { maxBodyBytes: args.maxBodyBytes }), ...(args.maxChanges === undefined ? {} : { maxChanges: args.maxChanges }) },
        ...(tls ? { tls } : {}),
        log: args.quiet ? undefined : (line) => console.error(line),
        tokenTtlMs: args.tokenTtlDays * 86_400_000,
        failureLimits: { perUser: args.maxLoginFailures, perAddress: 3 * args.maxLoginFailures, coolDownMs: args.loginCoolDown * 1000 },
        types,
        ...(syncmlRoot === undefined ? {} : { syncml: { root: syncmlRoot } }),
        ssh: hostKey && { host: args.sshHost ?? args.host, port: args.sshPort!, hostKey, passwordAuth: args.sshPasswordAuth },
      });
      if (running.ssh && hostKey) {
        console.log(`ssh host key ${hostKey.fingerprint} (${hostKey.file}${hostKey.generated ? ", generated now" : ""})`);
        console.log(`ssh listening on ${running.ssh.url}${args.sshPasswordAuth ? " (public keys and passwords)" : " (public keys)"}`);
      }
      console.log(`zsync-server ${VERSION} listening on ${running.url}`);
      if (syncmlRoot !== undefined) console.log(`SyncML at ${running.url}/syncml (datastores contacts, calendar, notes under ${syncmlRoot})`);
      console.log(`manage in a browser: ${running.url}/manage${args.demo ? "     (log in as zsync, password zsync)" : ""}`);
      if (args.demo) {
        // Started by `npm run demo`: the client is `npx zsync` there; installed, it is `zsync`.
        const zsync = process.env.npm_lifecycle_event === "demo" ? "npx zsync" : "zsync";
        const sshTry = running.ssh ? `\n  ${zsync} checkout ${running.ssh.url.replace("://", "://zsync@")}/demo ~/zsync-work2     (your ssh key${args.sshPasswordAuth ? " or password: zsync" : ""})` : "";
        console.log(`
Try:
  open ${running.url}/manage and log in as zsync / zsync
  curl -u zsync:zsync ${running.url}/demo/@@toFS.snarf
  ${zsync} checkout ${running.url.replace("://", "://zsync@")}/demo ~/zsync-work     (password: zsync)${sshTry}
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
