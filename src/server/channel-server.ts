/**
 * An HTTP server for connections that are not TCP sockets: ssh channels and stdin/stdout. The
 * streams get the few socket methods node:http calls, and are emitted as connections into an
 * ordinary http.Server running the request handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** What a stream needs to pass for a socket with node:http. */
type SocketLike = Duplex & {
  remoteAddress?: string;
  remotePort?: number;
  setTimeout?: unknown;
  setNoDelay?: unknown;
  setKeepAlive?: unknown;
  ref?: unknown;
  unref?: unknown;
};

/** The JSON answer to bytes that are not HTTP/1.1; the connection is closed after it. */
const BAD_REQUEST_BODY = JSON.stringify({ error: { code: "bad-request", message: "malformed HTTP request" } });
const BAD_REQUEST =
  "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json; charset=utf-8\r\n" +
  `content-length: ${Buffer.byteLength(BAD_REQUEST_BODY)}\r\nconnection: close\r\n\r\n${BAD_REQUEST_BODY}`;

/** An http.Server that serves streams handed to it. */
export interface ChannelServer {
  server: Server;
  /** Serves HTTP on `stream` until either side ends it. */
  adopt(stream: Duplex, options?: { remoteAddress?: string; remotePort?: number }): void;
  /** Ends every adopted connection. */
  close(): Promise<void>;
}

/** Builds the server around the request handler `app`. */
export function createChannelServer(app: (req: IncomingMessage, res: ServerResponse) => void): ChannelServer {
  const server = createServer({ requestTimeout: 0 }, app);
  // A client that sends its request and then EOF (`ssh -s host zsync < request`) must still get
  // the answer: node:http would otherwise abort the request when the stream half-closes.
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.on("clientError", (_error, socket) => {
    if (socket.writable) socket.end(BAD_REQUEST);
    else socket.destroy();
  });
  return {
    server,
    adopt(stream, options = {}) {
      const socket = stream as SocketLike;
      // Timeouts, Nagle and keep-alive probes belong to the carrying transport, not to the stream.
      for (const method of ["setTimeout", "setNoDelay", "setKeepAlive", "ref", "unref"] as const) {
        if (typeof socket[method] !== "function") socket[method] = () => socket;
      }
      socket.remoteAddress ??= options.remoteAddress ?? "local";
      socket.remotePort ??= options.remotePort ?? 0;
      server.emit("connection", socket);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
