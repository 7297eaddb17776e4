/**
 * The regular expressions a config holds (route paths and headers, rewrites, CORS origins) run on RE2's engine
 * (re2js), in time linear in the input: each is matched against what a client sends (a path, a header, an Origin),
 * and a backtracking engine given `^/api/(a+)+$` and `/api/aaaa…!` took 0.5 s for 26 characters and doubled with
 * each one more, stalling every request of the worker. RE2's syntax leaves out what needs backtracking
 * (lookarounds, backreferences): such a regex is refused when the config is checked, naming its field, as Envoy and
 * Traefik refuse it. Measured in docs/decisions/0019-linear-time-regexes.md.
 */
import { RE2JS } from 're2js';

export class LinearRegex {
  readonly source: string;
  readonly ignoreCase: boolean;
  readonly #re: RE2JS;

  /** Throws (RE2's syntax error) when `source` is not an RE2 regular expression: regexError says why first. */
  constructor(source: string, ignoreCase = false) {
    this.source = source;
    this.ignoreCase = ignoreCase;
    this.#re = RE2JS.compile(source, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  }

  /** Whether it matches anywhere in `input` (RegExp.prototype.test). */
  test(input: string): boolean {
    return this.#re.test(input);
  }

  /**
   * `input` with its first match replaced as String.prototype.replace replaces it (`$1`, `$<name>`, `$&`, `$$`).
   */
  replace(input: string, replacement: string): string {
    return this.#re.matcher(input).replaceFirst(replacement);
  }
}

/** Why `source` cannot be a config regex, or undefined when it can. */
export function regexError(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (err) {
    return (
      `invalid regular expression: ${(err as Error).message} (regexes use RE2's syntax, which matches in linear ` +
      'time: no lookarounds or backreferences)'
    );
  }
}
