/**
 * Drives the real SyncEvolution command-line client (Debian's `syncevolution`) as a SyncML
 * device for end-to-end tests: its `file` backend keeps one item per file in a folder; its
 * configuration, logs and state live in a temp dir (XDG_*), never the user's.
 *
 * Debian's 2.0.0 binary passes garbage for CURLOPT_READFUNCTION and CURLOPT_WRITEFUNCTION (its
 * CurlTransportAgent constructor is miscompiled) and crashes on its first HTTP request in fread.
 * The shim `syncevolution-curl-fix.c`, compiled here once and preloaded, sets those two options
 * to callbacks that call SyncEvolution's own exported readData/writeData, so the unmodified
 * client speaks HTTP; nothing else of it is changed.
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SHIM_SOURCE = fileURLToPath(new URL("./syncevolution-curl-fix.c", import.meta.url));

/** True when the syncevolution binary is installed (`.ci/run` installs it). */
export function haveSyncEvolution(): boolean {
  try {
    execFileSync("syncevolution", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let shim: string | undefined;
function curlShim(): string {
  if (shim) return shim;
  const dir = join(tmpdir(), `zsync-syncevolution-shim-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const out = join(dir, "curl-fix.so");
  if (!existsSync(out)) execFileSync("cc", ["-shared", "-fPIC", "-O2", "-o", out, SHIM_SOURCE, "-ldl"]);
  shim = out;
  return out;
}

/** One datastore of the device: a folder of files. */
export interface DeviceStore {
  /** SyncEvolution's source name (`addressbook`, `calendar`, `memo`). */
  name: string;
  dir: string;
  /** `text/vcard`, `text/calendar` or `text/plain`. */
  format: string;
  /** The server's datastore URI (`contacts`, `calendar`, `notes`). */
  uri: string;
}

export interface SyncResult {
  code: number;
  output: string;
}

/** A configured SyncEvolution peer ("zs") of the server at `url`. */
export interface Device {
  /** Runs `syncevolution --sync MODE zs SOURCES…` (mode: slow, two-way, refresh-from-server, …). */
  sync(mode: string, sources: string[]): Promise<SyncResult>;
}

function run(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<SyncResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("syncevolution", ["--keyring=no", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), output });
    });
  });
}

/** Configures a device with its own state directory; `user`/`password` are the zsync account. */
export async function configureDevice(opts: { home: string; url: string; user: string; password: string; stores: DeviceStore[]; /** More peer properties (`maxMsgSize=20000`). */ properties?: string[] }): Promise<Device> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_CONFIG_HOME: join(opts.home, "config"),
    XDG_DATA_HOME: join(opts.home, "data"),
    XDG_CACHE_HOME: join(opts.home, "cache"),
    LD_PRELOAD: curlShim(),
  };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  const must = async (args: string[]) => {
    const r = await run(args, env);
    if (r.code !== 0) throw new Error(`syncevolution ${args.join(" ")} failed (${r.code}):\n${r.output}`);
  };
  await must(["--configure", "--template", "none", `syncURL=${opts.url}/syncml`, `username=${opts.user}`, `password=${opts.password}`, "enableWBXML=0", "peerIsClient=0", ...(opts.properties ?? []), "zs"]);
  for (const store of opts.stores) {
    mkdirSync(store.dir, { recursive: true });
    await must(["--configure", "backend=file", `database=file://${store.dir}`, `databaseFormat=${store.format}`, `uri=${store.uri}`, "sync=two-way", "zs", store.name]);
  }
  return { sync: (mode, sources) => run(["--sync", mode, "zs", ...sources], env) };
}
