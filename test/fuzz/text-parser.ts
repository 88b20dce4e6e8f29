/**
 * A fuzz target for any parser of text (a URL, a line of a file): three properties from a few
 * facts about the parser. The URL target uses it; a known_hosts line parser needs only a file like
 *
 * ```ts
 * fuzzTextParser({
 *   name: "known_hosts lines",
 *   parse: parseKnownHostsLine,
 *   isOwnError: (error) => error instanceof KnownHostsError,
 *   validArb: knownHostsLineArb,          // lines ssh-keygen would write
 *   noiseArb: nearlyValidKnownHostsLineArb,
 *   invariant: (entry) => { … },          // e.g. hosts non-empty, key type known, key bytes decode
 *   format: formatKnownHostsLine,         // if the module can write lines back
 * });
 * ```
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { mutateText, mutationsArb } from "./mutate.js";
import { fuzzTest } from "./runs.js";

export interface TextParserTarget<T> {
  /** Names the three tests. */
  name: string;
  parse: (text: string) => T;
  /** True for the errors the parser documents; any other error fails the property. */
  isOwnError: (error: unknown) => boolean;
  /** Inputs the parser must accept. */
  validArb: fc.Arbitrary<string>;
  /** Nearly valid inputs, to reach the edges of the rules. */
  noiseArb?: fc.Arbitrary<string>;
  /** What every accepted input's result satisfies; throw (assert) when it does not. */
  invariant: (result: T, text: string) => void;
  /** Writes a result back as text: then parse(format(parse(x))) must equal parse(x). */
  format?: (result: T) => string;
  /** Regression inputs, checked first on every run. */
  examples?: string[];
}

/** Declares the parser's fuzz tests: valid inputs, arbitrary and nearly valid inputs, mutated valid inputs. */
export function fuzzTextParser<T>(target: TextParserTarget<T>): void {
  const attempt = (text: string): { result?: T; error?: unknown } => {
    try {
      return { result: target.parse(text) };
    } catch (error) {
      if (!target.isOwnError(error)) throw error;
      return { error };
    }
  };
  const check = (text: string): void => {
    const { result, error } = attempt(text);
    if (error !== undefined) return;
    target.invariant(result as T, text);
    if (target.format) assert.deepEqual(attempt(target.format(result as T)).result, result, "format then parse changes the result");
  };

  fuzzTest(
    `${target.name}: valid inputs are accepted and obey the invariants`,
    fc.property(target.validArb, (text) => {
      const { error } = attempt(text);
      assert.equal(error, undefined, `rejected: ${String(error)}`);
      check(text);
    }),
  );
  fuzzTest(
    `${target.name}: any input is accepted and safe, or refused with the parser's own error`,
    fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 80 }), target.noiseArb ?? target.validArb), check),
    { examples: (target.examples ?? []).map((text) => [text] as [string]) },
  );
  fuzzTest(
    `${target.name}: mutated valid inputs are accepted and safe, or refused with the parser's own error`,
    fc.property(target.validArb, mutationsArb(), (text, mutations) => check(mutateText(text, mutations))),
  );
}
