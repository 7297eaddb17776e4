import type { ServiceConfig } from '../../../control/config/schema.ts';
import { LinearRegex } from '../../router/linear-regex.ts';

type CorsConfig = NonNullable<ServiceConfig['cors']>;

/**
 * A service's CORS config compiled once: origin tests (exact set, any, or
 * anchored regexes), and the header objects that never change per request
 * built ahead so most replies allocate nothing.
 */
export interface CorsPolicy {
  allowsOrigin(origin: string): boolean;
  /** Set when any origin is allowed without credentials: `Access-Control-Allow-Origin: *`, the same object for every
   * reply. */
  readonly wildcard: Record<string, string> | undefined;
  /** `Vary: Origin`, for replies whose headers depend on an Origin they did not get or did not allow. */
  readonly varyOnly: Record<string, string> | undefined;
  readonly credentials: boolean;
  readonly exposeHeaders: string;
  readonly anyMethod: boolean;
  readonly methods: ReadonlySet<string>;
  readonly methodList: string;
  readonly anyHeader: boolean;
  readonly headers: ReadonlySet<string>;
  readonly headerList: string;
  readonly maxAge: string;
}

export function compileCors(conf: CorsConfig): CorsPolicy {
  const exact = new Set<string>();
  const patterns: LinearRegex[] = [];
  let any = false;
  for (const o of conf.allow_origins) {
    if (o === '*') any = true;
    // Anchored whole, so `~https://.*\.example\.com` cannot be met by `https://x.example.com.evil.net`.
    else if (o.startsWith('~')) patterns.push(new LinearRegex(`^(?:${o.slice(1)})$`));
    else exact.add(o.toLowerCase());
  }
  const exposeHeaders = conf.expose_headers.join(', ');
  let wildcard: Record<string, string> | undefined;
  if (any && !conf.allow_credentials) {
    wildcard = { 'access-control-allow-origin': '*' };
    if (exposeHeaders) wildcard['access-control-expose-headers'] = exposeHeaders;
    Object.freeze(wildcard);
  }
  const methods = conf.allow_methods.filter((m) => m !== '*');
  const headers = conf.allow_headers.filter((h) => h !== '*').map((h) => h.toLowerCase());
  return {
    allowsOrigin: (origin) => {
      if (any) return true;
      if (exact.has(origin)) return true;
      for (const re of patterns) if (re.test(origin)) return true;
      return exact.size > 0 && exact.has(origin.toLowerCase());
    },
    wildcard,
    varyOnly: wildcard ? undefined : Object.freeze({ vary: 'Origin' }),
    credentials: conf.allow_credentials,
    exposeHeaders,
    anyMethod: conf.allow_methods.includes('*'),
    methods: new Set(methods),
    methodList: methods.join(', '),
    anyHeader: conf.allow_headers.includes('*'),
    headers: new Set(headers),
    headerList: conf.allow_headers.filter((h) => h !== '*').join(', '),
    maxAge: String(conf.max_age_s),
  };
}

/** Every name in an Access-Control-Request-Headers list is allowed (names are case-insensitive). */
export function headersAllowed(policy: CorsPolicy, requested: string): boolean {
  if (policy.anyHeader || requested === '') return true;
  for (const raw of requested.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name !== '' && !policy.headers.has(name)) return false;
  }
  return true;
}
