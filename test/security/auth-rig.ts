import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

export interface AuthRig {
  gw: TestGateway;
  upstream: TestUpstream;
  close(): Promise<void>;
}

/** A gateway with one service `api` on `/` guarded by `auth`, in front of an echo upstream. */
export async function startAuthRig(
  auth: Record<string, unknown> | undefined,
  extra: Record<string, unknown> = {},
  more: Record<string, unknown>[] = [],
): Promise<AuthRig> {
  const upstream = await startUpstream('api');
  const svc = { ...service('api', [upstream.url]), ...(auth ? { auth } : {}) };
  const gw = await startGateway({ ...extra, services: [svc, ...more] });
  return {
    gw,
    upstream,
    close: async () => {
      await gw.close();
      await upstream.close();
    },
  };
}

/**
 * A GET through the proxy with fetch (keep-alive, headers merged as fetch does),
 * the body parsed as JSON where it is JSON. `send` in helpers/http-client.ts is
 * for requests that must go on the wire exactly as written.
 */
export async function call(
  url: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${url}${path}`, { headers });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}
