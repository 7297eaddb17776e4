// An app disabled or deleted while its requests are in flight: a long response (server-sent events, say) is cut, a
// gRPC stream ends with PERMISSION_DENIED, and their upstream requests are closed, within the second the gateway
// looks its open requests over; another app's go on, and the target is not blamed (no passive-health failure).
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { startEchoServer, type EchoServer } from '../../gateway/examples/grpc/server.ts';
import { admin, createApp } from '../helpers/admin.ts';
import { eventsWhere } from '../helpers/events.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { echoClient } from '../helpers/grpc-client.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

let feed: TestUpstream;
let echo: EchoServer;
let gw: TestGateway;
/** Feed requests the upstream saw end, by path. */
const ended = new Set<string>();

before(async () => {
  // A feed that sends its head and a first event, then holds the response open.
  feed = await startUpstream('feed', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n');
    req.socket.once('close', () => ended.add(req.url ?? ''));
  });
  echo = await startEchoServer();
  gw = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      {
        name: 'feed',
        routes: [{ paths: ['/feed'] }],
        auth: { type: 'api_key' },
        // One failure would eject the lone target: a cut that blamed it would leave the next request a 503.
        upstream: { targets: [{ url: feed.url }], health: { passive: { max_failures: 1, max_ejected_percent: 100 } } },
      },
      {
        name: 'echo',
        routes: [{ paths: ['/helloworld.Echo/'], grpc: true }],
        auth: { type: 'api_key' },
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${echo.port}` }] },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  await feed?.close();
  await echo?.close();
});

const key = (app: { id: string; secret: string }) => ({ 'x-api-key': `${app.id}.${app.secret}` });

/** A feed response once its first event came; `done` settles when it ends, whole or cut. */
function follow(path: string, headers: Record<string, string>) {
  return new Promise<{ res: IncomingMessage; done: Promise<{ complete: boolean }> }>((resolve, reject) => {
    get(`${gw.url}${path}`, { headers }, (res) => {
      const done = new Promise<{ complete: boolean }>((settle) => res.once('close', () => settle(res)));
      res.once('data', () => resolve({ res, done }));
      res.on('error', () => undefined);
    }).once('error', reject);
  });
}

test('an app disabled mid-response: its feed is cut, its upstream request closed; another app’s goes on', async () => {
  const [one, two] = [await createApp(gw), await createApp(gw)];
  const [first, second] = [await follow('/feed/one', key(one)), await follow('/feed/two', key(two))];
  const started = performance.now();
  assert.equal((await admin(gw, 'PUT', `/apps/${one.id}`, { name: 'test app', status: 'disabled' })).status, 200);
  assert.equal((await first.done).complete, false, 'cut');
  assert.ok(performance.now() - started < 3000, 'within the sweep');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(ended.has('/feed/one'), 'its upstream request was closed');
  assert.equal(second.res.destroyed, false, 'the other app’s feed is still open');
  assert.ok(!ended.has('/feed/two'));
  const [event] = await eventsWhere(gw, (e) => e.appId === one.id && e.service === 'feed');
  assert.equal(event?.errorClass, 'forbidden');
  const third = await follow('/feed/three', key(two));
  assert.equal(third.res.statusCode, 200, 'the target was not blamed (ejected)');
  for (const open of [second, third]) open.res.destroy();
});

test('an app deleted mid-call: its gRPC stream ends with PERMISSION_DENIED; another app’s call finishes', async () => {
  const [one, two] = [await createApp(gw), await createApp(gw)];
  const client = echoClient(gw.port('internal'));
  try {
    const long = client.serverStream({ message: 'one', repeat: 600, delay_ms: 100 }, key(one));
    const short = client.serverStream({ message: 'two', repeat: 30, delay_ms: 100 }, key(two));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await admin(gw, 'DELETE', `/apps/${one.id}`)).status, 204);
    const cut = await long;
    assert.equal(cut.error?.code, 7, `PERMISSION_DENIED, not ${cut.error?.code} ${cut.error?.details}`);
    assert.ok(cut.replies.length > 0 && cut.replies.length < 600, `${cut.replies.length} replies came first`);
    const whole = await short;
    assert.deepEqual([whole.error, whole.replies.length], [undefined, 30]);
  } finally {
    client.close();
  }
});
