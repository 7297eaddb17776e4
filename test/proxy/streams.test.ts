// TCP streams: connections balanced over targets, both directions with half-close, health, lists, limits, timeouts,
// counting, reload and shutdown.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { closedPort, freePort } from '../helpers/ports.ts';
import { received, roundTrip, readBytes, tcpConnect, tcpServer, type TcpServer } from '../helpers/tcp.ts';

let a: TcpServer;
let b: TcpServer;
let plain: TcpServer;
let probed: TcpServer;
let gw: TestGateway;
let deadPort: number;

const stream = (name: string, extra: Record<string, unknown> = {}, targets?: string[]) => ({
  name,
  listen: '127.0.0.1:0',
  ...extra,
  upstream: {
    balancer: 'round_robin',
    targets: (targets ?? [`tcp://127.0.0.1:${a.port}`]).map((url) => ({ url })),
    ...(extra.upstream as object),
  },
});

let config: Record<string, unknown>;

before(async () => {
  a = await tcpServer('a:');
  b = await tcpServer('b:');
  plain = await tcpServer();
  probed = await tcpServer();
  deadPort = await closedPort();
  config = {
    streams: [
      stream('pair', {}, [`tcp://127.0.0.1:${a.port}`, `tcp://127.0.0.1:${b.port}`]),
      stream('flaky', { upstream: { health: { passive: { max_failures: 1, max_ejected_percent: 100 } } } }, [
        `tcp://127.0.0.1:${deadPort}`,
        `tcp://127.0.0.1:${b.port}`,
      ]),
      stream('guarded', { acl: { deny: ['127.0.0.0/8'] } }),
      stream('narrow', { limits: { max_connections: 2 } }),
      stream('perip', { limits: { max_connections_per_ip: 1 } }),
      stream('paced', { limits: { connections_per_s: 2 } }),
      stream('quiet', { timeouts: { idle_ms: 300 } }),
      stream('brief', { timeouts: { max_lifetime_ms: 300 } }),
      stream('down', {}, [`tcp://127.0.0.1:${deadPort}`]),
      stream('echo', {}, [`tcp://127.0.0.1:${plain.port}`]),
      stream('kept', { timeouts: { keepalive_ms: 45000 } }, [`tcp://127.0.0.1:${probed.port}`]),
      stream('unkept', { timeouts: { keepalive_ms: 0 } }, [`tcp://127.0.0.1:${probed.port}`]),
      { name: 'named', listen: '127.0.0.1:0', upstream: { dns: { name: 'localhost', port: a.port } } },
      // Bound to the IPv4-mapped loopback: an IPv6 socket whose IPv4 clients show as ::ffff:127.0.0.1.
      stream('dual', { listen: '[::ffff:127.0.0.1]:0', acl: { allow: ['127.0.0.0/8'] } }),
    ],
  };
  gw = await startGateway(config);
});

after(async () => {
  await gw?.close();
  await a?.close();
  await b?.close();
  await plain?.close();
  await probed?.close();
});

test('a stream balances connections over its targets and passes bytes both ways, half-close included', async () => {
  const first = await roundTrip(gw.port('pair'), 'hello');
  const second = await roundTrip(gw.port('pair'), 'world');
  assert.deepEqual([first.data.toString(), second.data.toString()].sort(), ['a:hello', 'b:world']);
  assert.ok(first.closed && second.closed, 'the target closing after the client half-closed ends the connection');

  // 8 MB each way through backpressure: every byte arrives, in order.
  const socket = await tcpConnect(gw.port('echo'));
  const big = Buffer.alloc(8 << 20);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const answer = received(socket);
  socket.end(big);
  const { data } = await answer;
  assert.equal(data.length, big.length);
  assert.ok(data.equals(big));
});

test('each connection is one access event: protocol tcp, status 200, bytes each way, target, duration', async () => {
  await roundTrip(gw.port('pair'), 'counted');
  const [e] = await eventsWhere(gw, (x) => x.service === 'pair' && x.bytesIn === 7);
  assert.ok(e);
  assert.equal(e.protocol, 'tcp');
  assert.equal(e.status, 200);
  assert.equal(e.upstreamStatus, 200);
  assert.equal(e.errorClass, 'none');
  assert.equal(e.bytesOut, 9);
  assert.equal(e.clientIp, '127.0.0.1');
  assert.match(e.target, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(e.totalUs > 0 && e.upstreamUs <= e.totalUs);
  assert.ok((await metric(gw, 'tollgate_stream_bytes_total', 'stream="pair",direction="in"')) >= 7);
  // The client half-closed first.
  assert.ok((await metric(gw, 'tollgate_stream_closed_total', 'stream="pair",reason="client"')) >= 1);
});

test("on a dual-stack socket an IPv4 client is its IPv4 address, in the event as in HTTP's", async () => {
  assert.equal((await roundTrip(gw.port('dual'), 'v4')).data.toString(), 'a:v4', 'allowed by its IPv4 block');
  const [e] = await eventsWhere(gw, (x) => x.service === 'dual' && x.status === 200);
  assert.equal(e?.clientIp, '127.0.0.1');
});

test("a stream's DNS name: its addresses are tcp:// targets", async () => {
  // localhost may also resolve to ::1, where the target does not listen: passive health takes that one out.
  const answered = await eventually(async () => {
    const r = await roundTrip(gw.port('named'), 'dns').catch(() => undefined);
    return r?.data.toString() === 'a:dns' ? r : undefined;
  });
  assert.ok(answered);
  const [e] = await eventsWhere(gw, (x) => x.service === 'named' && x.bytesOut === 5);
  assert.equal(e.target, `tcp://127.0.0.1:${a.port}`);
});

test('a refused connect closes the client, is counted and ejects the target: the next go to the live one', async () => {
  const answers: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await roundTrip(gw.port('flaky'), 'x');
    answers.push(r.data.toString());
  }
  assert.ok(answers.includes(''), 'the connection sent to the dead target was closed with nothing');
  assert.deepEqual(answers.slice(answers.indexOf('') + 1), Array(3 - answers.indexOf('')).fill('b:x'));
  const [e] = await eventsWhere(gw, (x) => x.service === 'flaky' && x.status === 502);
  assert.equal(e?.errorClass, 'upstream_refused');
  assert.equal(e?.target, `tcp://127.0.0.1:${deadPort}`);
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="flaky",reason="connect_failed"'), 1);
  assert.equal(
    await metric(gw, 'tollgate_upstream_ejections_total', `service="flaky",target="tcp://127.0.0.1:${deadPort}"`),
    1,
  );
  // Every target down: closed at once, no_target.
  const down = await roundTrip(gw.port('down'), 'x');
  assert.ok(down.closed && down.data.length === 0);
});

test('an address the acl denies is closed before any target is asked, 403 in its event', async () => {
  const before = a.accepted.length;
  const r = await roundTrip(gw.port('guarded'), 'x');
  assert.ok(r.closed && r.data.length === 0);
  assert.equal(a.accepted.length, before);
  const [e] = await eventsWhere(gw, (x) => x.service === 'guarded');
  assert.equal(e?.status, 403);
  assert.equal(e?.errorClass, 'forbidden');
  assert.equal(await metric(gw, 'tollgate_stream_refused_total', 'stream="guarded",reason="ip_denied"'), 1);
});

test('max_connections, max_connections_per_ip and connections_per_s close what is over; places return', async () => {
  for (const [name, reason] of [
    ['narrow', 'max_connections'],
    ['perip', 'max_connections_per_ip'],
  ] as const) {
    const limit = name === 'narrow' ? 2 : 1;
    const held = await Promise.all(Array.from({ length: limit }, () => tcpConnect(gw.port(name))));
    for (const s of held) {
      s.write('hi');
      await readBytes(s, 4);
    }
    const over = await roundTrip(gw.port(name), 'x');
    assert.ok(over.closed && over.data.length === 0, `${name}: one over the limit is closed`);
    assert.equal(await metric(gw, 'tollgate_stream_refused_total', `stream="${name}",reason="${reason}"`), 1);
    for (const s of held) s.end();
    assert.ok(
      await eventually(async () => (await roundTrip(gw.port(name), 'y')).data.toString() === 'a:y'),
      `${name}: a place came back`,
    );
  }
  const burst = await Promise.all(Array.from({ length: 5 }, () => roundTrip(gw.port('paced'), 'z')));
  assert.equal(burst.filter((r) => r.data.toString() === 'a:z').length, 2, 'a second holds two new connections');
  const [e] = await eventsWhere(gw, (x) => x.service === 'paced' && x.status === 429);
  assert.equal(e?.errorClass, 'rate_limited');
});

test('idle_ms closes a silent connection; max_lifetime_ms closes a busy one', async () => {
  const quiet = await tcpConnect(gw.port('quiet'));
  const started = Date.now();
  const gone = await received(quiet, 3000);
  assert.ok(gone.closed && Date.now() - started >= 250, 'closed after the idle time');
  assert.equal(await metric(gw, 'tollgate_stream_closed_total', 'stream="quiet",reason="idle"'), 1);

  const busy = await tcpConnect(gw.port('brief'));
  const timer = setInterval(() => busy.writable && busy.write('.'), 50);
  const ended = await received(busy, 3000);
  clearInterval(timer);
  assert.ok(ended.closed && ended.data.length > 0);
  assert.equal(await metric(gw, 'tollgate_stream_closed_total', 'stream="brief",reason="lifetime"'), 1);
});

test("keepalive_ms: TCP keep-alive on both of the gateway's sockets (ss shows it); 0: none", async () => {
  /** The keep-alive timers (seconds left, or none) of the gateway's socket from the client and of its socket on. */
  const timers = async (name: string) => {
    const client = await tcpConnect(gw.port(name));
    client.write('x');
    await readBytes(client, 1);
    const sockets = execFileSync('ss', ['-tnoH', 'state', 'established'], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((f) => f.length >= 4);
    const port = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
    const keepalive = (f: string[] | undefined) => /timer:\(keepalive,(\d+)sec/.exec(f?.[4] ?? '')?.[1];
    const front = sockets.find((f) => port(f[2]) === gw.port(name));
    const back = sockets.find((f) => port(f[3]) === probed.port);
    client.destroy();
    await eventually(async () => (probed.accepted.every((s) => s.destroyed || s.readableEnded) ? true : undefined));
    return [front && keepalive(front), back && keepalive(back)];
  };
  const kept = await timers('kept');
  assert.ok(
    kept.every((s) => s !== undefined && Number(s) > 40 && Number(s) <= 45),
    `keep-alive in ~45 s: ${kept}`,
  );
  assert.deepEqual(await timers('unkept'), [undefined, undefined]);
});

test('a reload adds a stream, and stops a removed one while its open connection carries on', async () => {
  const pairPort = gw.port('pair');
  const open = await tcpConnect(pairPort);
  const port = await freePort();
  const streams = (config.streams as Record<string, unknown>[]).filter((s) => s.name !== 'pair');
  gw.writeConfig({
    ...config,
    streams: [...streams.filter((s) => s.name !== 'down'), { ...stream('added'), listen: `127.0.0.1:${port}` }],
  });
  assert.ok(
    await eventually(async () => (await roundTrip(port, 'new').catch(() => undefined))?.data.toString() === 'a:new'),
    'the added stream listens',
  );
  open.write('still');
  assert.match((await readBytes(open, 7)).toString(), /^[ab]:still$/);
  open.end();
  await assert.rejects(tcpConnect(pairPort), /ECONNREFUSED/);
  assert.throws(() => gw.port('pair'), /no listener pair/, 'no longer among the addresses');
  gw.writeConfig(config);
});

test('a moved stream accepts at its old address until the new one is free; open connections carry on', async () => {
  const [from, to] = [await freePort(), await freePort()];
  const at = (port: number) => ({
    ...config,
    streams: [...(config.streams as object[]), { ...stream('moving'), listen: `127.0.0.1:${port}` }],
  });
  const serves = (port: number) => async () =>
    (await roundTrip(port, 'x').catch(() => undefined))?.data.toString() === 'a:x';
  gw.writeConfig(at(from));
  assert.ok(await eventually(serves(from)), 'listening where it was first');
  const open = await tcpConnect(from);
  const holder = createServer().listen(to, '127.0.0.1');
  await once(holder, 'listening');
  gw.writeConfig(at(to));
  const waiting = () => metric(gw, 'tollgate_stream_listen_waiting', 'stream="moving"');
  assert.ok(await eventually(async () => (await waiting()) === 1), 'waiting while another process holds it');
  assert.ok(await serves(from)(), 'the old address accepts meanwhile');
  await new Promise((resolve) => holder.close(resolve));
  assert.ok(await eventually(serves(to), 5000, 100), 'the new address serves once free');
  await assert.rejects(tcpConnect(from), /ECONNREFUSED/, 'the old address no longer accepts');
  open.write('still');
  assert.equal((await readBytes(open, 7)).toString(), 'a:still');
  open.end();
  gw.writeConfig(config);
});

test('a stream a reload adds on a taken address listens once the address is free, with no other reload', async () => {
  const holder = createServer().listen(0, '127.0.0.1');
  await once(holder, 'listening');
  const port = (holder.address() as AddressInfo).port;
  gw.writeConfig({
    ...config,
    streams: [...(config.streams as object[]), { ...stream('late'), listen: `127.0.0.1:${port}` }],
  });
  const applied = await eventually(
    async () =>
      (await metric(gw, 'tollgate_upstream_target_healthy', `service="late",target="tcp://127.0.0.1:${a.port}"`)) === 1,
  );
  assert.ok(applied, 'the reload applied');
  const waiting = () => metric(gw, 'tollgate_stream_listen_waiting', 'stream="late"');
  assert.ok(await eventually(async () => (await waiting()) === 1), 'shown as waiting for its address');
  await new Promise((resolve) => holder.close(resolve));
  const served = async () => (await roundTrip(port, 'late').catch(() => undefined))?.data.toString() === 'a:late';
  assert.ok(await eventually(served, 5000, 100), 'the stream listens once its address is free');
  assert.equal(await waiting(), 0, 'no longer waiting');
  gw.writeConfig(config);
});

test('graceful shutdown: open connections work on through the drain, then are cut', async () => {
  const drained = await startGateway({
    proxy: { drain_timeout_ms: 400 },
    streams: [stream('held')],
  });
  const socket = await tcpConnect(drained.port('held'));
  const closing = drained.close();
  socket.write('during');
  assert.equal((await readBytes(socket, 8)).toString(), 'a:during', 'the drain keeps it serving');
  const started = Date.now();
  assert.ok((await received(socket, 3000)).closed);
  await closing;
  assert.ok(Date.now() - started < 2000);
  const [e] = await eventsWhere(drained, (x) => x.service === 'held');
  assert.equal(e?.status, 200);
  assert.equal(e?.bytesIn, 6);
});

test('active health: TCP connects find a dead target before any client is sent to it', async () => {
  const dead = await closedPort();
  const checked = await startGateway({
    streams: [
      stream(
        'checked',
        {
          upstream: {
            health: {
              active: { interval_ms: 100, timeout_ms: 100, unhealthy_threshold: 1 },
              passive: { max_failures: 0 },
            },
          },
        },
        [`tcp://127.0.0.1:${dead}`, `tcp://127.0.0.1:${a.port}`],
      ),
    ],
  });
  try {
    const down = `service="checked",target="tcp://127.0.0.1:${dead}"`;
    assert.ok(await eventually(async () => (await metric(checked, 'tollgate_upstream_target_healthy', down)) === 0));
    const answers = await Promise.all(Array.from({ length: 6 }, () => roundTrip(checked.port('checked'), 'x')));
    assert.deepEqual(
      answers.map((r) => r.data.toString()),
      Array(6).fill('a:x'),
    );
    assert.equal(await metric(checked, 'tollgate_stream_refused_total', 'stream="checked",reason="connect_failed"'), 0);
  } finally {
    await checked.close();
  }
});
