import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

/**
 * `Expect: 100-continue` over HTTP/2, as over HTTP/1.1 (expect-continue.test.ts): the 100 comes when a stage is
 * about to read the body, never for a request refused first, and any other expectation is ignored. Node's HTTP/2
 * server sends the 100 itself as the stream arrives unless told otherwise, and threw out of its stream event when
 * the client had reset that stream in the same read: the process went down.
 */

let gw: TestGateway;
let up: TestUpstream;
const bodies: string[] = [];
/** What a gateway process would have died of: an exception nothing caught. */
const uncaught: Error[] = [];
process.on('uncaughtExceptionMonitor', (err) => uncaught.push(err));

before(async () => {
  up = await startUpstream('up', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
    });
  });
  gw = await startGateway({
    // Both protocols: the sniffer hands each connection's first bytes on in one buffer.
    listeners: [{ name: 'h2c', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }],
    services: [
      service('open', [up.url], [{ paths: ['/open'] }]),
      { ...service('keyed', [up.url], [{ paths: ['/keyed'] }]), auth: { type: 'api_key' } },
    ],
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

interface Answer {
  status: number;
  /** Whether a 100 came before the final head. */
  continued: boolean;
}

/** A POST with `expect`, its body sent only after a 100 (or, for another expectation, at once). */
function post(path: string, expect: string, body: string): Promise<Answer> {
  const session = connect(`http://127.0.0.1:${gw.port('h2c')}`);
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': path, expect, 'content-length': body.length });
  let continued = false;
  stream.on('continue', () => {
    continued = true;
    stream.end(body);
  });
  if (expect !== '100-continue') stream.end(body);
  return new Promise((resolve, reject) => {
    stream.on('response', (headers) => {
      resolve({ status: Number(headers[':status']), continued });
      stream.resume();
      stream.on('end', () => session.close());
    });
    stream.on('error', reject);
  });
}

test('a stream asking for 100-continue, its connection broken before it began, leaves the gateway up', async () => {
  const session = connect(`http://127.0.0.1:${gw.port('h2c')}`);
  session.on('error', () => undefined);
  const closed = new Promise((r) => session.once('close', r));
  const asking = session.request(
    { ':method': 'HEAD', ':path': '/open/x', expect: '100-continue' },
    { endStream: true },
  );
  // A body longer than its Content-Length breaks the protocol (RFC 9113 8.1.1): nghttp2 ends the whole connection.
  const broken = session.request({ ':method': 'POST', ':path': '/open/y', 'content-length': '6' });
  broken.end(Buffer.alloc(7));
  for (const stream of [asking, broken]) stream.on('error', () => undefined).resume();
  await closed;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(uncaught, [], 'nothing thrown out of the gateway');
  const answer = await post('/open/after', '100-continue', 'after');
  assert.deepEqual(answer, { status: 200, continued: true });
  assert.equal(bodies.at(-1), 'after');
});

test('a request refused before its body is read gets its answer without a 100, and never sends the body', async () => {
  const seen = up.seen.length;
  const answer = await post('/keyed/x', '100-continue', 'secret');
  assert.deepEqual(answer, { status: 401, continued: false });
  assert.equal(up.seen.length, seen, 'nothing reached the upstream');
});

test('an expectation other than 100-continue is ignored, as over HTTP/1.1, not answered 417', async () => {
  const answer = await post('/open/other', 'something-else', 'body');
  assert.deepEqual(answer, { status: 200, continued: false });
  assert.equal(bodies.at(-1), 'body');
});
