// An HTTP/2 request whose body does not match its own content-length (RFC 9113 8.1.1: malformed) never reaches an
// upstream as a whole request: what was passed on of it is aborted there, and it is counted. A body short of its
// length resets that stream alone; one past it closes the client's connection, as Node's HTTP/2 handles it (a
// connection error, where the RFC asks for the stream's reset: nodejs/node#53160), and other clients carry on.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { after, before, test } from 'node:test';
import { eventually, sleep, startGateway, type TestGateway, service } from '../helpers/gateway.ts';
import { closeServer, listenLocal } from '../helpers/upstream.ts';
import { refusals } from '../helpers/metrics.ts';

let upstream: Server;
let gw: TestGateway;
/** Each request the upstream saw: whether it came whole, and the body bytes it got. */
const seen: { url: string; complete: boolean; closed: boolean; bytes: number }[] = [];
const upstreamClosed = (url: string) => seen.find((e) => e.url === url)?.closed === true;

before(async () => {
  upstream = createServer((req: IncomingMessage, res) => {
    const entry = { url: req.url ?? '', complete: false, closed: false, bytes: 0 };
    req.on('close', () => (entry.closed = true));
    seen.push(entry);
    req.on('data', (c: Buffer) => (entry.bytes += c.length));
    req.on('error', () => undefined);
    req.on('end', () => {
      entry.complete = true;
      res.end('ok');
    });
  });
  const url = await listenLocal(upstream);
  gw = await startGateway({
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [service('api', [url])],
  });
});
after(async () => {
  await gw?.close();
  await closeServer(upstream);
});

function session(): ClientHttp2Session {
  const s = connect(`http://127.0.0.1:${gw.port('h2c')}`);
  s.on('error', () => undefined);
  return s;
}

/** A POST declaring 5 bytes of body, sent in two parts (the first passed on before the second comes). */
async function lyingPost(s: ClientHttp2Session, path: string, first: string, rest: string): Promise<number> {
  const req: ClientHttp2Stream = s.request({ ':method': 'POST', ':path': path, 'content-length': '5' });
  req.on('error', () => undefined);
  req.resume();
  const closed = new Promise<number>((resolve) => req.on('close', () => resolve(req.rstCode ?? -1)));
  await sleep(50);
  req.write(first);
  assert.ok(await eventually(() => seen.find((e) => e.url === path)?.bytes === first.length), 'first part upstream');
  req.end(rest);
  return closed;
}

async function get(s: ClientHttp2Session, path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = s.request({ ':path': path });
    req.on('response', (h) => resolve(h[':status']));
    req.on('error', reject);
    req.resume();
  });
}

test('a body short of its content-length resets its stream; the upstream request is aborted, not ended', async () => {
  const s = session();
  try {
    const before = await refusals(gw, 'h2c', 'h2_protocol_error');
    const rstCode = await lyingPost(s, '/short', 'ab', '');
    assert.equal(rstCode, 1, 'PROTOCOL_ERROR'); // RST_STREAM, the stream alone
    await eventually(() => upstreamClosed('/short'));
    assert.deepEqual(
      seen.find((e) => e.url === '/short'),
      { url: '/short', complete: false, closed: true, bytes: 2 },
    );
    assert.equal(await get(s, '/after-short'), 200, 'the connection carries on');
    assert.equal(await refusals(gw, 'h2c', 'h2_protocol_error'), before);
  } finally {
    s.close();
  }
});

test('a body past its content-length closes that connection only; the upstream request is aborted', async () => {
  const liar = session();
  const other = session();
  try {
    assert.equal(await get(other, '/warm'), 200);
    const before = await refusals(gw, 'h2c', 'h2_protocol_error');
    await lyingPost(liar, '/long', 'abc', 'defghij');
    await eventually(() => upstreamClosed('/long'));
    assert.deepEqual(
      seen.find((e) => e.url === '/long'),
      { url: '/long', complete: false, closed: true, bytes: 3 },
    );
    await eventually(async () => (await refusals(gw, 'h2c', 'h2_protocol_error')) === before + 1);
    assert.equal(await refusals(gw, 'h2c', 'h2_protocol_error'), before + 1);
    assert.equal(liar.destroyed || liar.closed, true);
    assert.equal(await get(other, '/after-long'), 200, "another client's connection carries on");
  } finally {
    liar.destroy();
    other.close();
  }
});
