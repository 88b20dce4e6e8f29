/**
 * Runs the built `zsync` binary on a pseudo-terminal (node-pty), answering prompts as a person
 * would: each answer is typed once its prompt has appeared in the output.
 */
import pty from "node-pty";
import { cliEnv } from "./cli.js";
import { CLIENT_BIN } from "./server.js";

export interface PtyResult {
  code: number;
  /** Everything the terminal showed (stdout and stderr mixed, ANSI codes stripped). */
  output: string;
}

/** Removes ANSI escape sequences from terminal output. */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[ -\/]*[@-~]/g, "").replace(/\x1b[()][0-9A-Za-z]/g, "");
}

/** Runs `zsync ARGS` on a terminal; `answers` are typed in order when their prompt shows. */
export function zsyncInPty(
  args: string[],
  opts: { cwd: string; env: Record<string, string | undefined>; answers?: { prompt: RegExp; answer: string }[]; timeoutMs?: number },
): Promise<PtyResult> {
  return new Promise((resolve, reject) => {
    // No password unless the test gives one: these tests answer the prompt.
    const env = cliEnv({ ZSYNC_PASSWORD: process.env.ZSYNC_PASSWORD, TERM: "xterm", ...opts.env });
    const child = pty.spawn(process.execPath, [CLIENT_BIN, ...args], { cwd: opts.cwd, env, cols: 200, rows: 50, name: "xterm" });
    const answers = [...(opts.answers ?? [])];
    let output = "";
    let answeredUpTo = 0;
    child.onData((data) => {
      output += data;
      const next = answers[0];
      if (next && next.prompt.test(stripAnsi(output.slice(answeredUpTo)))) {
        answers.shift();
        answeredUpTo = output.length;
        child.write(next.answer + "\r");
      }
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`zsync ${args.join(" ")} on a terminal did not finish; output so far:\n${stripAnsi(output)}`));
    }, opts.timeoutMs ?? 60_000);
    child.onExit(({ exitCode }) => {
      clearTimeout(timer);
      // The last output can arrive just after the exit event.
      setTimeout(() => resolve({ code: exitCode, output: stripAnsi(output) }), 50);
    });
  });
}
