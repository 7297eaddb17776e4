/**
 * The regular expressions a config holds (route paths and headers, rewrites, CORS origins) run on RE2's engine
 * (re2js), in time linear in the input: each is matched against what a client sends (a path, a header, an Origin),
 * and a backtracking engine given `^/api/(a+)+$` and `/api/aaaa…!` took 0.5 s for 26 characters and doubled with
 * each one more, stalling every request of the worker. RE2's syntax leaves out what needs backtracking
 * (lookarounds, backreferences): such a regex is refused when the config is checked, naming its field, as Envoy and
 * Traefik refuse it. Measured in docs/decisions/0019-linear-time-regexes.md.
 */
import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';

let engine: typeof RE2JS | undefined;
/**
 * re2js, loaded the first time a regex is compiled: loading it costs ~4 MB of RSS (its Unicode tables are built as
 * it loads), which a gateway whose config holds no regex does not pay. Required, not imported, so the bundle leaves
 * it to Node's loader until then (it is a production dependency, in the image's node_modules too).
 */
const re2 = (): typeof RE2JS => (engine ??= (createRequire(import.meta.url)('re2js') as typeof import('re2js')).RE2JS);

export class LinearRegex {
  readonly source: string;
  readonly ignoreCase: boolean;
  readonly #re: RE2JS;

  /** Throws (RE2's syntax error) when `source` is not an RE2 regular expression: regexError says why first. */
  constructor(source: string, ignoreCase = false) {
    this.source = source;
    this.ignoreCase = ignoreCase;
    this.#re = re2().compile(source, ignoreCase ? re2().CASE_INSENSITIVE : 0);
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
    re2().compile(source);
    return undefined;
  } catch (err) {
    return (
      `invalid regular expression: ${(err as Error).message} (regexes use RE2's syntax, which matches in linear ` +
      'time: no lookarounds or backreferences)'
    );
  }
}
