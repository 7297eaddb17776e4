import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { DnsSource } from './dns.ts';
import type { DiscoveredTarget } from './source.ts';

interface Zone {
  [name: string]: { a?: string[]; aaaa?: string[]; ttlS: number };
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

/**
 * A small authoritative DNS server on 127.0.0.1 over UDP: answers from `zone`,
 * NXDOMAIN for names it lacks, SERVFAIL for everything while `failing`.
 */
async function dnsServer(zone: Zone) {
  const state = { zone, failing: false, queries: 0 };
  const socket = createSocket('udp4');
  socket.on('message', (msg, peer) => {
    state.queries++;
    const q = parseQuestion(msg);
    const entry = state.zone[q.name];
    let rcode = 0;
    let answers: { type: number; data: Buffer }[] = [];
    if (state.failing) rcode = 2;
    else if (entry === undefined) rcode = 3;
    else if (q.type === TYPE_A)
      answers = (entry.a ?? []).map((ip) => ({ type: TYPE_A, data: Buffer.from(ip.split('.').map(Number)) }));
    else if (q.type === TYPE_AAAA) answers = (entry.aaaa ?? []).map((ip) => ({ type: TYPE_AAAA, data: ipv6Bytes(ip) }));
    const header = Buffer.alloc(12);
    header.writeUInt16BE(msg.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8180 | rcode, 2); // response, recursion desired + available
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map(({ type, data }) => {
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // name: pointer to the question's name
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(entry?.ttlS ?? 0, 6);
      rr.writeUInt16BE(data.length, 10);
      return Buffer.concat([rr, data]);
    });
    socket.send(Buffer.concat([header, msg.subarray(12, q.end), ...records]), peer.port, peer.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    state,
    server: `127.0.0.1:${socket.address().port}`,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

function parseQuestion(msg: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let offset = 12;
  while (msg[offset] !== 0) {
    const length = msg[offset];
    labels.push(msg.toString('ascii', offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  offset++;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(offset), end: offset + 4 };
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((g, i) => bytes.writeUInt16BE(parseInt(g, 16), i * 2));
  return bytes;
}

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

test('resolves localhost through the system resolver into scheme://ip:port origins', async (t) => {
  const emitted: DiscoveredTarget[][] = [];
  const source = new DnsSource({ hostname: 'localhost', port: 8081, weight: 5 });
  t.after(() => source.stop());
  source.start((targets) => emitted.push(targets));
  await waitFor(() => emitted.length === 1);
  const origins = emitted[0].map((x) => x.origin);
  assert.ok(origins.length > 0);
  for (const origin of origins) assert.match(origin, /^http:\/\/(127\.0\.0\.1|\[::1\]):8081$/);
  assert.ok(emitted[0].every((x) => x.weight === 5));
});

test(
  'emits A and AAAA records as origins, IPv6 in brackets, ' +
    'with the configured weight and the name they were found by',
  async (t) => {
    const dns = await dnsServer({ 'api.svc.invalid': { a: ['127.0.0.3', '127.0.0.2'], aaaa: ['::1'], ttlS: 60 } });
    const emitted: DiscoveredTarget[][] = [];
    const source = new DnsSource({
      hostname: 'api.svc.invalid',
      port: 9000,
      scheme: 'https',
      weight: 3,
      servers: [dns.server],
    });
    t.after(async () => {
      source.stop();
      await dns.close();
    });
    source.start((targets) => emitted.push(targets));
    await waitFor(() => emitted.length === 1);
    assert.deepEqual(emitted[0], [
      { origin: 'https://127.0.0.2:9000', weight: 3, hostname: 'api.svc.invalid' },
      { origin: 'https://127.0.0.3:9000', weight: 3, hostname: 'api.svc.invalid' },
      { origin: 'https://[::1]:9000', weight: 3, hostname: 'api.svc.invalid' },
    ]);
  },
);

test('an address given as the name is emitted without a hostname: it is its own Host', () => {
  const emitted: DiscoveredTarget[][] = [];
  const source = new DnsSource({ hostname: '127.0.0.9', port: 9000 });
  source.start((targets) => emitted.push(targets));
  source.stop();
  assert.deepEqual(emitted, [[{ origin: 'http://127.0.0.9:9000', weight: 1 }]]);
});

test('re-resolves when the smallest TTL runs out and emits only when the set changes', async (t) => {
  const zone: Zone = { 'api.svc.invalid': { a: ['127.0.0.2'], ttlS: 0 } };
  const dns = await dnsServer(zone);
  const emitted: string[][] = [];
  const source = new DnsSource({
    hostname: 'api.svc.invalid',
    port: 80,
    family: 4,
    minTtlMs: 20,
    servers: [dns.server],
  });
  t.after(async () => {
    source.stop();
    await dns.close();
  });
  source.start((targets) => emitted.push(targets.map((x) => x.origin)));
  await waitFor(() => dns.state.queries >= 4);
  assert.deepEqual(emitted, [['http://127.0.0.2:80']]);

  zone['api.svc.invalid'] = { a: ['127.0.0.2', '127.0.0.4'], ttlS: 0 };
  await waitFor(() => emitted.length === 2);
  assert.deepEqual(emitted[1], ['http://127.0.0.2:80', 'http://127.0.0.4:80']);
});

test('clamps the TTL to maxTtlMs and to minTtlMs', async (t) => {
  const longTtl = await dnsServer({ 'api.svc.invalid': { a: ['127.0.0.2'], ttlS: 3600 } });
  const shortTtl = await dnsServer({ 'api.svc.invalid': { a: ['127.0.0.2'], ttlS: 0 } });
  const capped = new DnsSource({
    hostname: 'api.svc.invalid',
    port: 80,
    family: 4,
    minTtlMs: 10,
    maxTtlMs: 30,
    servers: [longTtl.server],
  });
  const floored = new DnsSource({
    hostname: 'api.svc.invalid',
    port: 80,
    family: 4,
    minTtlMs: 5000,
    servers: [shortTtl.server],
  });
  t.after(async () => {
    capped.stop();
    floored.stop();
    await longTtl.close();
    await shortTtl.close();
  });
  capped.start(() => {});
  floored.start(() => {});
  await sleep(300);
  assert.ok(
    longTtl.state.queries >= 4,
    `a 3600 s TTL capped at 30 ms re-resolved ${longTtl.state.queries} times in 300 ms`,
  );
  assert.equal(shortTtl.state.queries, 1);
});

test('keeps the last good list when resolution fails, reports each failure and retries', async (t) => {
  const dns = await dnsServer({ 'api.svc.invalid': { a: ['127.0.0.2'], ttlS: 0 } });
  const emitted: string[][] = [];
  const errors: Error[] = [];
  const source = new DnsSource({
    hostname: 'api.svc.invalid',
    port: 80,
    family: 4,
    minTtlMs: 20,
    retryMs: 20,
    servers: [dns.server],
    onError: (err) => errors.push(err),
  });
  t.after(async () => {
    source.stop();
    await dns.close();
  });
  source.start((targets) => emitted.push(targets.map((x) => x.origin)));
  await waitFor(() => emitted.length === 1);

  dns.state.failing = true;
  await waitFor(() => errors.length >= 2);
  dns.state.zone = {};
  dns.state.failing = false;
  const errorsBefore = errors.length;
  await waitFor(() => errors.length >= errorsBefore + 2);
  assert.deepEqual(emitted, [['http://127.0.0.2:80']]);
  assert.ok(errors.some((err) => (err as NodeJS.ErrnoException).code === 'ESERVFAIL'));
  assert.ok(errors.some((err) => (err as NodeJS.ErrnoException).code === 'ENODATA'));

  dns.state.zone = { 'api.svc.invalid': { a: ['127.0.0.5'], ttlS: 0 } };
  await waitFor(() => emitted.length === 2);
  assert.deepEqual(emitted[1], ['http://127.0.0.5:80']);
});

test('every resolution that succeeds is reported (onOk), and none that fails', async (t) => {
  const dns = await dnsServer({ 'api.svc.invalid': { a: ['127.0.0.2'], ttlS: 0 } });
  const seen: string[] = [];
  const source = new DnsSource({
    hostname: 'api.svc.invalid',
    port: 80,
    family: 4,
    minTtlMs: 20,
    retryMs: 20,
    servers: [dns.server],
    onError: () => seen.push('error'),
    onOk: () => seen.push('ok'),
  });
  t.after(async () => {
    source.stop();
    await dns.close();
  });
  source.start(() => {});
  await waitFor(() => seen.filter((x) => x === 'ok').length >= 2);
  dns.state.failing = true;
  await waitFor(() => seen.includes('error'));
  // Every query from the first failure on is made while the server fails: none may count as a success.
  const from = seen.indexOf('error');
  await waitFor(() => seen.length >= from + 4);
  dns.state.failing = false;
  assert.deepEqual(seen.slice(from, from + 4), ['error', 'error', 'error', 'error']);
  const at = seen.length;
  await waitFor(() => seen.length > at && seen[seen.length - 1] === 'ok');
});

test('a name that never resolves emits nothing and reports the failure', async (t) => {
  const dns = await dnsServer({});
  const emitted: DiscoveredTarget[][] = [];
  const errors: Error[] = [];
  const source = new DnsSource({
    hostname: 'nothing.invalid',
    port: 80,
    servers: [dns.server],
    onError: (err) => errors.push(err),
  });
  t.after(async () => {
    source.stop();
    await dns.close();
  });
  source.start((targets) => emitted.push(targets));
  await waitFor(() => errors.length === 1);
  assert.deepEqual(emitted, []);
});

test('stop() ends re-resolution', async (t) => {
  const dns = await dnsServer({ 'api.svc.invalid': { a: ['127.0.0.2'], ttlS: 0 } });
  const source = new DnsSource({
    hostname: 'api.svc.invalid',
    port: 80,
    family: 4,
    minTtlMs: 20,
    servers: [dns.server],
  });
  t.after(() => dns.close());
  source.start(() => {});
  await waitFor(() => dns.state.queries >= 2);
  source.stop();
  const seen = dns.state.queries;
  await sleep(100);
  assert.ok(dns.state.queries <= seen + 1, 'at most the query already in flight');
});
