/**
 * Work to do when a command ends, success or failure: closing connections that would otherwise
 * keep the process alive (an ssh connection is one per command), then ending the process.
 */
const pending: (() => Promise<void>)[] = [];
let linger = false;

/** Registers `close` to run when the command ends. */
export function onCommandEnd(close: () => Promise<void>): void {
  pending.push(close);
}

/**
 * For a command that may leave work running when it returns (`watch` after an error: its
 * watchers and sockets close on their own): the process then ends when that work is done,
 * not at once.
 */
export function lingerAfterCommand(): void {
  linger = true;
}

/** Runs and forgets every registered close; never throws. */
export async function endCommand(): Promise<void> {
  const closes = pending.splice(0);
  await Promise.all(closes.map((close) => close().catch(() => {})));
}

/**
 * Ends the process with `process.exitCode` once the command is done and its output written.
 * Left to itself, Node waits for V8's background tasks (concurrent marking and sweeping of the
 * heap a large index made) before exiting: ~70 ms after a no-op update of 100,000 files. Output
 * not yet written (an asynchronous pipe elsewhere than on Linux) is waited for as before.
 */
export function exitWhenWritten(): void {
  if (linger || process.stdout.writableLength > 0 || process.stderr.writableLength > 0) return;
  process.exit();
}
