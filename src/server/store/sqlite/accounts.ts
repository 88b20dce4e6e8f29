/**
 * Accounts, ssh keys, grants and tokens in SQLite: the part of the `Store` interface that is not
 * about content. `SqliteStore` (store.ts) extends this class.
 */
import { syncStateValues, toListedSyncState, toSyncState, toToken, type SyncStateRow, type TokenRow } from "../rows.js";
import { InvalidChangeError, type Account, type AccountKey, type Grant, type SyncState, type TokenRecord } from "../types.js";
import type { SqliteConnection } from "./connection.js";

/** The account methods of the SQLite store. */
export class SqliteAccounts {
  constructor(protected readonly conn: SqliteConnection) {}

  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction. */
  private write(fn: () => void): void {
    this.conn.db.transaction(fn).immediate();
  }

  private requireAccount(name: string): void {
    if (!this.conn.stmt("SELECT 1 FROM accounts WHERE name = ?").get(name)) throw new InvalidChangeError(`no account ${name}`, []);
  }

  async addAccount(name: string, passwordHash: string, role: string): Promise<void> {
    this.write(() => {
      if (this.conn.stmt("SELECT 1 FROM accounts WHERE name = ?").get(name)) throw new InvalidChangeError(`account ${name} exists already`, []);
      this.conn.stmt("INSERT INTO accounts (name, password_hash, role) VALUES (?, ?, ?)").run(name, passwordHash, role);
    });
  }

  async getAccount(name: string): Promise<(Account & { passwordHash: string }) | undefined> {
    const row = this.conn.stmt("SELECT name, password_hash, role FROM accounts WHERE name = ?").get(name) as
      | { name: string; password_hash: string; role: string }
      | undefined;
    return row && { name: row.name, role: row.role, passwordHash: row.password_hash };
  }

  async countAccounts(): Promise<number> {
    return (this.conn.stmt("SELECT COUNT(*) AS n FROM accounts").get() as { n: number }).n;
  }

  async listAccounts(): Promise<Account[]> {
    return this.conn.stmt("SELECT name, role FROM accounts ORDER BY name").all() as Account[];
  }

  async updateAccount(name: string, change: { passwordHash?: string; role?: string }): Promise<void> {
    this.write(() => {
      this.requireAccount(name);
      if (change.passwordHash !== undefined) this.conn.stmt("UPDATE accounts SET password_hash = ? WHERE name = ?").run(change.passwordHash, name);
      if (change.role !== undefined) this.conn.stmt("UPDATE accounts SET role = ? WHERE name = ?").run(change.role, name);
    });
  }

  async removeAccount(name: string): Promise<void> {
    this.write(() => {
      this.requireAccount(name);
      // Explicit deletes rather than relying on ON DELETE CASCADE: older databases may lack it.
      for (const table of ["account_keys", "grants", "tokens", "syncml_state"]) this.conn.stmt(`DELETE FROM ${table} WHERE account = ?`).run(name);
      this.conn.stmt("DELETE FROM accounts WHERE name = ?").run(name);
    });
  }

  async addAccountKey(key: AccountKey): Promise<void> {
    this.write(() => {
      this.requireAccount(key.account);
      if (this.conn.stmt("SELECT 1 FROM account_keys WHERE account = ? AND fingerprint = ?").get(key.account, key.fingerprint)) {
        throw new InvalidChangeError(`account ${key.account} has key ${key.fingerprint} already`, []);
      }
      this.conn
        .stmt("INSERT INTO account_keys (account, fingerprint, key_type, key_data, comment) VALUES (?, ?, ?, ?, ?)")
        .run(key.account, key.fingerprint, key.type, key.data, key.comment);
    });
  }

  async getSyncState(account: string, device: string, datastore: string): Promise<SyncState | undefined> {
    const row = this.conn.stmt("SELECT * FROM syncml_state WHERE account = ? AND device = ? AND datastore = ?").get(account, device, datastore) as SyncStateRow | undefined;
    return row && toSyncState(row);
  }

  async listSyncStates(): Promise<(SyncState & { updatedAt: string })[]> {
    return (this.conn.stmt("SELECT * FROM syncml_state ORDER BY account, device, datastore").all() as SyncStateRow[]).map(toListedSyncState);
  }

  async putSyncState(state: SyncState): Promise<void> {
    this.write(() => {
      this.requireAccount(state.account);
      this.conn
        .stmt(
          `INSERT INTO syncml_state (account, device, datastore, client_anchor, server_anchor, items, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (account, device, datastore) DO UPDATE SET client_anchor = excluded.client_anchor, server_anchor = excluded.server_anchor,
           items = excluded.items, updated_at = excluded.updated_at`,
        )
        .run(...syncStateValues(state));
    });
  }

  async removeAccountKey(account: string, fingerprint: string): Promise<boolean> {
    return this.conn.stmt("DELETE FROM account_keys WHERE account = ? AND fingerprint = ?").run(account, fingerprint).changes > 0;
  }

  async listAccountKeys(account?: string): Promise<AccountKey[]> {
    const rows = (
      account === undefined
        ? this.conn.stmt("SELECT * FROM account_keys ORDER BY account, fingerprint").all()
        : this.conn.stmt("SELECT * FROM account_keys WHERE account = ? ORDER BY fingerprint").all(account)
    ) as { account: string; fingerprint: string; key_type: string; key_data: string; comment: string }[];
    return rows.map((r) => ({ account: r.account, fingerprint: r.fingerprint, type: r.key_type, data: r.key_data, comment: r.comment }));
  }

  async setGrant(grant: Grant): Promise<void> {
    this.write(() => {
      this.requireAccount(grant.account);
      this.conn.stmt("DELETE FROM grants WHERE account = ? AND path = ?").run(grant.account, grant.path);
      this.conn.stmt("INSERT INTO grants (account, path, role) VALUES (?, ?, ?)").run(grant.account, grant.path, grant.role);
    });
  }

  async removeGrant(account: string, path: string): Promise<boolean> {
    return this.conn.stmt("DELETE FROM grants WHERE account = ? AND path = ?").run(account, path).changes > 0;
  }

  async listGrants(account?: string): Promise<Grant[]> {
    return (
      account === undefined
        ? this.conn.stmt("SELECT account, path, role FROM grants ORDER BY account, path").all()
        : this.conn.stmt("SELECT account, path, role FROM grants WHERE account = ? ORDER BY path").all(account)
    ) as Grant[];
  }

  async addToken(token: TokenRecord): Promise<void> {
    this.write(() => {
      this.requireAccount(token.account);
      if (this.conn.stmt("SELECT 1 FROM tokens WHERE id = ?").get(token.id)) throw new InvalidChangeError(`token ${token.id} exists already`, []);
      this.conn
        .stmt("INSERT INTO tokens (id, secret_hash, account, label, created_at, expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(token.id, token.secretHash, token.account, token.label, token.createdAt, token.expiresAt, token.revoked ? 1 : 0);
    });
  }

  async getToken(id: string): Promise<TokenRecord | undefined> {
    const row = this.conn.stmt("SELECT * FROM tokens WHERE id = ?").get(id) as TokenRow | undefined;
    return row && toToken(row);
  }

  async listTokens(account?: string): Promise<TokenRecord[]> {
    const rows = (
      account === undefined
        ? this.conn.stmt("SELECT * FROM tokens ORDER BY created_at, id").all()
        : this.conn.stmt("SELECT * FROM tokens WHERE account = ? ORDER BY created_at, id").all(account)
    ) as TokenRow[];
    return rows.map(toToken);
  }

  async revokeToken(id: string): Promise<boolean> {
    return this.conn.stmt("UPDATE tokens SET revoked = 1 WHERE id = ?").run(id).changes > 0;
  }
}
