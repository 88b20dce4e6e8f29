/**
 * Accounts, for managers: list, add, change role, reset password, remove; grants per path; ssh
 * keys; login tokens (made here once, shown once, revocable). Everything the `zsync-server user`,
 * `grant` and `token` commands do, on the same store.
 */
import { hashPassword } from "../auth.js";
import { ACCOUNT_ROLES, GRANT_ROLES } from "../authz/access.js";
import { parseAuthorizedKeys, PublicKeyFormatError } from "../ssh/authorized-keys.js";
import { InvalidChangeError } from "../store/types.js";
import { mintToken } from "../tokens.js";
import { ManageError, pathParam, redirect, type Page } from "./context.js";
import { formatDate, html, href, type Html } from "./html.js";
import { csrfField, sendPage } from "./layout.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function requireManager(page: Page): void {
  if (page.access.accountRole !== "manager") throw new ManageError(403, "only managers manage accounts");
}

function roleSelect(id: string, roles: readonly string[], selected: string): Html {
  return html`<select id="${id}" name="role">${roles.map((r) => html`<option value="${r}" ${r === selected ? html`selected` : ""}>${r}</option>`)}</select>`;
}

/** GET /manage/accounts */
export async function showAccounts(page: Page, extra?: Html): Promise<void> {
  requireManager(page);
  const { store } = page.deps;
  const [accounts, grants, keys, tokens] = await Promise.all([store.listAccounts(), store.listGrants(), store.listAccountKeys(), store.listTokens()]);
  const csrf = csrfField(page.session);
  const form = (action: string, body: Html, label: string, danger = false, confirm?: string) =>
    html`<form class="inline" method="post" action="${href("accounts")}" ${confirm ? html`data-confirm="${confirm}"` : ""}>${csrf}<input type="hidden" name="action" value="${action}">${body}<button type="submit" class="${danger ? "danger" : "secondary"}">${label}</button></form>`;
  const sections = accounts.map((a) => {
    const id = (s: string) => `${s}-${a.name}`;
    const who = html`<input type="hidden" name="name" value="${a.name}">`;
    return html`<section class="panel account" aria-labelledby="${id("h")}">
      <h2 id="${id("h")}">${a.name} <span class="muted">${a.role}</span></h2>
      <div class="actions">
        ${form("role", html`${who}<label class="visually-hidden" for="${id("role")}">Role of ${a.name}</label>${roleSelect(id("role"), ACCOUNT_ROLES, a.role)}`, "Change role")}
        ${form("password", html`${who}<label class="visually-hidden" for="${id("pw")}">New password for ${a.name}</label><input id="${id("pw")}" name="password" type="password" autocomplete="new-password" required placeholder="new password">`, "Reset password")}
        ${a.name === page.access.name ? "" : form("remove", who, "Remove account", true, `Remove the account ${a.name}?`)}
      </div>
      <h3>Grants</h3>
      <ul>${grants.filter((g) => g.account === a.name).map((g) => html`<li>/${g.path}: ${g.role} ${form("ungrant", html`${who}<input type="hidden" name="path" value="${"/" + g.path}">`, "Remove grant")}</li>`)}</ul>
      ${form("grant", html`${who}<label for="${id("gp")}">Path</label><input id="${id("gp")}" name="path" placeholder="/docs" required><label for="${id("gr")}">Role there</label>${roleSelect(id("gr"), GRANT_ROLES, "reader")}`, "Grant")}
      <h3>ssh keys</h3>
      <ul>${keys.filter((k) => k.account === a.name).map((k) => html`<li><code>${k.fingerprint}</code> ${k.type} ${k.comment} ${form("key-remove", html`${who}<input type="hidden" name="fingerprint" value="${k.fingerprint}">`, "Remove key")}</li>`)}</ul>
      ${form("key-add", html`${who}<label for="${id("key")}">Public key (an authorized_keys line)</label><input id="${id("key")}" name="key" required placeholder="ssh-ed25519 AAAA… comment">`, "Add key")}
      <h3>Login tokens</h3>
      <ul>${tokens.filter((t) => t.account === a.name).map((t) => html`<li><code>${t.id}</code> ${t.label || "(no label)"} · made ${formatDate(t.createdAt)} · ${t.revoked ? "revoked" : t.expiresAt ? `expires ${formatDate(t.expiresAt)}` : "no expiry"} ${t.revoked ? "" : form("token-revoke", html`<input type="hidden" name="id" value="${t.id}">`, "Revoke")}</li>`)}</ul>
      ${form("token-add", html`${who}<label for="${id("tl")}">Label</label><input id="${id("tl")}" name="label" placeholder="laptop">`, "Make a token")}
    </section>`;
  });
  sendPage(page.res, {
    title: "Accounts",
    session: page.session,
    manager: true,
    body: html`<h1>Accounts</h1>${extra ?? ""}
      <section class="panel" aria-labelledby="add-h"><h2 id="add-h">Add an account</h2>
        <form method="post" action="${href("accounts")}">${csrf}<input type="hidden" name="action" value="add">
          <label for="add-name">Name</label><input id="add-name" name="name" required autocomplete="off">
          <label for="add-password">Password</label><input id="add-password" name="password" type="password" required autocomplete="new-password">
          <label for="add-role">Role</label>${roleSelect("add-role", ACCOUNT_ROLES, "editor")}
          <p><button type="submit">Add account</button></p>
        </form>
      </section>
      ${sections}`,
  });
}

/** POST /manage/accounts: one `action` per form. */
export async function changeAccounts(page: Page, form: URLSearchParams): Promise<void> {
  requireManager(page);
  const { store, sessions } = page.deps;
  const action = form.get("action") ?? "";
  const name = form.get("name") ?? "";
  const role = form.get("role") ?? "";
  const needAccount = async () => {
    if (!(await store.getAccount(name))) throw new ManageError(404, `no account ${JSON.stringify(name)}`);
  };
  const password = () => {
    const value = form.get("password") ?? "";
    if (value.length < 8) throw new ManageError(400, "a password needs at least 8 characters");
    return value;
  };
  let done: string;
  try {
    switch (action) {
      case "add":
        if (!NAME.test(name)) throw new ManageError(400, "a name is 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit");
        if (!(ACCOUNT_ROLES as readonly string[]).includes(role)) throw new ManageError(400, "unknown role");
        await store.addAccount(name, await hashPassword(password()), role);
        done = `Added ${name} (${role}).`;
        break;
      case "role":
        await needAccount();
        if (!(ACCOUNT_ROLES as readonly string[]).includes(role)) throw new ManageError(400, "unknown role");
        if (name === page.access.name && role !== "manager") throw new ManageError(409, "you cannot take the manager role from yourself; ask another manager");
        await store.updateAccount(name, { role });
        done = `${name} is now ${role}.`;
        break;
      case "password":
        await needAccount();
        await store.updateAccount(name, { passwordHash: await hashPassword(password()) });
        if (name !== page.access.name) sessions.destroyAccount(name);
        done = `Changed the password of ${name}.`;
        break;
      case "remove":
        await needAccount();
        if (name === page.access.name) throw new ManageError(409, "you cannot remove your own account; ask another manager");
        await store.removeAccount(name);
        sessions.destroyAccount(name);
        done = `Removed ${name}.`;
        break;
      case "grant": {
        await needAccount();
        if (!(GRANT_ROLES as readonly string[]).includes(role)) throw new ManageError(400, "unknown role");
        const path = pathParam(form.get("path"));
        await store.setGrant({ account: name, path, role });
        done = `${name} is ${role} on /${path}.`;
        break;
      }
      case "ungrant": {
        const path = pathParam(form.get("path"));
        if (!(await store.removeGrant(name, path))) throw new ManageError(404, `${name} has no grant on /${path}`);
        done = `Removed the grant of ${name} on /${path}.`;
        break;
      }
      case "key-add": {
        await needAccount();
        const keys = parseAuthorizedKeys(form.get("key") ?? "", { source: "the key field" });
        if (keys.length === 0) throw new ManageError(400, "paste one public key");
        for (const key of keys) await store.addAccountKey({ account: name, ...key });
        done = `Added ${keys.length} key${keys.length === 1 ? "" : "s"} to ${name}.`;
        break;
      }
      case "key-remove":
        if (!(await store.removeAccountKey(name, form.get("fingerprint") ?? ""))) throw new ManageError(404, `${name} has no such key`);
        done = `Removed a key of ${name}.`;
        break;
      case "token-add": {
        await needAccount();
        const label = (form.get("label") ?? "").slice(0, 200).replace(/[\x00-\x1f\x7f]/g, "");
        const minted = await mintToken(store, name, { label, ttlMs: page.deps.tokenTtlMs });
        // Shown once, on this answer only (never in a redirect URL or a flash kept in the session).
        return showAccounts(page, html`<div class="flash ok" role="status"><p>Token for ${name} (shown only now; copy it):</p><p><code id="new-token">${minted.token}</code></p></div>`);
      }
      case "token-revoke":
        if (!(await store.revokeToken(form.get("id") ?? ""))) throw new ManageError(404, "no such token");
        done = "Revoked the token.";
        break;
      default:
        throw new ManageError(400, "unknown action");
    }
  } catch (error) {
    if (error instanceof InvalidChangeError || error instanceof PublicKeyFormatError) throw new ManageError(409, error.message);
    throw error;
  }
  page.deps.log(`manage: ${page.access.name}: ${done}`);
  page.session.flash = { kind: "ok", text: done };
  redirect(page.res, href("accounts"));
}
