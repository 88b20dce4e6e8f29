// The parts of undici the zsync client uses, bundled on their own by bundle-cli.js into
// dist/bundle/undici.mjs: undici's index loads all of it (fetch, WebSocket, caches, mocks), which
// costs every network command ~40 ms more than these. Same names and behaviour as undici's own.
import Agent from "undici/lib/dispatcher/agent.js";
import Pool from "undici/lib/dispatcher/pool.js";
import api from "undici/lib/api/index.js";
import { getGlobalDispatcher } from "undici/lib/global.js";

export { Agent, Pool };

/** undici's `request(url, opts)`: the URL gives origin and path, `opts.dispatcher` the connection. */
export function request(url, opts = {}) {
  const target = url instanceof URL ? url : new URL(url);
  const { dispatcher = getGlobalDispatcher(), ...rest } = opts;
  return api.request.call(dispatcher, {
    ...rest,
    origin: target.origin,
    path: target.search ? `${target.pathname}${target.search}` : target.pathname,
    method: rest.method || (rest.body ? "PUT" : "GET"),
  });
}
