/**
 * Accounts, ssh keys, grants and tokens in PostgreSQL. Each operation is one statement (atomic on
 * its own); the foreign keys and primary keys of schema.ts decide "unknown account" and
 * "exists already", so two servers racing on the same name cannot both succeed.
 */
import type pg from "pg";
import { syncStateValues, toListedSyncState, toSyncState, toToken, type SyncStateRow, type TokenRow } from "../rows.js";
import { InvalidChangeError, type Account, type AccountKey, type Grant, type SyncState, type TokenRecord } from "../types.js";
import { rows, run, sqlState } from "./sql.js";

const FOREIGN_KEY_VIOLATION = "23503";
const UNIQUE_VIOLATION = "23505";

/** Runs an insert, turning key violations into the interface's InvalidChangeError messages. */
async function insert(pool: pg.Pool, sql: string, params: unknown[], messages: { noAccount?: string; exists: string }): Promise<void> {
  try {
    await run(pool, sql, params);
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) throw new InvalidChangeError(messages.exists, []);
    if (sqlState(err) === FOREIGN_KEY_VIOLATION && messages.noAccount) throw new InvalidChangeError(messages.noAccount, []);
    throw err;
  }
}

/** The account-related half of the PostgreSQL store. */
export class PostgresAccounts {
  constructor(private readonly pool: pg.Pool) {}

  async addAccount(name: string, passwordHash: string, role: string): Promise<void> {
    await insert(this.pool, "INSERT INTO accounts (name, password_hash, role) VALUES (?, ?, ?)", [name, passwordHash, role], {
      exists: `account ${name} exists already`,
    });
  }

  async getAccount(name: string): Promise<(Account & { passwordHash: string }) | undefined> {
    const row = (await rows<{ name: string; password_hash: string; role: string }>(this.pool, "SELECT name, password_hash, role FROM accounts WHERE name = ?", [name]))[0];
    return row && { name: row.name, role: row.role, passwordHash: row.password_hash };
  }

  async countAccounts(): Promise<number> {
    return (await rows<{ n: number }>(this.pool, "SELECT COUNT(*) AS n FROM accounts"))[0]!.n;
  }

  async listAccounts(): Promise<Account[]> {
    return rows<Account>(this.pool, 'SELECT name, role FROM accounts ORDER BY name COLLATE "C"');
  }

  async updateAccount(name: string, change: { passwordHash?: string; role?: string }): Promise<void> {
    const n = await run(this.pool, "UPDATE accounts SET password_hash = COALESCE(?, password_hash), role = COALESCE(?, role) WHERE name = ?", [
      change.passwordHash ?? null,
      change.role ?? null,
      name,
    ]);
    if (n === 0) throw new InvalidChangeError(`no account ${name}`, []);
  }

  async removeAccount(name: string): Promise<void> {
    // Keys, grants and tokens go with it (ON DELETE CASCADE), in the same statement.
    if ((await run(this.pool, "DELETE FROM accounts WHERE name = ?", [name])) === 0) throw new InvalidChangeError(`no account ${name}`, []);
  }

  async addAccountKey(key: AccountKey): Promise<void> {
    await insert(
      this.pool,
      "INSERT INTO account_keys (account, fingerprint, key_type, key_data, comment) VALUES (?, ?, ?, ?, ?)",
      [key.account, key.fingerprint, key.type, key.data, key.comment],
      { noAccount: `no account ${key.account}`, exists: `account ${key.account} has key ${key.fingerprint} already` },
    );
  }

  async getSyncState(account: string, device: string, datastore: string): Promise<SyncState | undefined> {
    const row = (await rows<SyncStateRow>(this.pool, "SELECT * FROM syncml_state WHERE account = ? AND device = ? AND datastore = ?", [account, device, datastore]))[0];
    return row && toSyncState(row);
  }

  async listSyncStates(): Promise<(SyncState & { updatedAt: string })[]> {
    const found = await rows<SyncStateRow>(this.pool, 'SELECT * FROM syncml_state ORDER BY account COLLATE "C", device COLLATE "C", datastore COLLATE "C"');
    return found.map(toListedSyncState);
  }

  async putSyncState(state: SyncState): Promise<void> {
    await insert(
      this.pool,
      `INSERT INTO syncml_state (account, device, datastore, client_anchor, server_anchor, items, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (account, device, datastore) DO UPDATE SET client_anchor = excluded.client_anchor, server_anchor = excluded.server_anchor,
       items = excluded.items, updated_at = excluded.updated_at`,
      syncStateValues(state),
      { noAccount: `no account ${state.account}`, exists: `SyncML state of ${state.device} exists already` },
    );
  }

  async removeAccountKey(account: string, fingerprint: string): Promise<boolean> {
    return (await run(this.pool, "DELETE FROM account_keys WHERE account = ? AND fingerprint = ?", [account, fingerprint])) > 0;
  }

  async listAccountKeys(account?: string): Promise<AccountKey[]> {
    const found =
      account === undefined
        ? await rows<KeyRow>(this.pool, 'SELECT * FROM account_keys ORDER BY account COLLATE "C", fingerprint COLLATE "C"')
        : await rows<KeyRow>(this.pool, 'SELECT * FROM account_keys WHERE account = ? ORDER BY fingerprint COLLATE "C"', [account]);
    return found.map((r) => ({ account: r.account, fingerprint: r.fingerprint, type: r.key_type, data: r.key_data, comment: r.comment }));
  }

  async setGrant(grant: Grant): Promise<void> {
    await insert(
      this.pool,
      "INSERT INTO grants (account, path, role) VALUES (?, ?, ?) ON CONFLICT (account, path) DO UPDATE SET role = excluded.role",
      [grant.account, grant.path, grant.role],
      { noAccount: `no account ${grant.account}`, exists: `grant exists already` },
    );
  }

  async removeGrant(account: string, path: string): Promise<boolean> {
    return (await run(this.pool, "DELETE FROM grants WHERE account = ? AND path = ?", [account, path])) > 0;
  }

  async listGrants(account?: string): Promise<Grant[]> {
    return account === undefined
      ? rows<Grant>(this.pool, 'SELECT account, path, role FROM grants ORDER BY account COLLATE "C", path')
      : rows<Grant>(this.pool, "SELECT account, path, role FROM grants WHERE account = ? ORDER BY path", [account]);
  }

  async addToken(token: TokenRecord): Promise<void> {
    await insert(
      this.pool,
      "INSERT INTO tokens (id, secret_hash, account, label, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [token.id, token.secretHash, token.account, token.label, token.createdAt, token.expiresAt, token.revoked ? 1 : 0],
      { noAccount: `no account ${token.account}`, exists: `token ${token.id} exists already` },
    );
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = (await rows<TokenRow>(this.pool, "SELECT * FROM tokens WHERE id = ?", [id]))[0];
    return row && toToken(row);
  }

  async listTokens(account?: string): Promise<TokenRecord[]> {
    const found =
      account === undefined
        ? await rows<TokenRow>(this.pool, 'SELECT * FROM tokens ORDER BY created_at COLLATE "C", id COLLATE "C"')
        : await rows<TokenRow>(this.pool, 'SELECT * FROM tokens WHERE account = ? ORDER BY created_at COLLATE "C", id COLLATE "C"', [account]);
    return found.map(toToken);
  }

  async revokeToken(id: string): Promise<boolean> {
    return (await run(this.pool, "UPDATE tokens SET revoked = 1 WHERE id = ?", [id])) > 0;
  }
}

interface KeyRow {
  account: string;
  fingerprint: string;
  key_type: string;
  key_data: string;
  comment: string;
}
