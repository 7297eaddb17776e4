// Listeners follow reloads: one added starts, one removed stops accepting and its connections end once they have
// answered, one moved or given other protocols is replaced, one whose address is taken waits for it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as h2connect } from 'node:http2';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { reload } from '../../helpers/admin.ts';
import { eventually, sleep, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { metric } from '../../helpers/metrics.ts';
import { freePort } from '../../helpers/ports.ts';
import { received, roundTrip, tcpConnect, tcpServer } from '../../helpers/tcp.ts';
import { h2Request } from '../../helpers/tls-client.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  // /slow answers after 400 ms: a request still in flight when the reload lands.
  upstream = await startUpstream('u', (req, res) => {
    req.resume();
    setTimeout(() => res.end('done'), req.url === '/slow' ? 400 : 0);
  });
  gw = await startGateway({
    services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: upstream.url }] } }],
  });
});

after(async () => {
  await gw.close();
  await upstream.close();
});

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: a.test\r\n\r\n`;

/** Whether a plain HTTP/1.1 GET on a new connection to `port` is answered 200. */
async function serves(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
  return res?.status === 200 && (await res.text()) === 'done';
}

/** Whether an HTTP/2 (prior knowledge) GET to `port` is answered 200. */
const servesH2c = (port: number): Promise<boolean> =>
  h2Request(port, '/', undefined).then(
    (answer) => answer.status === 200,
    () => false,
  );

/** A keep-alive connection that has had one answer, so the gateway holds it idle. */
async function idleConnection(port: number): Promise<Socket> {
  const socket = await tcpConnect(port);
  socket.write(get('/'));
  await once(socket, 'data');
  return socket;
}

/** A port another server holds, and how to let it go. */
async function heldPort(): Promise<{ port: number; free: () => Promise<void> }> {
  const holder = createServer().listen(0, '127.0.0.1');
  await once(holder, 'listening');
  const port = (holder.address() as AddressInfo).port;
  return { port, free: () => new Promise<void>((resolve) => holder.close(() => resolve())) };
}

/** tollgate_listener_listen_waiting of `name`. */
const waitingOf = (name: string) => metric(gw, 'tollgate_listener_listen_waiting', `listener="${name}"`);

test('a reload moves a listener and adds one: new addresses serve, the old refuses, its connections end', async () => {
  const [from, to, added] = [await freePort(), await freePort(), await freePort()];
  await reload(gw, (c) => {
    c.listeners = [{ name: 'edge', listen: `127.0.0.1:${from}` }];
  });
  assert.ok(await eventually(() => serves(from)), 'the added listener serves');
  const idle = await idleConnection(from);
  const idleClosed = received(idle);
  const busy = await tcpConnect(from);
  const busyAnswer = received(busy);
  busy.write(get('/slow'));
  await sleep(100);
  await reload(gw, (c) => {
    c.listeners = [
      { name: 'edge', listen: `127.0.0.1:${to}` },
      { name: 'added', listen: `127.0.0.1:${added}`, protocols: ['h2c', 'http/1.1'] },
    ];
  });
  assert.ok(await eventually(() => serves(to)), 'the moved listener serves at its new address');
  assert.ok(await eventually(() => servesH2c(added)), 'the added listener serves HTTP/2');
  assert.ok(await serves(added), 'and HTTP/1.1');
  assert.equal(gw.port('edge'), to, 'its address is the new one');
  await assert.rejects(tcpConnect(from), /ECONNREFUSED/, 'the old address no longer accepts');
  assert.equal((await idleClosed).closed, true, 'an idle connection to the old address is closed');
  const answer = await busyAnswer;
  assert.ok(answer.closed, 'a busy one is closed after its answer');
  assert.match(answer.data.toString(), /^HTTP\/1\.1 200 .*connection: close.*done$/is, 'which it got whole');
});

test('a reload removes a listener: its HTTP/2 client finishes a stream in flight and is told to go away', async () => {
  await reload(gw, (c) => {
    c.listeners = [{ name: 'h2', listen: '127.0.0.1:0', protocols: ['h2c'] }];
  });
  assert.ok(await eventually(() => gw.listeners.has('h2')), 'the added listener listens');
  const port = gw.port('h2');
  const session = h2connect(`http://127.0.0.1:${port}`);
  const goaway = once(session, 'goaway');
  const req = session.request({ ':path': '/slow' });
  const status = once(req, 'response').then(([h]) => h[':status']);
  req.setEncoding('utf8');
  let body = '';
  req.on('data', (c: string) => {
    body += c;
  });
  const ended = once(req, 'end');
  req.end();
  await sleep(100);
  await reload(gw, (c) => {
    c.listeners = [];
  });
  await goaway;
  assert.equal(await status, 200);
  await ended;
  assert.equal(body, 'done', 'the stream in flight finished');
  await assert.rejects(tcpConnect(port), /ECONNREFUSED/, 'nothing listens there any more');
  assert.throws(() => gw.port('h2'), /no listener h2/);
  session.close();
});

test("a reload that changes a listener's protocols on the same address replaces it", async () => {
  const port = await freePort();
  await reload(gw, (c) => {
    c.listeners = [{ name: 'same', listen: `127.0.0.1:${port}` }];
  });
  assert.ok(await eventually(() => serves(port)));
  assert.equal(await servesH2c(port), false, 'HTTP/1.1 alone at first');
  await reload(gw, (c) => {
    c.listeners = [{ name: 'same', listen: `127.0.0.1:${port}`, protocols: ['h2c', 'http/1.1'] }];
  });
  assert.ok(await eventually(() => servesH2c(port)), 'HTTP/2 too after the reload');
  assert.ok(await serves(port));
});

test('a listener a reload adds on a taken address listens once the address is free, with no other reload', async () => {
  const held = await heldPort();
  const port = held.port;
  await reload(gw, (c) => {
    c.listeners = [{ name: 'late', listen: `127.0.0.1:${port}` }];
  });
  const waiting = () => waitingOf('late');
  assert.ok(await eventually(async () => (await waiting()) === 1), 'shown as waiting for its address');
  await held.free();
  assert.ok(await eventually(() => serves(port), 5000, 100), 'it listens once its address is free');
  assert.equal(await waiting(), 0, 'no longer waiting');
});

test('a listener moved to a taken address serves at its old one until the new one is free', async () => {
  const from = await freePort();
  await reload(gw, (c) => {
    c.listeners = [{ name: 'mover', listen: `127.0.0.1:${from}` }];
  });
  assert.ok(await eventually(() => serves(from)));
  const held = await heldPort();
  const to = held.port;
  await reload(gw, (c) => {
    c.listeners = [{ name: 'mover', listen: `127.0.0.1:${to}` }];
  });
  const waiting = () => waitingOf('mover');
  assert.ok(await eventually(async () => (await waiting()) === 1), 'shown as waiting for its address');
  assert.ok(await serves(from), 'the old address still serves');
  assert.equal(gw.port('mover'), from);
  await held.free();
  assert.ok(await eventually(() => serves(to), 5000, 100), 'it moves once the new address is free');
  await assert.rejects(tcpConnect(from), /ECONNREFUSED/, 'and leaves the old one');
  assert.equal(gw.port('mover'), to);
  assert.equal(await waiting(), 0);
});

test('a listener moved back before its move was done serves where it was', async () => {
  const home = await freePort();
  await reload(gw, (c) => {
    c.listeners = [{ name: 'back', listen: `127.0.0.1:${home}` }];
  });
  assert.ok(await eventually(() => serves(home)));
  const held = await heldPort();
  const away = held.port;
  await reload(gw, (c) => {
    c.listeners = [{ name: 'back', listen: `127.0.0.1:${away}` }];
  });
  const waiting = () => waitingOf('back');
  assert.ok(await eventually(async () => (await waiting()) === 1), 'waiting for the taken address');
  await reload(gw, (c) => {
    c.listeners = [{ name: 'back', listen: `127.0.0.1:${home}` }];
  });
  assert.ok(await eventually(async () => (await serves(home)) && (await waiting()) === 0), 'home again, not waiting');
  await held.free();
  await sleep(1500); // past the first retry: it must not take the address it left
  await assert.rejects(tcpConnect(away), /ECONNREFUSED/);
  assert.equal(gw.port('back'), home);
});

test("two listeners a reload swaps the addresses of each listen at the other's, waiting for neither", async () => {
  const [one, two] = [await freePort(), await freePort()];
  await reload(gw, (c) => {
    c.listeners = [
      { name: 'plain', listen: `127.0.0.1:${one}` },
      { name: 'h2only', listen: `127.0.0.1:${two}`, protocols: ['h2c'] },
    ];
  });
  assert.ok(await eventually(async () => (await serves(one)) && (await servesH2c(two))));
  await reload(gw, (c) => {
    c.listeners = [
      { name: 'plain', listen: `127.0.0.1:${two}` },
      { name: 'h2only', listen: `127.0.0.1:${one}`, protocols: ['h2c'] },
    ];
  });
  const at = (name: string) => (gw.listeners.has(name) ? gw.port(name) : undefined);
  assert.ok(await eventually(() => at('plain') === two && at('h2only') === one, 3000), 'swapped');
  assert.ok(await serves(two), 'HTTP/1.1 at the address the h2c listener had');
  assert.ok(await servesH2c(one), 'and h2c at the other');
  assert.equal(await servesH2c(two), false, 'by the listener given it');
});

test('an address a moving listener still serves goes at once to the listener a later reload gives it', async () => {
  const from = await freePort();
  await reload(gw, (c) => {
    c.listeners = [{ name: 'stuck', listen: `127.0.0.1:${from}` }];
  });
  assert.ok(await eventually(() => serves(from)));
  const held = await heldPort();
  await reload(gw, (c) => {
    c.listeners = [{ name: 'stuck', listen: `127.0.0.1:${held.port}` }];
  });
  assert.ok(await eventually(async () => (await waitingOf('stuck')) === 1), 'waiting, its old address serving');
  await reload(gw, (c) => {
    c.listeners = [
      { name: 'stuck', listen: `127.0.0.1:${held.port}` },
      { name: 'heir', listen: `127.0.0.1:${from}`, protocols: ['h2c'] },
    ];
  });
  assert.ok(await eventually(() => servesH2c(from), 3000), 'the new listener has the address');
  assert.equal(gw.port('heir'), from);
  await held.free();
  assert.ok(await eventually(() => serves(held.port), 5000, 100), 'and the waiting one still moves');
});

test('streams, and a listener and a stream, that a reload swaps the addresses of each take the other one', async () => {
  const [echoA, echoB] = [await tcpServer('a:'), await tcpServer('b:')];
  const [one, two, three] = [await freePort(), await freePort(), await freePort()];
  const streamAt = (name: string, port: number, to: number) => ({
    name,
    listen: `127.0.0.1:${port}`,
    upstream: { targets: [{ url: `tcp://127.0.0.1:${to}` }] },
  });
  const streamServes = (port: number, tag: string) => async () =>
    (await roundTrip(port, 'x').catch(() => undefined))?.data.toString() === `${tag}x`;
  await reload(gw, (c) => {
    c.listeners = [{ name: 'web', listen: `127.0.0.1:${one}` }];
    c.streams = [streamAt('ra', two, echoA.port), streamAt('rb', three, echoB.port)];
  });
  assert.ok(await eventually(async () => (await serves(one)) && (await streamServes(two, 'a:')())));
  await reload(gw, (c) => {
    c.listeners = [{ name: 'web', listen: `127.0.0.1:${one}` }];
    c.streams = [streamAt('ra', three, echoA.port), streamAt('rb', two, echoB.port)];
  });
  assert.ok(await eventually(streamServes(three, 'a:')), 'two streams swapped');
  assert.ok(await eventually(streamServes(two, 'b:')));
  // web takes rb's address, rb takes ra's, ra takes web's.
  await reload(gw, (c) => {
    c.listeners = [{ name: 'web', listen: `127.0.0.1:${two}` }];
    c.streams = [streamAt('ra', one, echoA.port), streamAt('rb', three, echoB.port)];
  });
  assert.ok(await eventually(() => serves(two)), 'the listener at the address a stream had');
  assert.ok(await eventually(streamServes(three, 'b:')), 'that stream at the address the other had');
  assert.ok(await eventually(streamServes(one, 'a:')), 'and the other at the one the listener had');
  await reload(gw, (c) => {
    c.listeners = [];
  });
  await Promise.all([echoA.close(), echoB.close()]);
});
