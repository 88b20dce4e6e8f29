/**
 * Proxies in front of the real zsync-server: one that can lose a commit's answer (the server
 * applies the commit, the client never hears of it — the state a client killed at that moment
 * leaves), and a TCP one that can go silent without closing (a sleeping laptop).
 */
import { createServer, request, type Server } from "node:http";
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from "node:net";

/** While `state.cutCommits` is set, commits are forwarded but their answers dropped (`state.cut` counts them). */
export async function answerDroppingProxy(serverUrl: string): Promise<{ origin: string; state: { cutCommits: boolean; cut: number }; server: Server }> {
  const target = new URL(serverUrl);
  const state = { cutCommits: false, cut: 0 };
  const proxy = createServer((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      if (state.cutCommits && req.url!.includes("@@fromFS.snarf")) {
        state.cut++;
        answer.resume();
        answer.on("end", () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  return { origin: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, state, server: proxy };
}

/**
 * A TCP proxy whose open connections can be frozen: `freeze()` stops forwarding on every open
 * connection without closing it (a laptop gone to sleep, a NAT box that forgot the flow: neither
 * side hears anything, not even a close). Connections made afterwards are forwarded normally.
 */
export interface FreezingProxy {
  origin: string;
  /** The first bytes each connection sent (its request line and headers). */
  requests: string[];
  /** Stops forwarding on every open connection, silently. */
  freeze(): void;
  close(): Promise<void>;
}

/** Starts a freezing proxy in front of `serverUrl`. */
export async function freezingProxy(serverUrl: string): Promise<FreezingProxy> {
  const target = new URL(serverUrl);
  const open = new Set<Socket>();
  const requests: string[] = [];
  const proxy = createNetServer((downstream) => {
    const upstream = connect(Number(target.port), target.hostname);
    open.add(downstream).add(upstream);
    let first = true;
    downstream.on("data", (chunk: Buffer) => {
      if (first) requests.push(chunk.toString("latin1"));
      first = false;
    });
    downstream.pipe(upstream).pipe(downstream);
    const forget = () => {
      open.delete(downstream);
      open.delete(upstream);
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on("error", forget).on("close", forget);
    upstream.on("error", forget).on("close", forget);
  });
  const frozen: Socket[] = [];
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", () => resolve()));
  return {
    origin: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    requests,
    freeze() {
      for (const socket of open) {
        socket.unpipe();
        socket.removeAllListeners("data");
        socket.removeAllListeners("close");
        socket.removeAllListeners("end");
        // Read and drop whatever still arrives, so neither side's writes are refused.
        socket.on("data", () => {});
        socket.on("error", () => {});
        frozen.push(socket);
      }
      open.clear();
    },
    async close() {
      for (const socket of [...frozen, ...open]) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
