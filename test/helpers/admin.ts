import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { TestGateway } from './gateway.ts';

/** One admin API call; `body` objects are sent as JSON, strings as given. */
export async function admin(
  gw: { adminUrl: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Creates an app through the admin API; returns its id and the one-time secret. */
export async function createApp(
  gw: { adminUrl: string },
  body: Record<string, unknown> = {},
): Promise<{ id: string; secret: string }> {
  const r = await admin(gw, 'POST', '/apps', { name: 'test app', ...body });
  if (r.status !== 201) throw new Error(`POST /apps → ${r.status} ${JSON.stringify(r.json)}`);
  return { id: r.json.app.id, secret: r.json.secret };
}

/** POST /oauth/token on the proxy listener with the app's credentials as HTTP Basic. */
export function tokenRequest(
  proxyUrl: string,
  id: string,
  secret: string,
  form = 'grant_type=client_credentials',
): Promise<Response> {
  return fetch(`${proxyUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: form,
  });
}

/** An access token for the app; throws unless the token endpoint answers 200. */
export async function getToken(proxyUrl: string, id: string, secret: string): Promise<string> {
  const res = await tokenRequest(proxyUrl, id, secret);
  const body = (await res.json()) as { access_token: string };
  if (res.status !== 200) throw new Error(`token request → ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

/** Applies the gateway's current config file with `edit` applied, as an admin change would; resolves once it serves it.
 * */
export async function reload(gw: TestGateway, edit: (config: any) => void): Promise<void> {
  const raw = parse(readFileSync(gw.file, 'utf8'));
  edit(raw);
  const r = await gw.manager.apply(raw, 'admin', 'test reload');
  if (!r.ok) throw new Error(`reload rejected: ${JSON.stringify(r.errors)}`);
}
