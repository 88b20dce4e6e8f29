/**
 * How many cases every fuzz target runs, and with which seed (see docs/TESTING.md, "Fuzzing").
 *
 * - `ZSYNC_FUZZ_RUNS`: runs per property (default {@link DEFAULT_RUNS}, small enough that all
 *   targets together stay a few seconds of `npm test`; `npm run fuzz` sets 100000).
 * - `ZSYNC_FUZZ_SECONDS`: stop each property after this many seconds, passing with the runs done
 *   (the time budget of `npm run fuzz`); unset in `npm test`, where the run count bounds the work.
 * - `ZSYNC_FUZZ_SEED` (and `ZSYNC_FUZZ_PATH`): replay a failure; a failure prints both.
 */
import { test } from "node:test";
import fc from "fast-check";

/** Runs per property in `npm test`. */
export const DEFAULT_RUNS = 60;

export const FUZZ_RUNS = positiveNumber("ZSYNC_FUZZ_RUNS") ?? DEFAULT_RUNS;
const FUZZ_SECONDS = positiveNumber("ZSYNC_FUZZ_SECONDS");
/** One seed for every property of a process, printed on failure. */
export const FUZZ_SEED = process.env.ZSYNC_FUZZ_SEED === undefined ? (Math.random() * 2 ** 31) | 0 : Number(process.env.ZSYNC_FUZZ_SEED);
const FUZZ_PATH = process.env.ZSYNC_FUZZ_PATH;

function positiveNumber(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === "") return undefined;
  const value = Number(text);
  if (!(value > 0)) throw new Error(`${name} must be a positive number, not ${JSON.stringify(text)}`);
  return value;
}

/**
 * Declares a test that checks `property` with the configured runs and seed; on failure it throws
 * with the seed, the counterexample and the command that replays it.
 *
 * @param opts.weight share of the runs this property gets (expensive properties run fewer cases)
 * @param opts.examples fixed cases run first every time: regression inputs of bugs found
 */
export function fuzzTest<Ts>(
  name: string,
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  opts: { weight?: number; examples?: Ts[] } = {},
): void {
  test(name, async () => {
    const numRuns = Math.max(1, Math.round(FUZZ_RUNS * (opts.weight ?? 1)));
    const started = Date.now();
    const details = await fc.check(property as fc.IAsyncProperty<Ts>, {
      numRuns,
      seed: FUZZ_SEED,
      ...(FUZZ_PATH === undefined ? {} : { path: FUZZ_PATH }),
      examples: opts.examples ?? [],
      // A run that takes this long is a hang (async properties only).
      timeout: 10_000,
      ...(FUZZ_SECONDS === undefined ? {} : { interruptAfterTimeLimit: FUZZ_SECONDS * 1000, markInterruptAsFailure: false }),
    });
    if (process.env.ZSYNC_FUZZ_RUNS !== undefined || FUZZ_SECONDS !== undefined) {
      process.stdout.write(`fuzz: ${details.numRuns} runs in ${Date.now() - started} ms: ${name}\n`);
    }
    if (details.failed) {
      const replay = `ZSYNC_FUZZ_SEED=${details.seed} ZSYNC_FUZZ_PATH=${details.counterexamplePath ?? ""}`;
      const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      throw new Error(`${fc.defaultReportMessage(details)}\nFailure: ${cause}\nReplay: ${replay} node --import tsx --test <this file>`, {
        cause: details.errorInstance,
      });
    }
  });
}
