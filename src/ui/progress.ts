/**
 * A progress bar on stderr for long transfers — only on a terminal, never with --json or -q.
 */
import { createRequire } from "node:module";
import type cliProgressTypes from "cli-progress";

/** Returns a progress callback and a function that closes the bar; no-ops when not wanted. */
export function transferProgress(label: string, opts: { enabled: boolean; minimum?: number }): { update: (done: number, total: number) => void; stop: () => void } {
  if (!opts.enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgressTypes.SingleBar | undefined;
  return {
    update(done, total) {
      // Small transfers finish before a bar would help.
      if (!bar && total >= (opts.minimum ?? 200)) {
        const cliProgress = createRequire(import.meta.url)("cli-progress") as typeof cliProgressTypes; // loaded only when a bar is shown
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {value}/{total} files`, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
      }
      bar?.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}
