import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { createApp } from '../helpers/admin.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { keepAliveAgent, send, type SendOptions } from '../helpers/http-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let gw: TestGateway;
const upstreams: TestUpstream[] = [];
/** Requests to /lc/hold wait here until released. */
const held: ServerResponse[] = [];

function holdOrEcho(name: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === '/lc/hold') {
      held.push(res);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ name }));
  };
}

async function targets(
  prefix: string,
  weights: number[],
  handler?: (name: string) => (req: IncomingMessage, res: ServerResponse) => void,
) {
  const out = [];
  for (const [i, weight] of weights.entries()) {
    const name = `${prefix}-${String.fromCharCode(97 + i)}`;
    const up = await startUpstream(name, handler?.(name));
    upstreams.push(up);
    out.push({ url: up.url, weight });
  }
  return out;
}

before(async () => {
  gw = await startGateway({
    services: [
      {
        name: 'rr',
        routes: [{ paths: ['/rr'] }],
        upstream: { balancer: 'round_robin', targets: await targets('rr', [1, 2]) },
      },
      {
        name: 'wrr',
        routes: [{ paths: ['/wrr'] }],
        upstream: { balancer: 'weighted_round_robin', targets: await targets('wrr', [5, 1, 1]) },
      },
      {
        name: 'lc',
        routes: [{ paths: ['/lc'] }],
        upstream: { balancer: 'least_connections', targets: await targets('lc', [1, 1], holdOrEcho) },
      },
      {
        name: 'ch',
        routes: [{ paths: ['/ch'] }],
        upstream: {
          balancer: 'consistent_hash',
          hash_on: { source: 'header', name: 'X-User' },
          targets: await targets('ch', [1, 1, 1]),
        },
      },
      {
        name: 'by-app',
        routes: [{ paths: ['/by-app'] }],
        auth: { type: 'api_key' },
        upstream: { balancer: 'consistent_hash', hash_on: { source: 'app' }, targets: await targets('app', [1, 1, 1]) },
      },
      {
        name: 'ip',
        routes: [{ paths: ['/ip'] }],
        upstream: { balancer: 'ip_hash', targets: await targets('ip', [1, 1, 1]) },
      },
    ],
  });
});

after(async () => {
  for (const res of held) res.destroy();
  await gw?.close();
  await Promise.all(upstreams.map((u) => u.close()));
});

async function who(path: string, opts: SendOptions = {}): Promise<string> {
  const res = await send(gw.url, path, opts);
  assert.equal(res.status, 200, res.text);
  return res.json().name;
}

function count(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

test('round_robin with weights 1 and 2 sends exactly 100 and 200 of 300 requests', async () => {
  const agent = keepAliveAgent();
  const names: string[] = [];
  for (let i = 0; i < 300; i++) names.push(await who('/rr', { agent }));
  agent.destroy();
  assert.deepEqual(count(names), { 'rr-a': 100, 'rr-b': 200 });
});

test('weighted_round_robin with weights 5,1,1 interleaves as a a b a c a a', async () => {
  const agent = keepAliveAgent();
  const names: string[] = [];
  for (let i = 0; i < 14; i++) names.push((await who('/wrr', { agent })).slice(4));
  agent.destroy();
  assert.equal(names.join(' '), 'a a b a c a a a a b a c a a');
});

test('least_connections sends new requests to the idle target while the other is busy', async () => {
  const slow = send(gw.url, '/lc/hold');
  const deadline = Date.now() + 2000;
  while (held.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(held.length, 1, 'the held request never arrived');
  const busy = upstreams.find((u) => u.seen.some((s) => s.url === '/lc/hold'))!;
  const names: string[] = [];
  for (let i = 0; i < 10; i++) names.push(await who('/lc'));
  held[0].writeHead(200, { 'content-type': 'application/json' }).end('{"name":"held"}');
  assert.equal((await slow).status, 200);
  assert.equal(busy.seen.filter((s) => s.url === '/lc').length, 0, `the busy target got ${names}`);
  assert.equal(new Set(names).size, 1, `spread while one target was busy: ${names}`);
});

test('consistent_hash on a header keeps each key on one target and spreads keys over targets', async () => {
  const byKey = new Map<string, Set<string>>();
  const agent = keepAliveAgent();
  // Rounds over the keys, so one key's requests are never adjacent.
  for (let round = 0; round < 4; round++) {
    for (let k = 0; k < 30; k++) {
      const key = `user-${k}`;
      const name = await who('/ch', { agent, headers: { 'x-user': key } });
      if (!byKey.has(key)) byKey.set(key, new Set());
      byKey.get(key)!.add(name);
    }
  }
  agent.destroy();
  for (const [key, names] of byKey) assert.equal(names.size, 1, `${key} went to ${[...names]}`);
  const used = new Set([...byKey.values()].map((s) => [...s][0]));
  assert.ok(used.size >= 2, `all keys on ${[...used]}`);
});

test('ip_hash keeps each client address on one target across connections', async () => {
  const byIp = new Map<string, Set<string>>();
  for (let round = 0; round < 3; round++) {
    for (let i = 2; i < 22; i++) {
      const ip = `127.0.0.${i}`;
      const name = await who('/ip', { localAddress: ip });
      if (!byIp.has(ip)) byIp.set(ip, new Set());
      byIp.get(ip)!.add(name);
    }
  }
  for (const [ip, names] of byIp) assert.equal(names.size, 1, `${ip} went to ${[...names]}`);
  const used = new Set([...byIp.values()].map((s) => [...s][0]));
  assert.ok(used.size >= 2, `all clients on ${[...used]}`);
});

test('consistent_hash on the app keeps each app on one target whatever address it calls from', async () => {
  const byApp = new Map<string, Set<string>>();
  const apps = [];
  for (let i = 0; i < 12; i++) apps.push(await createApp(gw));
  // Each round from another client address: hashing on the address would move an app between targets.
  for (let round = 0; round < 4; round++) {
    for (const app of apps) {
      const headers = { 'x-api-key': `${app.id}.${app.secret}` };
      const name = await who('/by-app', { headers, localAddress: `127.0.0.${2 + round}` });
      if (!byApp.has(app.id)) byApp.set(app.id, new Set());
      byApp.get(app.id)!.add(name);
    }
  }
  for (const [app, names] of byApp) assert.equal(names.size, 1, `${app} went to ${[...names]}`);
  const used = new Set([...byApp.values()].map((s) => [...s][0]));
  assert.ok(used.size >= 2, `all apps on ${[...used]}`);
});
