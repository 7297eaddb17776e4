/**
 * The console's only way to the gateway: the public admin, report and billing APIs, with the admin token (when
 * one is needed) in the Authorization header, never in a URL. The token lives in sessionStorage: it goes when the
 * tab closes.
 */

const TOKEN_KEY = 'tollgate-admin-token';

/** An answer other than 2xx: the registry's `{code, message}`, and `errors` for a refused config. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly errors: ReadonlyArray<{ path: string; message: string }>;
  /** The serving version's ETag, on a 412 (someone else changed the config). */
  readonly etag: string | undefined;

  constructor(status: number, body: Record<string, unknown>, etag: string | undefined) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = typeof body.code === 'string' ? body.code : '';
    this.errors = Array.isArray(body.errors) ? (body.errors as ApiError['errors']) : [];
    this.etag = etag;
  }
}

export interface Answer<T> {
  data: T;
  etag: string | undefined;
}

let onUnauthorized: () => void = () => undefined;

export const token = {
  get: (): string => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (value: string): void => sessionStorage.setItem(TOKEN_KEY, value),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
  /** Called when the API answers 401: the console shows its sign-in. */
  onMissing: (f: () => void): void => {
    onUnauthorized = f;
  },
};

/** The raw response, for downloads and text (metrics, CSV). Throws ApiError on anything but 2xx. */
export async function request(
  method: string,
  path: string,
  options: { body?: unknown; ifMatch?: string; accept?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
  const t = token.get();
  if (t !== '') headers.authorization = `Bearer ${t}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.ifMatch !== undefined) headers['if-match'] = options.ifMatch;
  const res = await fetch(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: 'no-store',
  });
  if (res.ok) return res;
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status === 401) onUnauthorized();
  throw new ApiError(res.status, body, res.headers.get('etag') ?? undefined);
}

export async function get<T>(path: string): Promise<Answer<T>> {
  const res = await request('GET', path);
  return { data: (await res.json()) as T, etag: res.headers.get('etag') ?? undefined };
}

export async function send<T>(method: string, path: string, body?: unknown, ifMatch?: string): Promise<Answer<T>> {
  const res = await request(method, path, { body, ifMatch });
  const text = await res.text();
  return { data: (text === '' ? undefined : JSON.parse(text)) as T, etag: res.headers.get('etag') ?? undefined };
}

export async function text(path: string, accept = 'text/plain'): Promise<string> {
  return (await request('GET', path, { accept })).text();
}

/** A query string from the defined, non-empty entries. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/** Saves `content` as a file: a link to a blob URL, so nothing (no token) goes in a URL the server sees. */
export function download(filename: string, content: string | Blob, type = 'text/csv'): void {
  const blob = typeof content === 'string' ? new Blob([content], { type }) : content;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
