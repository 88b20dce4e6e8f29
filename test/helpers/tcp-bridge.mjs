#!/usr/bin/env node
// An sshd subsystem for tests: copies stdin/stdout to and from a TCP connection to the real
// zsync-server HTTP port (`tcp-bridge.mjs HOST PORT`), so OpenSSH carries the HTTP bytes.
import { connect } from "node:net";

const [host, port] = process.argv.slice(2);
const socket = connect(Number(port), host);
process.stdin.pipe(socket);
socket.pipe(process.stdout);
socket.on("error", (error) => {
  process.stderr.write(`tcp-bridge: ${error.message}\n`);
  process.exit(1);
});
socket.on("close", () => process.exit(0));
process.stdin.on("end", () => socket.end());
