/**
 * Principals established by the transport rather than by HTTP headers: the ssh endpoint
 * authenticates the ssh user, then hands the channel to the HTTP handler as its socket. The
 * handler asks here first; a socket with no principal falls back to the Authorization header.
 */
import type { Principal } from "./auth.js";

const principals = new WeakMap<object, Principal>();

/** Records who every request on `socket` acts as. */
export function attachPrincipal(socket: object, principal: Principal): void {
  principals.set(socket, principal);
}

/** The principal the transport attached to `socket`, if any. */
export function transportPrincipal(socket: object): Principal | undefined {
  return principals.get(socket);
}
