/**
 * `zsync-server copy-store`: a repository moved SQLite → PostgreSQL → SQLite by the real binary
 * keeps every revision (number, author, date, note, changes), every tree and metadata, the
 * repository uuid, and every account, key, grant, token and SyncML device state; a non-empty
 * destination is refused, and a copy whose SyncML state differs from its source fails verification.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { CopyVerificationError, verifyCopy } from "../../src/server/store/copy/copy-store.js";
import { openStore } from "../../src/server/store/open.js";
import type { Store } from "../../src/server/store/types.js";
import { postgresCluster } from "../helpers/postgres.js";
import { STORE_BACKENDS } from "../helpers/store-backends.js";
import { tempDir, zsyncServerCli as run } from "../helpers/server.js";


/** Everything a store holds, as comparable data (blob bytes by hash). */
async function everything(store: Store): Promise<unknown> {
  const info = await store.info();
  const trees = [];
  const blobs: Record<string, string> = {};
  for (let r = 0; r <= info.head; r++) {
    const tree = await store.listTree("", { revision: r });
    trees.push(tree);
    for (const o of tree) {
      if (!o.hash || blobs[o.hash]) continue;
      const h = createHash("sha256");
      for await (const chunk of store.readBlob(o.hash)) h.update(chunk as Buffer);
      blobs[o.hash] = h.digest("hex");
    }
  }
  const accounts = await Promise.all((await store.listAccounts()).map((a) => store.getAccount(a.name)));
  return { info, log: await store.log(""), trees, blobs, accounts, keys: await store.listAccountKeys(), grants: await store.listGrants(), tokens: await store.listTokens(), syncStates: await store.listSyncStates() };
}

test("SQLite → PostgreSQL → SQLite keeps every revision, author, date, note, metadata, account, grant, key and token", async () => {
  const dir = await tempDir("zsync-copy-store-");
  const first = `sqlite:${join(dir, "first.sqlite")}`;
  const back = `sqlite:${join(dir, "back.sqlite")}`;
  const pg = (await postgresCluster()).newSpec("copy");

  const store = await openStore(first);
  const put = async (content: Buffer) => {
    const file = join(dir, `blob-${createHash("sha256").update(content).digest("hex")}`);
    await writeFile(file, content);
    const hash = createHash("sha256").update(content).digest("hex");
    await store.putBlobFromFile(hash, content.length, file);
    return hash;
  };
  const big = await put(randomBytes(2 * 1024 * 1024 + 77)); // several chunks
  const small = await put(Buffer.from("hello\n"));
  const other = await put(Buffer.from("hello again\n"));
  await store.commit({ author: "ann", note: "start", changes: [
    { op: "add", path: "docs", kind: "folder", meta: { extra: { owner: "ann" } } },
    { op: "add", path: "docs/a.txt", kind: "file", hash: small, meta: { contentType: "text/plain" } },
    { op: "add", path: "big.bin", kind: "file", hash: big },
  ] });
  await store.commit({ author: "bob", note: "edit\n\nwith a body", changes: [{ op: "modify", path: "docs/a.txt", baseRevision: 1, hash: other, meta: null }] });
  await store.commit({ author: "ann", note: "remove", changes: [{ op: "delete", path: "big.bin", baseRevision: 1 }] });
  await store.commit({ author: "cy", note: "ünïcode ✓", changes: [{ op: "add", path: "docs/b é.txt", kind: "file", hash: small }] });
  await store.addAccount("ann", "scrypt$hash-ann", "manager");
  await store.addAccount("bob", "scrypt$hash-bob", "reader");
  await store.addAccountKey({ account: "ann", fingerprint: "SHA256:abc", type: "ssh-ed25519", data: "AAAAC3", comment: "ann@laptop" });
  await store.setGrant({ account: "bob", path: "docs", role: "editor" });
  await store.addToken({ id: "tok1", secretHash: "f".repeat(64), account: "bob", label: "cli", createdAt: "2026-01-02T03:04:05.000Z", expiresAt: "2027-01-01T00:00:00.000Z", revoked: false });
  await store.addToken({ id: "tok2", secretHash: "e".repeat(64), account: "ann", label: "", createdAt: "2026-01-03T00:00:00.000Z", expiresAt: null, revoked: true });
  await store.putSyncState({ account: "ann", device: "phone-1", datastore: "contacts", clientAnchor: "20270101T000000Z", serverAnchor: "2027-01-01T00:00:00.000Z", items: { "Ann.vcf": { luid: "7", hash: small }, "Bob é.vcf": { hash: other } } });
  await store.putSyncState({ account: "ann", device: "phone-1", datastore: "notes", clientAnchor: "1", serverAnchor: "2", items: {} });
  await store.putSyncState({ account: "bob", device: "Phone-2", datastore: "calendar", clientAnchor: "a", serverAnchor: "b", items: { "x.ics": { luid: "1", hash: small } } });
  const original = await everything(store);
  assert.equal((original as { syncStates: unknown[] }).syncStates.length, 3);
  await store.close();

  const there = await run(["copy-store", "--from", first, "--to", pg]);
  assert.equal(there.code, 0, there.stderr);
  assert.match(there.stdout, /verified 5 revisions/);
  assert.match(there.stdout, /syncml_state: 3 rows/);
  assert.match(there.stdout, /3 SyncML states/);
  const again = await run(["copy-store", "--from", pg, "--to", back]);
  assert.equal(again.code, 0, again.stderr);

  for (const spec of [pg, back]) {
    const copy = await openStore(spec);
    try {
      assert.deepEqual(await everything(copy), original, spec);
    } finally {
      await copy.close();
    }
  }

  // The blob over 1 MiB is a file beside each SQLite database (read out of the first as chunk
  // rows for PostgreSQL, moved back into a file when the copy was opened to be verified).
  for (const name of ["first.sqlite", "back.sqlite"]) {
    assert.equal(statSync(join(dir, `${name}-blobs`, big.slice(0, 2), big)).size, 2 * 1024 * 1024 + 77, name);
  }

  // A destination with history is refused and left alone.
  const refused = await run(["copy-store", "--from", first, "--to", back]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /not empty/);
  const untouched = await openStore(back);
  try {
    assert.deepEqual(await everything(untouched), original);
  } finally {
    await untouched.close();
  }
});

for (const backend of STORE_BACKENDS) {
  test(`verification fails when the copy's SyncML state differs from its source (destination ${backend.name})`, async () => {
    const dir = await tempDir("zsync-copy-verify-");
    const from = `sqlite:${join(dir, "from.sqlite")}`;
    const to = await backend.newSpec();
    const store = await openStore(from);
    await store.addAccount("ann", "h", "editor");
    await store.putSyncState({ account: "ann", device: "phone", datastore: "contacts", clientAnchor: "1", serverAnchor: "2", items: { "a.vcf": { luid: "1", hash: "a".repeat(64) } } });
    await store.putSyncState({ account: "ann", device: "phone", datastore: "notes", clientAnchor: "3", serverAnchor: "4", items: {} });
    await store.close();
    const copied = await run(["copy-store", "--from", from, "--to", to]);
    assert.equal(copied.code, 0, copied.stderr);
    await verifyCopy(from, to); // as copied: the same

    // Each kind of difference is caught: an item's agreed hash, an anchor, a missing row.
    const tamper = [
      ["UPDATE syncml_state SET items = ? WHERE datastore = 'contacts'", [JSON.stringify({ "a.vcf": { luid: "1", hash: "b".repeat(64) } })]],
      ["UPDATE syncml_state SET client_anchor = '9' WHERE datastore = 'notes'", []],
      ["DELETE FROM syncml_state WHERE datastore = 'notes'", []],
    ] as const;
    const rows = await backend.query<Record<string, unknown>>(to, "SELECT * FROM syncml_state ORDER BY datastore");
    for (const [sql, params] of tamper) {
      await backend.query(to, sql, [...params]);
      await assert.rejects(verifyCopy(from, to), (err: unknown) => err instanceof CopyVerificationError && /SyncML state/.test(err.message), sql);
      // Put the copy back as it was.
      await backend.query(to, "DELETE FROM syncml_state");
      for (const r of rows) {
        await backend.query(to, "INSERT INTO syncml_state (account, device, datastore, client_anchor, server_anchor, items, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          [r.account, r.device, r.datastore, r.client_anchor, r.server_anchor, r.items, r.updated_at]);
      }
      await verifyCopy(from, to);
    }
  });
}
