// TCP streams whose targets come from a real registry (test/helpers/etcd.ts, consul.ts), as a service's do: an etcd
// key (a tcp:// url, or an address and port) or a passing Consul instance is a target within a second, its removal
// takes it out, and each connection goes to what the registry holds at the time.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { consulSkip, startConsul, type TestConsul } from '../helpers/consul.ts';
import { etcdSkip, startEtcd, type TestEtcd } from '../helpers/etcd.ts';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { roundTrip, tcpServer, type TcpServer } from '../helpers/tcp.ts';

const skip = etcdSkip || consulSkip;
let etcd: TestEtcd;
let consul: TestConsul;
let a: TcpServer;
let b: TcpServer;
let gw: TestGateway;

before(async () => {
  if (skip) return;
  [etcd, consul, a, b] = await Promise.all([startEtcd(), startConsul('cache'), tcpServer('a:'), tcpServer('b:')]);
  const registry = { etcd: { endpoints: [etcd.url], prefix: '/tollgate/cache/', probe_ms: 500, timeout_ms: 500 } };
  gw = await startGateway({
    streams: [
      { name: 'etcd', listen: '127.0.0.1:0', upstream: { discovery: registry } },
      {
        name: 'consul',
        listen: '127.0.0.1:0',
        upstream: { discovery: { consul: { address: consul.url, service: 'cache', wait_s: 5 } } },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  await Promise.all([etcd?.close(), consul?.close(), a?.close(), b?.close()]);
});

type Health = { targets: { id: string }[]; discovery?: { skipped: { entry: string; reason: string }[] } };

/** A stream's entry in the admin API's /health. */
async function health(stream: string): Promise<Health | undefined> {
  const all = (await (await fetch(`${gw.adminUrl}/health`)).json()) as Array<Health & { service: string }>;
  return all.find((h) => h.service === stream);
}

/** Waits (a second at most) until connections to `stream` are answered by the servers tagged `tags`. */
async function servedBy(stream: string, tags: string[]): Promise<void> {
  const want = tags.sort().join();
  let seen = '';
  const ok = await eventually(async () => {
    const answers = new Set<string>();
    for (let i = 0; i < 4; i++) answers.add((await roundTrip(gw.port(stream), 'x')).data.toString().replace(/x$/, ''));
    seen = [...answers].sort().join();
    return seen === want;
  }, 1000);
  assert.ok(ok, `${stream}: connections answered by ${want} within a second; answered by ${seen}`);
}

test('an etcd key is a stream target (tcp:// url, or address and port); its deletion takes it out', {
  skip,
}, async () => {
  assert.equal((await roundTrip(gw.port('etcd'), 'x')).data.length, 0, 'no key yet: the connection is closed');
  await etcd.put('/tollgate/cache/a', JSON.stringify({ url: `tcp://127.0.0.1:${a.port}` }));
  await servedBy('etcd', ['a:']);
  await etcd.put('/tollgate/cache/b', JSON.stringify({ address: '127.0.0.1', port: b.port }));
  await servedBy('etcd', ['a:', 'b:']);
  await etcd.del('/tollgate/cache/a');
  await servedBy('etcd', ['b:']);
});

test('an etcd value that is not a tcp target is shown, not used', { skip }, async () => {
  await etcd.put('/tollgate/cache/web', JSON.stringify({ url: `http://127.0.0.1:${a.port}` }));
  const skipped = await eventually(async () => {
    const s = (await health('etcd'))?.discovery?.skipped ?? [];
    return s.some((x) => x.entry.endsWith('/web') && x.reason === 'url must be tcp://');
  }, 1000);
  assert.ok(skipped, 'the http:// value is listed with its reason');
  await servedBy('etcd', ['b:']);
  await etcd.del('/tollgate/cache/web');
});

test('passing Consul instances are stream targets; a failing one is taken out', { skip }, async () => {
  await consul.register('a', a.port);
  await consul.register('b', b.port);
  await consul.setPassing('a', true);
  await consul.setPassing('b', true);
  await servedBy('consul', ['a:', 'b:']);
  const ids = (await health('consul'))?.targets.map((t) => t.id).sort();
  assert.deepEqual(ids, [`tcp://127.0.0.1:${a.port}`, `tcp://127.0.0.1:${b.port}`].sort());
  await consul.setPassing('a', false);
  await servedBy('consul', ['b:']);
});
