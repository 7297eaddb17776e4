import { join } from 'node:path';
import { decode } from '../../shared/access-event-codec.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { SegmentReader } from '../../gateway/events/segment-log/segment-reader.ts';
import { eventually, service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

export interface AuthRig { gw: TestGateway; upstream: TestUpstream; close(): Promise<void> }

/** A gateway with one service `api` on `/` guarded by `auth`, in front of an echo upstream. */
export async function startAuthRig(auth: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}, more: Record<string, unknown>[] = []): Promise<AuthRig> {
  const upstream = await startUpstream('api');
  const svc = { ...service('api', [upstream.url]), ...(auth ? { auth } : {}) };
  const gw = await startGateway({ ...extra, services: [svc, ...more] });
  return { gw, upstream, close: async () => { await gw.close(); await upstream.close(); } };
}

export async function admin(gw: { adminUrl: string }, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.adminUrl}${path}`, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Creates an app through the admin API; returns its id and the one-time secret. */
export async function createApp(gw: { adminUrl: string }, body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const r = await admin(gw, 'POST', '/apps', { name: 'test app', ...body });
  if (r.status !== 201) throw new Error(`POST /apps → ${r.status} ${JSON.stringify(r.json)}`);
  return { id: r.json.app.id, secret: r.json.secret };
}

export function tokenRequest(url: string, id: string, secret: string, form = 'grant_type=client_credentials'): Promise<Response> {
  return fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: form,
  });
}

export async function getToken(url: string, id: string, secret: string): Promise<string> {
  const res = await tokenRequest(url, id, secret);
  const body = await res.json() as { access_token: string };
  if (res.status !== 200) throw new Error(`token request → ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

export async function call(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${url}${path}`, { headers });
  const text = await res.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, json, headers: res.headers };
}

/** The value of one Prometheus series (labels in exposition order), 0 when absent. */
export async function metric(gw: { adminUrl: string }, series: string): Promise<number> {
  const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  return 0;
}

/** Every access event in the embedded log, from the start (the in-process collector may already have committed some). */
export async function readEvents(gw: TestGateway): Promise<AccessEvent[]> {
  const reader = await SegmentReader.open(join(gw.dir, 'events', 'log'));
  try {
    const out: AccessEvent[] = [];
    let from = 0;
    for (;;) {
      const r = await reader.read(from, 1000);
      for (const rec of r.records) out.push(decode(rec.payload));
      if (r.records.length === 0) return out;
      from = r.next;
    }
  } finally {
    await reader.close();
  }
}

/** Waits (up to 3 s) for an event matching `pick`. */
export async function eventWhere(gw: TestGateway, pick: (e: AccessEvent) => boolean): Promise<AccessEvent | undefined> {
  return eventually(async () => (await readEvents(gw)).find(pick), 3000);
}
