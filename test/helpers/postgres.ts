/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temporary directory and `pg_ctl start`
 * on a free loopback port with fsync off, stopped when the test process exits. As root (CI,
 * this machine) both run as the `postgres` user, since PostgreSQL refuses to run as root.
 * Missing binaries make the tests FAIL with a message saying what to install: they are never
 * skipped, and no test relies on a server it did not start.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "./ports.js";

export interface PostgresCluster {
  host: string;
  port: number;
  /** `postgres://postgres@127.0.0.1:PORT/zsync_test`: a database created for the tests. */
  url: string;
  /** A `postgres://` spec with a schema of its own (a fresh store each call). */
  newSpec(prefix?: string): string;
  /** `pg_ctl stop -m fast`: the server goes away under running clients. */
  stopServer(): void;
  /** Starts the stopped server again on the same port. */
  startServer(): void;
  /**
   * Makes a login role that must give `password` (scram-sha-256) on 127.0.0.1: `CREATE ROLE`, the
   * right to create schemas in the test database, and a pg_hba.conf line ahead of the cluster's
   * `trust` lines, reloaded; returns once a connection without the password is refused.
   */
  passwordRole(role: string, password: string): Promise<void>;
  /** Runs SQL as the superuser on the test database. */
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** Where initdb and pg_ctl are: the newest /usr/lib/postgresql/N/bin, or PG_BIN. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, "bin", "initdb"))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) {
    throw new Error(
      "PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb): install the Debian package `postgresql` " +
        "(.ci/run does), or set PG_BIN to the directory holding initdb and pg_ctl",
    );
  }
  return join(base, versions[0]!, "bin");
}

let started: Promise<PostgresCluster> | undefined;

/** The cluster of this test process, started on first use. */
export function postgresCluster(): Promise<PostgresCluster> {
  started ??= startCluster();
  return started;
}

async function startCluster(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const root = mkdtempSync(join(tmpdir(), "zsync-pg-"));
  chmodSync(root, 0o755); // the postgres user must reach the data directory
  const dataDir = join(root, "data");
  const socketDir = join(root, "socket");
  mkdirSync(dataDir);
  mkdirSync(socketDir);
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dataDir, uid, gid);
    chownSync(socketDir, uid, gid);
  }
  const pgRun = (tool: string, args: string[]): void => {
    const cmd = asRoot ? "runuser" : join(bin, tool);
    const argv = asRoot ? ["-u", "postgres", "--", join(bin, tool), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: "utf8", cwd: root });
    if (r.status !== 0) throw new Error(`${tool} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout || r.error?.message}`);
  };
  pgRun("initdb", ["-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const port = await freePort();
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${socketDir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  const startServer = () => pgRun("pg_ctl", ["-D", dataDir, "-l", join(dataDir, "server.log"), "-o", options, "-w", "-t", "60", "start"]);
  const stopServer = () => pgRun("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "-t", "60", "stop"]);
  startServer();
  process.once("exit", () => {
    // Synchronous: the process is going; an immediate stop is enough for a throwaway cluster.
    spawnSync(asRoot ? "runuser" : join(bin, "pg_ctl"), [...(asRoot ? ["-u", "postgres", "--", join(bin, "pg_ctl")] : []), "-D", dataDir, "-m", "immediate", "-w", "stop"]);
    rmSync(root, { recursive: true, force: true });
  });
  const admin = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
  await admin.connect();
  await admin.query("CREATE DATABASE zsync_test");
  await admin.end();
  const url = `postgres://postgres@127.0.0.1:${port}/zsync_test`;
  let schemas = 0;
  const query = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    host: "127.0.0.1",
    port,
    url,
    newSpec: (prefix = "t") => `${url}?schema=${prefix}_${process.pid}_${++schemas}`,
    stopServer,
    startServer,
    query,
    async passwordRole(role: string, password: string) {
      if (!/^[a-z_][a-z0-9_]*$/.test(role)) throw new Error(`role name ${role}`);
      await query(`CREATE ROLE ${role} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`);
      await query(`GRANT CREATE ON DATABASE zsync_test TO ${role}`);
      const hbaFile = (await query<{ hba_file: string }>("SHOW hba_file"))[0]!.hba_file;
      const lines = readFileSync(hbaFile, "utf8");
      // First match wins: this line goes before initdb's `trust` lines.
      writeFileSync(hbaFile, `host all ${role} 127.0.0.1/32 scram-sha-256\n${lines}`);
      await query("SELECT pg_reload_conf()");
      // The postmaster reloads asynchronously: wait until it asks this role for a password.
      for (;;) {
        const probe = new pg.Client({ host: "127.0.0.1", port, user: role, database: "zsync_test", password: "" });
        const refused = await probe.connect().then(
          () => false,
          () => true,
        );
        await probe.end().catch(() => {});
        if (refused) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}
