/**
 * The store's account records (accounts, ssh keys, grants and tokens; removing an account
 * removes everything that authenticated or authorized it) and schema versions, on every backend.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { NewerSchemaError } from "../../src/server/store/migration-report.js";
import { openStore } from "../../src/server/store/open.js";
import { SCHEMA_VERSION } from "../../src/server/store/schema.js";
import { openSqliteStore } from "../../src/server/store/sqlite.js";
import { STORE_BACKENDS } from "../helpers/store-backends.js";
import { InvalidChangeError } from "../../src/server/store/types.js";

const dir = mkdtempSync(join(tmpdir(), "zsync-store-accounts-"));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const backend of STORE_BACKENDS) {
  describe(backend.name, () => {
    test("accounts, keys, grants and tokens round-trip; removing an account removes them all", async () => {
      const store = await openStore(await backend.newSpec());
      try {
        await store.addAccount("ann", "h1", "editor");
        await store.addAccount("bob", "h2", "reader");
        assert.deepEqual(await store.listAccounts(), [
          { name: "ann", role: "editor" },
          { name: "bob", role: "reader" },
        ]);
        await store.updateAccount("ann", { passwordHash: "h3", role: "manager" });
        assert.deepEqual(await store.getAccount("ann"), { name: "ann", role: "manager", passwordHash: "h3" });
        await assert.rejects(store.updateAccount("nobody", { role: "reader" }), InvalidChangeError);

        const key = { account: "ann", fingerprint: "SHA256:abc", type: "ssh-ed25519", data: "AAAA", comment: "ann@laptop" };
        await store.addAccountKey(key);
        await assert.rejects(store.addAccountKey(key), InvalidChangeError);
        await assert.rejects(store.addAccountKey({ ...key, account: "nobody" }), InvalidChangeError);
        assert.deepEqual(await store.listAccountKeys("ann"), [key]);

        await store.setGrant({ account: "bob", path: "docs", role: "editor" });
        await store.setGrant({ account: "bob", path: "docs", role: "manager" });
        assert.deepEqual(await store.listGrants(), [{ account: "bob", path: "docs", role: "manager" }]);

        const token = { id: "t1", secretHash: "ff", account: "bob", label: "cli", createdAt: "2026-01-01T00:00:00.000Z", expiresAt: null, revoked: false };
        await store.addToken(token);
        assert.deepEqual(await store.getToken("t1"), token);
        assert.equal(await store.revokeToken("t1"), true);
        assert.equal((await store.getToken("t1"))!.revoked, true);
        assert.equal(await store.revokeToken("nope"), false);

        await store.removeAccount("bob");
        assert.deepEqual(await store.listGrants(), []);
        assert.deepEqual(await store.listTokens(), []);
        await store.removeAccount("ann");
        assert.deepEqual(await store.listAccountKeys(), []);
        assert.equal(await store.countAccounts(), 0);
      } finally {
        await store.close();
      }
    });

    test("SyncML device state round-trips, is replaced as a whole, and goes with its account", async () => {
      const store = await openStore(await backend.newSpec());
      try {
        await store.addAccount("ann", "h1", "editor");
        assert.equal(await store.getSyncState("ann", "phone-1", "contacts"), undefined);
        const state = { account: "ann", device: "phone-1", datastore: "contacts", clientAnchor: "20270101T000000Z", serverAnchor: "2027-01-01T00:00:00.000Z", items: { "Ann.vcf": { luid: "7", hash: "a".repeat(64) }, "Bob.vcf": { hash: "b".repeat(64) } } };
        await store.putSyncState(state);
        assert.deepEqual(await store.getSyncState("ann", "phone-1", "contacts"), state);
        const next = { ...state, clientAnchor: "20270102T000000Z", items: { "Bob.vcf": { luid: "8", hash: "c".repeat(64) } } };
        await store.putSyncState(next);
        assert.deepEqual(await store.getSyncState("ann", "phone-1", "contacts"), next);
        assert.equal(await store.getSyncState("ann", "phone-1", "notes"), undefined, "per datastore");
        assert.equal(await store.getSyncState("ann", "phone-2", "contacts"), undefined, "per device");
        await assert.rejects(store.putSyncState({ ...state, account: "nobody" }), InvalidChangeError);
        const upper = { ...state, device: "Phone-1", items: {} };
        await store.putSyncState(upper);
        const listed = await store.listSyncStates();
        assert.deepEqual(listed.map(({ updatedAt, ...rest }) => rest), [upper, next], "every state, in code-unit order");
        assert.ok(listed.every((s) => !Number.isNaN(Date.parse(s.updatedAt))), "with the time each was stored");
        await store.removeAccount("ann");
        assert.equal(await store.getSyncState("ann", "phone-1", "contacts"), undefined);
        assert.deepEqual(await store.listSyncStates(), []);
      } finally {
        await store.close();
      }
    });

    test("a schema newer than this code is refused and left as it is; migrations are reported", async () => {
      const spec = await backend.newSpec();
      const reports: { from: number; to: number }[] = [];
      let store = await openStore(spec, { migrated: (r) => reports.push(r) });
      await store.addAccount("ann", "h", "editor");
      await store.close();
      store = await openStore(spec, { migrated: (r) => reports.push(r) });
      await store.close();
      assert.deepEqual(reports, [
        { from: 0, to: SCHEMA_VERSION },
        { from: SCHEMA_VERSION, to: SCHEMA_VERSION },
      ]);
      await backend.query(spec, "UPDATE schema_version SET version = ?", [SCHEMA_VERSION + 1]);
      await assert.rejects(openStore(spec), NewerSchemaError);
      assert.deepEqual(await backend.query(spec, "SELECT version FROM schema_version"), [{ version: SCHEMA_VERSION + 1 }]);
      assert.deepEqual(await backend.query(spec, "SELECT name FROM accounts"), [{ name: "ann" }]);
    });
  });
}

test("a version-1 database migrates to the account tables without losing accounts", async () => {
  const file = join(dir, "v1.db");
  const store = await openSqliteStore(file);
  await store.addAccount("ann", "h", "editor");
  await store.close();
  // Roll the file back to schema 1, as a server of the previous release left it.
  const db = new Database(file);
  for (const table of ["account_keys", "grants", "tokens"]) db.exec(`DROP TABLE ${table}`);
  db.exec("DROP INDEX history_hash"); // and what migration 3 added
  db.exec("ALTER TABLE blobs DROP COLUMN stored_at");
  db.exec("DROP TABLE syncml_state"); // and what migration 4 added
  db.exec("ALTER TABLE blobs DROP COLUMN in_file"); // and what migration 5 added
  db.exec("UPDATE schema_version SET version = 1");
  db.close();
  const reopened = await openSqliteStore(file);
  try {
    assert.deepEqual(await reopened.listAccounts(), [{ name: "ann", role: "editor" }]);
    await reopened.setGrant({ account: "ann", path: "", role: "reader" });
    assert.equal((await reopened.listGrants("ann")).length, 1);
    await reopened.putSyncState({ account: "ann", device: "d", datastore: "notes", clientAnchor: "1", serverAnchor: "2", items: {} });
    assert.equal((await reopened.getSyncState("ann", "d", "notes"))?.clientAnchor, "1");
  } finally {
    await reopened.close();
  }
});
