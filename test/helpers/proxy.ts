/**
 * A proxy in front of the real zsync-server that can lose a commit's answer: the server applies
 * the commit, the client never hears of it — the state a client killed at that moment leaves.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

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
