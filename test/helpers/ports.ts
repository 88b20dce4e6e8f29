/** Free loopback ports for servers the tests start (sshd, PostgreSQL). */
import { createServer } from "node:net";

/** An unused loopback TCP port (there is a small race before the caller binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
