/**
 * Configuring the PostgreSQL store, end to end with the real `zsync-server` on a throwaway
 * cluster: the PG* environment variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD for a
 * role that must authenticate with scram-sha-256), `postgres://` and `postgresql://` URLs,
 * `?schema=NAME` beside an application's own tables in `public` (a foreign key to our objects and
 * a trigger on our revisions, as pysyncml-style applications want), `?pool=N` validation,
 * `migrate` refusing a newer schema, and tokens shared by two server processes.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { request } from "undici";
import type { CommitManifest } from "../../src/protocol/types.js";
import { SCHEMA_VERSION } from "../../src/server/store/schema.js";
import { createZsyncClient } from "../../src/transport/http/client.js";
import { postgresCluster, type PostgresCluster } from "../helpers/postgres.js";
import { DEMO_AUTH, startServer, zsyncServerCli as run, type TestServer } from "../helpers/server.js";

const TIMEOUT = { timeout: 120_000 };

/** The environment a server gets: no PG* variable of the test runner leaks in unless given. */
function pgEnv(vars: Record<string, string>): Record<string, string | undefined> {
  return { PGHOST: undefined, PGPORT: undefined, PGUSER: undefined, PGPASSWORD: undefined, PGDATABASE: undefined, ZSYNC_STORE: undefined, ...vars };
}

/** The tables in `schema`, sorted. */
async function tablesOf(cluster: PostgresCluster, schema: string): Promise<string[]> {
  const found = await cluster.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", [schema]);
  return found.map((r) => r.table_name);
}

async function schemaExists(cluster: PostgresCluster, schema: string): Promise<boolean> {
  return (await cluster.query("SELECT 1 FROM information_schema.schemata WHERE schema_name = $1", [schema])).length > 0;
}

/** `/.well-known/zsync` through `server` with `authorization`: status and repository revision. */
async function wellKnown(server: TestServer, authorization: string): Promise<{ status: number; revision?: number }> {
  const answer = await request(`${server.url}/.well-known/zsync`, { headers: { authorization } });
  const body = (await answer.body.json()) as { repository?: { revision: number } };
  return { status: answer.statusCode, revision: body.repository?.revision };
}

function serverOn(spec: string, opts: { demo?: boolean; env?: Record<string, string | undefined> } = {}): Promise<TestServer> {
  return startServer({ demo: opts.demo ?? false, args: ["--store", spec, "--quiet"], env: opts.env as Record<string, string> });
}

let serial = 0;
/** A fresh schema name for this process. */
const schemaName = (prefix: string) => `${prefix}_${process.pid}_${++serial}`;

describe("connection settings", () => {
  test("PGHOST, PGPORT, PGUSER and PGDATABASE fill in a URL that names none of them; postgres:// and postgresql://", TIMEOUT, async () => {
    const cluster = await postgresCluster();
    const env = pgEnv({ PGHOST: cluster.host, PGPORT: String(cluster.port), PGUSER: "postgres", PGDATABASE: "zsync_test" });
    for (const scheme of ["postgres", "postgresql"]) {
      const schema = schemaName(`env_${scheme}`);
      const migrated = await run(["--store", `${scheme}://?schema=${schema}`, "migrate"], { env });
      assert.equal(migrated.code, 0, migrated.stderr);
      assert.match(migrated.stdout, new RegExp(`created the schema \\(version ${SCHEMA_VERSION}\\)`));
      assert.ok((await tablesOf(cluster, schema)).includes("revisions"), `${scheme}: tables in ${schema} of zsync_test`);
      // serve through ZSYNC_STORE with the same variables.
      const server = await startServer({ args: ["--quiet"], env: { ...env, ZSYNC_STORE: `${scheme}://?schema=${schema}` } as Record<string, string> });
      try {
        assert.deepEqual(await wellKnown(server, DEMO_AUTH), { status: 200, revision: 1 });
      } finally {
        await server.stop();
      }
    }
    // A database that is not there is a clear error and exit 1, not a hang.
    const bare = await run(["--store", `postgres://127.0.0.1:1/zsync_test?schema=${schemaName("nowhere")}`, "migrate"], { env: pgEnv({}) });
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, /cannot reach PostgreSQL/);
  });

  test("PGPASSWORD for a role that must give a password (scram-sha-256); a wrong or missing one is refused and never printed", TIMEOUT, async () => {
    const cluster = await postgresCluster();
    const password = "pw-9c1e-secret";
    await cluster.passwordRole("zsync_pw", password);
    const schema = schemaName("pw");
    const url = `postgres://zsync_pw@${cluster.host}:${cluster.port}/zsync_test?schema=${schema}`;

    const missing = await run(["--store", url, "migrate"], { env: pgEnv({}) });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /password/i);
    const wrong = await run(["--store", url, "migrate"], { env: pgEnv({ PGPASSWORD: "not-it-4d2b" }) });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /password authentication failed for user "zsync_pw"/);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /not-it-4d2b/);
    assert.equal(await schemaExists(cluster, schema), false, "nothing created");

    const right = await run(["--store", url, "migrate"], { env: pgEnv({ PGPASSWORD: password }) });
    assert.equal(right.code, 0, right.stderr);
    const owner = await cluster.query<{ schema_owner: string }>("SELECT schema_owner FROM information_schema.schemata WHERE schema_name = $1", [schema]);
    assert.deepEqual(owner, [{ schema_owner: "zsync_pw" }]);
    // Everything else from the environment too, password included.
    const server = await serverOn(`postgres://?schema=${schema}`, {
      demo: true,
      env: pgEnv({ PGHOST: cluster.host, PGPORT: String(cluster.port), PGUSER: "zsync_pw", PGDATABASE: "zsync_test", PGPASSWORD: password }),
    });
    try {
      assert.equal((await wellKnown(server, DEMO_AUTH)).status, 200);
      assert.doesNotMatch(server.stderr() + server.stdout(), new RegExp(password));
    } finally {
      await server.stop();
    }
    // The password in the URL works as well, and is not echoed in errors.
    const inUrl = await run(["--store", `postgres://zsync_pw:${password}@${cluster.host}:${cluster.port}/zsync_test?schema=${schema}`, "migrate"], { env: pgEnv({}) });
    assert.equal(inUrl.code, 0, inUrl.stderr);
    const badInUrl = await run(["--store", `postgres://zsync_pw:wrong-77aa@${cluster.host}:${cluster.port}/zsync_test?schema=${schema}&pool=0`, "migrate"], { env: pgEnv({}) });
    assert.notEqual(badInUrl.code, 0);
    assert.doesNotMatch(badInUrl.stderr + badInUrl.stdout, /wrong-77aa/);
  });

  test("a bad pool size or schema name is a clear error, exit 1, and creates nothing", TIMEOUT, async () => {
    const cluster = await postgresCluster();
    for (const pool of ["0", "-1", "abc", "1.5", "1001", "", "1e2", "0x10", " 5", "5 "]) {
      const schema = schemaName("pool");
      const result = await run(["--store", `${cluster.url}?schema=${schema}&pool=${encodeURIComponent(pool)}`, "migrate"]);
      assert.equal(result.code, 1, `pool=${JSON.stringify(pool)}: ${result.stdout}`);
      assert.match(result.stderr, /invalid pool size .*: use a whole number from 1 to 1000/, `pool=${JSON.stringify(pool)}`);
      assert.equal(await schemaExists(cluster, schema), false, `pool=${JSON.stringify(pool)} created nothing`);
    }
    for (const schema of ["Bad", "a-b", "1abc", "x".repeat(64)]) {
      const result = await run(["--store", `${cluster.url}?schema=${schema}`, "migrate"]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /invalid schema name/);
      assert.equal(await schemaExists(cluster, schema.toLowerCase()), false);
    }
    // The limits themselves are fine, and serve refuses a bad size before listening.
    for (const pool of ["1", "1000"]) {
      const result = await run(["--store", `${cluster.url}?schema=${schemaName("pool_ok")}&pool=${pool}`, "migrate"]);
      assert.equal(result.code, 0, result.stderr);
    }
    await assert.rejects(serverOn(`${cluster.url}?schema=${schemaName("pool_serve")}&pool=0`), /invalid pool size/);
  });
});

/** Commits through `server`: the changes of `manifest` posted to /demo, with file bodies by path. */
function commit(server: TestServer, manifest: CommitManifest, bodies: Record<string, string> = {}) {
  const client = createZsyncClient({ origin: server.url, user: "zsync", password: "zsync" });
  return client.commit("demo", manifest, Object.entries(bodies).map(([path, text]) => ({ kind: "file" as const, path, size: Buffer.byteLength(text), body: text })));
}

describe("our schema beside an application's tables", () => {
  test("?schema=NAME: an application's table in public references our objects (foreign key) and our revisions fire its trigger", TIMEOUT, async () => {
    const cluster = await postgresCluster();
    const schema = schemaName("pim");
    const spec = `${cluster.url}?schema=${schema}`;
    // The application was there first, with a table named like one of ours.
    await cluster.query(`CREATE TABLE public.accounts_${schema} (id serial PRIMARY KEY, email text NOT NULL)`);
    await cluster.query(`INSERT INTO public.accounts_${schema} (email) VALUES ('ann@example.org')`);
    const migrated = await run(["--store", spec, "migrate"]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.equal((await tablesOf(cluster, "public")).includes("revisions"), false, "nothing of ours in public");
    // The application's own tables, in public, tied to ours.
    await cluster.query(`CREATE TABLE public.cards_${schema} (
      id serial PRIMARY KEY,
      path text NOT NULL REFERENCES ${schema}.objects (path) ON DELETE CASCADE,
      starred boolean NOT NULL DEFAULT false)`);
    await cluster.query(`CREATE TABLE public.feed_${schema} (revision integer PRIMARY KEY, author text NOT NULL, note text NOT NULL)`);
    // Trigger functions run with the zsync connection's search_path (our schema only): qualify names.
    await cluster.query(`CREATE FUNCTION public.on_revision_${schema}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.feed_${schema} (revision, author, note) VALUES (NEW.revision, NEW.author, NEW.note); RETURN NEW; END $$`);
    await cluster.query(`CREATE TRIGGER feed AFTER INSERT ON ${schema}.revisions FOR EACH ROW EXECUTE FUNCTION public.on_revision_${schema}()`);

    const server = await serverOn(spec, { demo: true });
    try {
      const added = await commit(server, { protocol: 1, note: "a card", changes: [{ path: "ann.vcf", kind: "file", schedule: "added", content: true }] }, { "ann.vcf": "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann\r\nEND:VCARD\r\n" });
      const feed = await cluster.query<{ revision: number; author: string; note: string }>(`SELECT revision, author, note FROM public.feed_${schema} ORDER BY revision`);
      assert.deepEqual(feed.at(-1), { revision: added.revision, author: "zsync", note: "a card" }, "the trigger saw the commit");
      await cluster.query(`INSERT INTO public.cards_${schema} (path, starred) VALUES ('demo/ann.vcf', true)`);
      await assert.rejects(cluster.query(`INSERT INTO public.cards_${schema} (path) VALUES ('demo/nobody.vcf')`), /foreign key/);

      // A modify keeps the application's row; a delete cascades to it, as the application chose.
      const modified = await commit(server, { protocol: 1, note: "edit", changes: [{ path: "ann.vcf", kind: "file", schedule: "modified", baseRevision: added.revision, content: true }] }, { "ann.vcf": "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann B\r\nEND:VCARD\r\n" });
      assert.deepEqual(await cluster.query(`SELECT path, starred FROM public.cards_${schema}`), [{ path: "demo/ann.vcf", starred: true }]);
      await commit(server, { protocol: 1, note: "gone", changes: [{ path: "ann.vcf", kind: "file", schedule: "removed", baseRevision: modified.revision }] });
      assert.deepEqual(await cluster.query(`SELECT path FROM public.cards_${schema}`), []);
      const notes = await cluster.query<{ note: string }>(`SELECT note FROM public.feed_${schema} ORDER BY revision`);
      assert.deepEqual(notes.slice(-3).map((r) => r.note), ["a card", "edit", "gone"]);
    } finally {
      await server.stop();
    }
    // The application's same-named table was never touched.
    assert.deepEqual(await cluster.query(`SELECT email FROM public.accounts_${schema}`), [{ email: "ann@example.org" }]);
  });
});

describe("migrate", () => {
  test("a schema newer than this code is refused by migrate and serve, and nothing is changed", TIMEOUT, async () => {
    const cluster = await postgresCluster();
    const schema = schemaName("newer");
    const spec = `${cluster.url}?schema=${schema}`;
    assert.equal((await run(["--store", spec, "migrate"])).code, 0);
    assert.equal((await run(["--store", spec, "user", "add", "ann", "--role", "editor", "--password-stdin"], { input: "pw-ann-1\n" })).code, 0);
    await cluster.query(`UPDATE ${schema}.schema_version SET version = $1`, [SCHEMA_VERSION + 1]);
    const snapshot = async () => ({
      columns: await cluster.query("SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, column_name", [schema]),
      version: await cluster.query(`SELECT version FROM ${schema}.schema_version`),
      accounts: await cluster.query(`SELECT name, role FROM ${schema}.accounts ORDER BY name`),
      revisions: await cluster.query(`SELECT revision, author FROM ${schema}.revisions ORDER BY revision`),
    });
    const before = await snapshot();
    const refused = await run(["--store", spec, "migrate"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`database schema version ${SCHEMA_VERSION + 1} is newer than this server supports \\(${SCHEMA_VERSION}\\); upgrade zsync-server`));
    assert.equal(refused.stdout, "");
    await assert.rejects(serverOn(spec), /is newer than this server supports/);
    assert.deepEqual(await snapshot(), before);
  });
});

describe("two server processes, one database", () => {
  test("a token revoked through one server is refused by the other at once", TIMEOUT, async () => {
    const cluster = await postgresCluster();
    const spec = `${cluster.url}?schema=${schemaName("tokens")}`;
    const a = await serverOn(spec, { demo: true });
    const b = await serverOn(spec);
    try {
      const mint = async () => {
        const answer = await request(`${a.url}/.well-known/zsync/tokens`, { method: "POST", headers: { authorization: DEMO_AUTH, "content-type": "application/json" }, body: JSON.stringify({ label: "test" }) });
        assert.equal(answer.statusCode, 201);
        return (await answer.body.json()) as { token: string; id: string };
      };
      const first = await mint();
      const bearer = `Bearer ${first.token}`;
      assert.equal((await wellKnown(b, bearer)).status, 200, "a token made through A works on B");
      assert.equal((await wellKnown(a, bearer)).status, 200);
      // Revoked through server A (HTTP), refused by server B on its very next request.
      const revoked = await request(`${a.url}/.well-known/zsync/tokens/current`, { method: "DELETE", headers: { authorization: bearer } });
      assert.ok(revoked.statusCode < 300, String(revoked.statusCode));
      await revoked.body.dump();
      assert.equal((await wellKnown(b, bearer)).status, 401);
      assert.equal((await wellKnown(a, bearer)).status, 401);

      // Revoked by `zsync-server token revoke` (a third process): refused by both servers.
      const second = await mint();
      assert.equal((await wellKnown(b, `Bearer ${second.token}`)).status, 200);
      const cli = await run(["--store", spec, "token", "revoke", second.id]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal((await wellKnown(a, `Bearer ${second.token}`)).status, 401);
      assert.equal((await wellKnown(b, `Bearer ${second.token}`)).status, 401);

      // And an account removed through one is gone for the other (its password no longer works).
      assert.equal((await run(["--store", spec, "user", "add", "cy", "--role", "reader", "--password-stdin"], { input: "pw-cy-1\n" })).code, 0);
      const cy = "Basic " + Buffer.from("cy:pw-cy-1").toString("base64");
      assert.equal((await wellKnown(b, cy)).status, 200);
      assert.equal((await run(["--store", spec, "user", "remove", "cy"])).code, 0);
      assert.equal((await wellKnown(a, cy)).status, 401);
      assert.equal((await wellKnown(b, cy)).status, 401);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
