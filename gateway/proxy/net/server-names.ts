/**
 * Values chosen by a TLS server name (SNI), exact names before wildcards: `*.example.com` covers one label
 * (`a.example.com`, neither `example.com` nor `a.b.example.com`). Names are matched in any case, a trailing dot
 * ignored. A TLS listener's certificates and a stream's SNI routes are chosen this way.
 */
export class ServerNames<T> {
  readonly #exact = new Map<string, T>();
  /** By the domain under the wildcard: `example.com` for `*.example.com`. */
  readonly #wildcard = new Map<string, T>();

  /** `name` (or `*.domain`) now chooses `value`; a name added again takes the later value. */
  add(name: string, value: T): void {
    const lower = name.toLowerCase();
    if (lower.startsWith('*.')) this.#wildcard.set(lower.slice(2), value);
    else this.#exact.set(lower, value);
  }

  /** The value `serverName` chooses, or undefined. */
  find(serverName: string): T | undefined {
    const name = (serverName.endsWith('.') ? serverName.slice(0, -1) : serverName).toLowerCase();
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.#wildcard.get(name.slice(dot + 1)) : undefined;
  }
}
