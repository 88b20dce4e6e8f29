/**
 * Moving a whole repository between stores (SQLite ⇄ PostgreSQL, or any two specs): every table
 * row by row (so revision numbers, authors, dates, notes, metadata, the repository uuid,
 * accounts, keys, grants and tokens stay exactly as they were), written in one transaction, then
 * verified through the `Store` interface of both sides: every revision's tree hash and log
 * entry, every account record, key, grant and token, every SyncML device state (anchors and
 * items per account, device and datastore), and every blob's bytes against its SHA-256 name.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { openStore } from "../open.js";
import { isPostgresSpec } from "../postgres.js";
import type { Store } from "../types.js";
import { postgresSource, postgresTarget } from "./raw-postgres.js";
import { sqliteSource, sqliteTarget } from "./raw-sqlite.js";
import { TABLES, type TableSource, type TableTarget } from "./tables.js";

export interface CopyReport {
  uuid: string;
  head: number;
  /** Rows copied per table. */
  rows: Record<string, number>;
}

/** Raised when the copy does not match its source; the source is untouched. */
export class CopyVerificationError extends Error {}

function sqlitePath(spec: string): string {
  if (!spec.startsWith("sqlite:")) throw new Error(`unknown store ${JSON.stringify(spec)}: use sqlite:PATH or postgres://…`);
  return resolve(spec.slice("sqlite:".length));
}

async function openSource(spec: string): Promise<TableSource> {
  return isPostgresSpec(spec) ? postgresSource(spec) : sqliteSource(sqlitePath(spec));
}

async function openTarget(spec: string): Promise<TableTarget> {
  return isPostgresSpec(spec) ? postgresTarget(spec) : sqliteTarget(sqlitePath(spec));
}

/** Opens a store, runs `work`, closes it. */
async function using<T>(spec: string, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(spec);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * Copies the store `from` into the store `to`, which must be new or empty (no commits, no
 * accounts), and verifies the copy. Both schemas are migrated to this version first.
 */
export async function copyStore(opts: { from: string; to: string; log?: (line: string) => void }): Promise<CopyReport> {
  const log = opts.log ?? (() => {});
  if (opts.from === opts.to) throw new Error("--from and --to name the same store");
  const source = await using(opts.from, (s) => s.info());
  await using(opts.to, async (s) => {
    const { head } = await s.info();
    if (head !== 0 || (await s.countAccounts()) !== 0) {
      throw new Error(`the destination store is not empty (head revision ${head}); copy-store only fills a new store`);
    }
  });
  log(`copying repository ${source.uuid} (head revision ${source.head})`);
  const rows: Record<string, number> = {};
  const reader = await openSource(opts.from);
  try {
    const writer = await openTarget(opts.to);
    try {
      await writer.begin();
      for (const table of TABLES) {
        rows[table.name] = 0;
        for await (const batch of reader.rows(table)) {
          await writer.insert(table, batch);
          rows[table.name] += batch.length;
        }
        log(`  ${table.name}: ${rows[table.name]} rows`);
      }
      await writer.commit();
    } catch (err) {
      await writer.rollback();
      throw err;
    } finally {
      await writer.close();
    }
  } finally {
    await reader.close();
  }
  await verifyCopy(opts.from, opts.to, log);
  return { uuid: source.uuid, head: source.head, rows };
}

/** A hash of everything `listTree` says about the repository at `revision`. */
async function treeHash(store: Store, revision: number): Promise<string> {
  return createHash("sha256").update(JSON.stringify(await store.listTree("", { revision }))).digest("hex");
}

/** Compares the two stores through the Store interface; throws CopyVerificationError on the first difference. */
export async function verifyCopy(from: string, to: string, log: (line: string) => void = () => {}): Promise<void> {
  await using(from, (a) =>
    using(to, async (b) => {
      const same = (what: string, x: unknown, y: unknown) => {
        if (JSON.stringify(x) !== JSON.stringify(y)) throw new CopyVerificationError(`the copy differs from its source: ${what}`);
      };
      const info = await a.info();
      same("uuid and head", info, await b.info());
      same("log", await a.log(""), await b.log(""));
      const blobs = new Set<string>();
      for (let r = 0; r <= info.head; r++) {
        same(`tree at revision ${r}`, await treeHash(a, r), await treeHash(b, r));
        for (const o of await b.listTree("", { revision: r })) if (o.hash) blobs.add(o.hash);
      }
      same("accounts", await a.listAccounts(), await b.listAccounts());
      for (const account of await a.listAccounts()) same(`account ${account.name}`, await a.getAccount(account.name), await b.getAccount(account.name));
      same("ssh keys", await a.listAccountKeys(), await b.listAccountKeys());
      same("grants", await a.listGrants(), await b.listGrants());
      same("tokens", await a.listTokens(), await b.listTokens());
      const states = await a.listSyncStates();
      const copied = await b.listSyncStates();
      const key = (s: { account: string; device: string; datastore: string }) => `${s.account}/${s.device}/${s.datastore}`;
      const there = new Map(copied.map((s) => [key(s), s]));
      for (const s of states) same(`SyncML state of ${key(s)}`, s, there.get(key(s)) ?? "missing");
      if (copied.length !== states.length) {
        const here = new Set(states.map(key));
        const extra = copied.filter((s) => !here.has(key(s))).map(key);
        throw new CopyVerificationError(`the copy differs from its source: SyncML state of ${extra.join(", ")} is not in the source`);
      }
      for (const hash of blobs) {
        const h = createHash("sha256");
        for await (const chunk of b.readBlob(hash)) h.update(chunk as Buffer);
        if (h.digest("hex") !== hash) throw new CopyVerificationError(`the copy differs from its source: blob ${hash}`);
      }
      log(`verified ${info.head + 1} revisions (tree hashes and log), ${blobs.size} blobs, ${states.length} SyncML states, accounts, keys, grants and tokens`);
    }),
  );
}
