/**
 * A progress bar on stderr for long transfers — only on a terminal, never with --json or -q.
 */
import { createRequire } from "node:module";
import type cliProgressTypes from "cli-progress";

/** Human-readable bytes: 1.5 MiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Below this many files and bytes a transfer finishes before a bar would help. */
const MIN_BYTES = 8 * 1024 * 1024;

/**
 * Returns a progress callback (files done and total, and bytes done and total when known) and a
 * function that closes the bar; no-ops when not wanted. The bar counts bytes as well as files.
 */
export function transferProgress(
  label: string,
  opts: { enabled: boolean; minimum?: number },
): { update: (done: number, total: number, bytes?: number, totalBytes?: number) => void; stop: () => void } {
  if (!opts.enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgressTypes.SingleBar | undefined;
  return {
    update(done, total, bytes, totalBytes) {
      // The bar fills by bytes when they are known (one large file moves it too), else by files.
      const byBytes = bytes !== undefined && totalBytes !== undefined && totalBytes > 0;
      const payload = { files: `${done}/${total}`, sizes: byBytes ? `, ${formatBytes(bytes)} of ${formatBytes(totalBytes)}` : "" };
      // Small transfers finish before a bar would help.
      if (!bar && (total >= (opts.minimum ?? 200) || (totalBytes ?? 0) >= MIN_BYTES)) {
        const cliProgress = createRequire(import.meta.url)("cli-progress") as typeof cliProgressTypes; // loaded only when a bar is shown
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${label} [{bar}] {files} files{sizes}`, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(byBytes ? totalBytes : total, byBytes ? bytes : done, payload);
      }
      bar?.update(byBytes ? bytes : done, payload);
    },
    stop() {
      bar?.stop();
    },
  };
}
