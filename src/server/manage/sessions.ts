/**
 * Server-side sessions of the /manage pages, in memory: the cookie carries only a random id, so
 * logging out (or a restart) ends a session for good. A new id is made at login (no session
 * fixation); each session has its own CSRF token; a session dies after an idle time and a
 * maximum age (both on the server's clock, `serverNow`, which tests can move), and when its
 * account's password changes.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { serverNow } from "../clock.js";

/** One logged-in browser (or, before login, one visitor: `account` undefined). */
export interface Session {
  id: string;
  /** Account name; undefined before login. Anonymous servers use "anonymous". */
  account?: string;
  /** Password hash at login: a changed password ends the session. */
  passwordHash?: string;
  csrf: string;
  created: number;
  lastSeen: number;
  /** A message for the next page shown (after a redirect). */
  flash?: { kind: "ok" | "error"; text: string };
}

export interface SessionOptions {
  idleMs?: number;
  maxAgeMs?: number;
  /** Milliseconds since the epoch; default the server's clock (`serverNow`), never `Date.now` directly. */
  now?: () => number;
  /** Most sessions kept; the least recently used go first. */
  maxSessions?: number;
}

export const SESSION_COOKIE = "zsync_session";

/** The session table of one server process. */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly maxSessions: number;

  constructor(options: SessionOptions = {}) {
    this.idleMs = options.idleMs ?? 12 * 3600_000;
    this.maxAgeMs = options.maxAgeMs ?? 7 * 86_400_000;
    this.now = options.now ?? (() => serverNow());
    this.maxSessions = options.maxSessions ?? 10_000;
  }

  /** A new session with fresh id and CSRF token. */
  create(fields: Pick<Session, "account" | "passwordHash"> = {}): Session {
    const now = this.now();
    if (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const session: Session = { id: randomBytes(32).toString("base64url"), csrf: randomBytes(32).toString("base64url"), created: now, lastSeen: now, ...fields };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, touched; undefined when unknown or expired. */
  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    const now = this.now();
    if (now - session.lastSeen > this.idleMs || now - session.created > this.maxAgeMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastSeen = now;
    // Re-insert so iteration order is least recently used first.
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  /** Ends every session of an account (password reset, removal). */
  destroyAccount(account: string): void {
    for (const [id, session] of this.sessions) if (session.account === account) this.sessions.delete(id);
  }
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfMatches(session: Session, submitted: string | undefined): boolean {
  if (typeof submitted !== "string") return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The session id from a Cookie header. */
export function sessionIdFrom(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie value for a session (HttpOnly, SameSite=Strict, Secure under TLS); `undefined` clears it. */
export function sessionCookie(session: Session | undefined, secure: boolean): string {
  const attributes = ["Path=/manage", "HttpOnly", "SameSite=Strict", ...(secure ? ["Secure"] : [])];
  if (!session) return [`${SESSION_COOKIE}=`, "Max-Age=0", ...attributes].join("; ");
  return [`${SESSION_COOKIE}=${session.id}`, ...attributes].join("; ");
}
