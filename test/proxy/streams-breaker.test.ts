// A stream's breaker (issue 33: "upstream connect failure → ... feeds passive health and the breaker"): failed
// connects open it; while open, new connections are closed at once without a connect, counted; after open_ms a probe
// goes through, and one that connects closes it again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { closedPort } from '../helpers/ports.ts';
import { roundTrip, tcpServer, type TcpServer } from '../helpers/tcp.ts';

let gw: TestGateway;
let port: number;
let target: TcpServer | undefined;

before(async () => {
  port = await closedPort();
  gw = await startGateway({
    streams: [
      {
        name: 'guarded',
        listen: '127.0.0.1:0',
        upstream: {
          targets: [{ url: `tcp://127.0.0.1:${port}` }],
          // Passive health would eject the one target and close connections as no_target: the breaker is on its own.
          health: { passive: { max_failures: 1000 } },
          breaker: { enabled: true, min_requests: 4, error_ratio: 0.5, open_ms: 1000, half_open_probes: 1 },
        },
      },
    ],
  });
});

after(async () => {
  await gw?.close();
  await target?.close();
});

const refused = (reason: string) => metric(gw, 'tollgate_stream_refused_total', `stream="guarded",reason="${reason}"`);
const breaker = (name: string) => metric(gw, name, 'service="guarded",group=""');

test('failed connects open the breaker; while open a connection is closed unconnected; a probe closes it', async () => {
  for (let i = 0; i < 4; i++) {
    const r = await roundTrip(gw.port('guarded'), 'x');
    assert.ok(r.closed && r.data.length === 0, 'the target is down: closed with nothing');
  }
  assert.equal(await refused('connect_failed'), 4);
  assert.equal(await breaker('tollgate_upstream_breaker_state'), 1, 'open');
  target = await tcpServer('up:', undefined, port); // the target is back, but the breaker is open
  const openedAt = Date.now();
  const shut = await roundTrip(gw.port('guarded'), 'x');
  assert.ok(shut.closed && shut.data.length === 0, 'closed at once');
  assert.equal(target.accepted.length, 0, 'no connect reached the target');
  assert.equal(await refused('circuit_open'), 1);
  assert.equal(await breaker('tollgate_upstream_breaker_rejected_total'), 1);
  const [event] = await eventsWhere(gw, (e) => e.service === 'guarded' && e.status === 503);
  assert.equal(event?.errorClass, 'circuit_open');
  // After open_ms one probe is let through; it connects, and the breaker closes.
  const probe = await eventually(async () => {
    const r = await roundTrip(gw.port('guarded'), 'x');
    return r.data.toString() === 'up:x' ? r : undefined;
  }, 5000);
  assert.ok(probe, 'a connection goes through again once open_ms is over');
  assert.ok(Date.now() - openedAt >= 900, `not before open_ms (${Date.now() - openedAt} ms)`);
  assert.equal(await breaker('tollgate_upstream_breaker_state'), 0, 'closed again');
  assert.equal((await roundTrip(gw.port('guarded'), 'y')).data.toString(), 'up:y');
});
