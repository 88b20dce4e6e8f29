/**
 * Work to do when a command ends, success or failure: closing connections that would otherwise
 * keep the process alive (an ssh connection is one per command).
 */
const pending: (() => Promise<void>)[] = [];

/** Registers `close` to run when the command ends. */
export function onCommandEnd(close: () => Promise<void>): void {
  pending.push(close);
}

/** Runs and forgets every registered close; never throws. */
export async function endCommand(): Promise<void> {
  const closes = pending.splice(0);
  await Promise.all(closes.map((close) => close().catch(() => {})));
}
