// A request still open when the gateway is SIGKILLed (a WebSocket, a TCP connection through a stream, a download)
// had interim events, which carried its traffic, and no final event, which is the request: the next start on the
// same event directory records that final event from the journal beside the log (gateway/proxy/events/unfinished.ts),
// once, and a connection that ended before the kill is not recorded again.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { eventually, sleep } from '../helpers/gateway.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { readEvents } from '../helpers/events.ts';
import { followFeed, openSocket, startFeedAndSocketUpstream } from '../helpers/held-open.ts';
import { metric } from '../helpers/metrics.ts';
import { freePort, type GatewayProcess, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { holdKafkaLock, kafkaBrokers, randomTopic, readTopic } from './kafka-helpers.ts';
import { readBytes, tcpConnect, tcpServer } from '../helpers/tcp.ts';

interface Shape {
  events: Record<string, unknown>;
  /** Every event the gateways on `dir` recorded so far (or those of them still in the log, embedded). */
  read(dir: string): Promise<AccessEvent[]>;
}

/** A config with a WebSocket route, a feed and a TCP stream, its upstreams, and the events directory it writes. */
async function rig(t: TestContext, events: Record<string, unknown>) {
  const echo = await tcpServer();
  t.after(() => echo.close());
  // Server-sent events that never end, and WebSockets.
  const upstream = await startFeedAndSocketUpstream();
  t.after(() => upstream.close());
  const dir = tempDir('tollgate-kill-open-');
  const pipePort = await freePort();
  const config = writeYaml(dir, 'tollgate.yaml', {
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    log: { level: 'info' },
    events,
    services: [
      {
        name: 'chat',
        routes: [{ paths: ['/ws'] }],
        upstream: { targets: [{ url: upstream.url }] },
      },
      {
        name: 'feed',
        routes: [{ paths: ['/feed'] }],
        upstream: { targets: [{ url: upstream.url }] },
      },
    ],
    streams: [
      {
        name: 'pipe',
        listen: `127.0.0.1:${pipePort}`,
        upstream: { targets: [{ url: `tcp://127.0.0.1:${echo.port}` }] },
      },
    ],
  });
  // The events directory both gateways write to (the helper gives each child one of its own otherwise).
  return { dir, config, pipePort, env: { TOLLGATE_EVENTS_DIR: join(dir, 'events') } };
}

/**
 * A gateway with two WebSockets, a TCP connection and a streamed download open past their first interim events, one
 * WebSocket then ended as usual, SIGKILLed, and a second gateway started on the same events directory: returns it
 * with the final events it recorded for the three cut (closed for `gateway_ended`).
 */
async function killWithConnectionsOpen(
  t: TestContext,
  shape: Shape,
): Promise<{ second: GatewayProcess; finals: AccessEvent[] }> {
  const { dir, config, pipePort, env } = await rig(t, { ...shape.events, interim_ms: 200 });
  const where = async (pick: (e: AccessEvent) => boolean, n: number) =>
    (await eventually(async () => {
      const picked = (await shape.read(dir)).filter(pick);
      return picked.length >= n ? picked : undefined;
    }, 15_000)) ?? [];
  const first = await startGatewayProcess(config, { env });
  t.after(() => first.child.kill('SIGKILL'));
  const wsUrl = `${first.proxyUrl.replace('http', 'ws')}/ws`;
  const { ws: cut } = await openSocket(wsUrl, {});
  const { ws: ended } = await openSocket(wsUrl, {});
  const socket = await tcpConnect(pipePort);
  socket.write('ping');
  await readBytes(socket, 4);
  const { res: download } = await followFeed(`${first.proxyUrl}/feed`, {});
  // Past interim_ms and a sweep (each second): all four had interim events. One then ends as usual.
  for (const service of ['chat', 'pipe', 'feed']) await where((e) => e.interim && e.service === service, 1);
  ended.close(1000);
  await where((e) => e.service === 'chat' && !e.interim, 1);
  first.child.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  cut.terminate();
  socket.destroy();
  download.destroy();
  const finalsBefore = (await shape.read(dir)).filter((e) => !e.interim);
  assert.equal(finalsBefore.length, 1, 'before the restart: only the connection that ended');

  const second = await startGatewayProcess(config, { env });
  t.after(() => second.stop());
  const recovered = await second.waitForLog((l) => l.msg?.includes('ended before they did'));
  assert.equal(recovered.requests, 3);
  assert.equal(await metric(second, 'tollgate_events_recovered_total'), 3);
  const finals = await where((e) => e.closeReason === 'gateway_ended', 3);
  const [cutWs, pipe, feed] = ['chat', 'pipe', 'feed'].map((service) => finals.filter((e) => e.service === service));
  assert.equal(cutWs.length, 1, 'the WebSocket open at the kill, once; not the one that ended before');
  assert.equal(pipe.length, 1, 'the TCP connection open at the kill, once');
  assert.deepEqual(
    [cutWs[0].status, cutWs[0].closeCode, cutWs[0].errorClass, cutWs[0].protocol, cutWs[0].bytesIn],
    [101, 1006, 'none', 'websocket', 0],
    'cut at its last interim event, whose events carried its traffic',
  );
  assert.ok(cutWs[0].totalUs >= 200_000, `lasted until its last interim event: ${cutWs[0].totalUs} µs`);
  assert.deepEqual([pipe[0].status, pipe[0].errorClass, pipe[0].protocol], [200, 'none', 'tcp']);
  assert.deepEqual(
    feed.map((e) => [e.status, e.errorClass, e.protocol, e.bytesOut, e.closeCode]),
    [[200, 'none', 'http/1.1', 0, 0]],
    'the download, its answer begun: its status, not an error',
  );
  return { second, finals };
}

test('embedded: connections open at a SIGKILL are each counted once by the next start, as cut by the gateway', {
  timeout: 60_000,
}, async (t) => {
  // What the next start recorded is in the log; the collector may have taken and removed what came before.
  const { second, finals } = await killWithConnectionsOpen(t, {
    events: { sink: 'embedded' },
    read: (dir) => readEvents({ dir }),
  });
  const from = new Date(Math.floor(finals[0].startMs / 86_400_000) * 86_400_000).toISOString();
  const to = new Date(Date.now() + 3_600_000).toISOString();
  const requests = async (service: string) => {
    const res = await fetch(
      `${second.adminUrl}/reports/traffic?service=${service}&granularity=day&from=${from}&to=${to}`,
    );
    return ((await res.json()) as { rows: { requests: number }[] }).rows.reduce((n, r) => n + r.requests, 0);
  };
  const counted = await eventually(async () => {
    const all = [await requests('chat'), await requests('pipe'), await requests('feed')];
    return all.join() === '2,1,1' ? all : undefined;
  }, 15_000);
  assert.deepEqual(counted, [2, 1, 1], 'the reports count each connection and the download as one request');
  await sleep(1500);
  assert.deepEqual([await requests('chat'), await requests('pipe'), await requests('feed')], [2, 1, 1], 'and no more');
});

test('connections SIGKILLed before their first interim event are counted by the next start, with their traffic', {
  timeout: 60_000,
}, async (t) => {
  // interim_ms is a minute: the kill comes before any interim event.
  const { dir, config, pipePort, env } = await rig(t, { sink: 'embedded' });
  const first = await startGatewayProcess(config, { env });
  t.after(() => first.child.kill('SIGKILL'));
  const wsUrl = `${first.proxyUrl.replace('http', 'ws')}/ws`;
  const { ws } = await openSocket(wsUrl, {});
  const { ws: ended } = await openSocket(wsUrl, {});
  ws.send('hello');
  const socket = await tcpConnect(pipePort);
  socket.write('ping');
  await readBytes(socket, 4);
  const { res: download } = await followFeed(`${first.proxyUrl}/feed`, {});
  // Open a second and a sweep: each has its cut final event kept beside the log. One then ends as usual.
  const journal = join(dir, 'events', 'unfinished');
  const kept = await eventually(() => readFileSync(journal, 'latin1').split('\n').length > 4 || undefined, 10_000);
  assert.ok(kept, 'the four kept in the journal');
  ended.close(1000);
  const endedEvent = await eventually(async () => (await readEvents({ dir })).find((e) => e.closeCode === 1000));
  assert.equal(endedEvent?.closeReason, 'client');
  first.child.kill('SIGKILL');
  await first.exited;
  ws.terminate();
  socket.destroy();
  download.destroy();

  const second = await startGatewayProcess(config, { env });
  t.after(() => second.stop());
  const cut = (e: AccessEvent) => e.closeReason === 'gateway_ended';
  const finals = await eventually(async () => {
    const all = (await readEvents({ dir })).filter(cut);
    return all.length >= 3 ? all : undefined;
  }, 15_000);
  assert.ok(finals, 'the three recorded');
  await sleep(500);
  const all = await readEvents({ dir });
  assert.equal(all.filter(cut).length, 3, 'once each, and not the WebSocket that ended before the kill');
  assert.deepEqual(
    all.filter((e) => e.interim),
    [],
  );
  const by = (service: string) => finals.filter((e) => e.service === service);
  const [chat] = by('chat');
  assert.deepEqual([chat.status, chat.closeCode, chat.messagesIn], [101, 1006, 1], 'its message, as no interim had it');
  assert.ok(chat.bytesIn >= 5, `the message's bytes: ${chat.bytesIn}`);
  const [pipe] = by('pipe');
  assert.deepEqual([pipe.status, pipe.bytesIn, pipe.bytesOut], [200, 4, 4]);
  const [feed] = by('feed');
  assert.deepEqual([feed.status, feed.bytesOut], [200, 'data: first\n\n'.length]);
  for (const e of finals) assert.ok(e.totalUs >= 1_000_000, `open a second at least: ${e.totalUs} µs`);
});

test('Kafka: connections open at a SIGKILL are each counted once by the next start, as cut by the gateway', {
  timeout: 90_000,
}, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const topic = randomTopic();
  // Before the first gateway creates it, the topic reads as empty.
  const read = () => readTopic(brokers, topic, 10_000).catch((): AccessEvent[] => []);
  await killWithConnectionsOpen(t, { events: { sink: 'kafka', kafka: { brokers, topic, flush_ms: 20 } }, read });
  const requests = new Map<string, Set<string>>();
  for (const e of await read())
    if (!e.interim) requests.set(e.service, (requests.get(e.service) ?? new Set()).add(e.id));
  assert.deepEqual(
    [requests.get('chat')?.size, requests.get('pipe')?.size, requests.get('feed')?.size],
    [2, 1, 1],
    'each connection one request in the topic, as a collector counts it',
  );
});
