// When a listener's client-certificate checks change (a new CRL revoking a certificate), the connections it let in
// under the old ones end once they have answered what they are answering: an idle HTTP/1.1 connection is closed, a
// busy one answers with Connection: close, an HTTP/2 one gets GOAWAY. A revoked client cannot go on over a
// connection it opened before, nor over a WebSocket (closed with 1008), nor over a TCP stream (closed). A reload
// that leaves the checks as they were leaves the connections alone.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect as h2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { admin, reload } from '../../helpers/admin.ts';
import { issue, makeCa, revocationList } from '../../helpers/certs.ts';
import { eventsWhere } from '../../helpers/events.ts';
import { service, sleep, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { metric } from '../../helpers/metrics.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';
import { h2Handshake } from '../../helpers/raw-websocket.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-mtls-reconnect-'));
const serverCa = makeCa(join(dir, 'server'));
const clientCa = makeCa(join(dir, 'clients'), 'client-ca');
const server = issue(dir, serverCa, { cn: 'api.test', dns: ['api.test'] });
const leaf = (cn: string) => issue(join(dir, 'clients'), clientCa, { cn, client: true });
const [alice, nobody] = [leaf('alice'), leaf('nobody')];
const crl = join(dir, 'clients.crl.pem');
let generation = 0;
/** A new CRL file revoking `revoked`, and a reload that reads it. */
async function publish(...revoked: (typeof alice)[]): Promise<void> {
  copyFileSync(revocationList(dir, clientCa, [nobody, ...revoked], `crl-${generation++}`), crl);
  assert.equal((await admin(gw, 'POST', '/config/tls/reload')).status, 200);
}

let upstream: TestUpstream;
let echo: Server;
let gw: TestGateway;

before(async () => {
  copyFileSync(revocationList(dir, clientCa, [nobody], 'first'), crl);
  // /slow answers after 400 ms: a request in flight while the checks change.
  upstream = await startUpstream('up', (req, res) => {
    setTimeout(
      () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'),
      req.url?.includes('slow') ? 400 : 0,
    );
  });
  const wss = new WebSocketServer({ noServer: true });
  upstream.server.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('error', () => undefined)),
  );
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as { port: number }).port;
  gw = await startGateway({
    streams: [
      {
        name: 'db',
        listen: '127.0.0.1:0',
        tls: { certificates: [server], client_certificates: { ca: clientCa.cert, crl, required: true } },
        upstream: { targets: [{ url: `tcp://127.0.0.1:${echoPort}` }] },
      },
    ],
    listeners: [
      {
        name: 'partners',
        listen: '127.0.0.1:0',
        tls: { certificates: [server], client_certificates: { ca: clientCa.cert, crl, required: true } },
      },
    ],
    services: [service('api', [upstream.url], [{ paths: ['/api'] }])],
  });
});
after(async () => {
  await gw?.close();
  await upstream?.close();
  echo?.close();
});

const tlsFiles = (who: typeof alice) => ({
  ca: readFileSync(serverCa.cert),
  cert: readFileSync(who.cert),
  key: readFileSync(who.key),
  servername: 'api.test',
});

/** A keep-alive HTTP/1.1 connection as `who`, and a way to send a request on it and read the answer's head. */
async function keepAlive(who: typeof alice) {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port: gw.port('partners'), ...tlsFiles(who) });
  await new Promise((r) => socket.once('secureConnect', r));
  let text = '';
  socket.on('data', (chunk) => (text += chunk));
  socket.on('error', () => undefined);
  let open = true;
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  closed.then(() => (open = false));
  const ask = async (path: string) => {
    text = '';
    socket.write(`GET ${path} HTTP/1.1\r\nHost: api.test\r\n\r\n`);
    const deadline = Date.now() + 3000;
    // The body, `ok`, as sent or chunked.
    while (open && !/\r\n\r\n(ok|2\r\nok\r\n0\r\n\r\n)$/.test(text) && Date.now() < deadline) await sleep(10);
    return text.split('\r\n\r\n')[0];
  };
  return { socket, ask, closed };
}

test('a TLS change that leaves the client-certificate checks as they were leaves open connections alone', async () => {
  const conn = await keepAlive(alice);
  assert.match(await conn.ask('/api/one'), /^HTTP\/1\.1 200/);
  // A TLS change that leaves the client-certificate checks as they were.
  await reload(gw, (config) => (config.listeners[0].tls.handshake_timeout_ms = 9000));
  assert.match(await conn.ask('/api/two'), /^HTTP\/1\.1 200/, 'the same connection goes on');
  conn.socket.destroy();
});

test('a new CRL: an idle HTTP/1.1 connection is closed, a busy one answers with Connection: close', async () => {
  const [idle, busy] = [await keepAlive(alice), await keepAlive(alice)];
  assert.match(await idle.ask('/api/one'), /^HTTP\/1\.1 200/);
  const answer = busy.ask('/api/slow');
  await sleep(100);
  await publish(alice);
  await Promise.race([idle.closed, sleep(1000).then(() => assert.fail('the idle connection stayed open'))]);
  const head = await answer;
  assert.match(head, /^HTTP\/1\.1 200/, 'the request in flight is answered');
  assert.match(head, /\r\nconnection: close/i, 'and its connection ends');
  await Promise.race([busy.closed, sleep(1000).then(() => assert.fail('the busy connection stayed open'))]);
  const again = await keepAlive(alice).catch((err: Error) => err);
  if (!(again instanceof Error)) assert.equal(await again.ask('/api/three'), '', 'a new connection is refused');
});

test('a new CRL: an HTTP/2 connection gets GOAWAY, and the revoked client cannot go on over it', async () => {
  await publish();
  const session = h2Connect(`https://127.0.0.1:${gw.port('partners')}`, tlsFiles(alice));
  session.on('error', () => undefined);
  const get = (path: string) =>
    new Promise<number>((resolve) => {
      const stream = session.request({ ':path': path, ':authority': 'api.test' });
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', () => resolve(0));
      stream.on('close', () => resolve(0));
      stream.resume();
    });
  assert.equal(await get('/api/one'), 200);
  const goaway = new Promise<void>((r) => session.once('goaway', () => r()));
  await publish(alice);
  await Promise.race([goaway, sleep(1000).then(() => assert.fail('no GOAWAY'))]);
  assert.equal(await get('/api/two'), 0, 'no new stream on it');
  session.destroy();
});

test('a new CRL: a WebSocket connection opened before it is closed with 1008', async () => {
  await publish();
  const ws = new WebSocket(`wss://127.0.0.1:${gw.port('partners')}/api/ws`, tlsFiles(alice));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  await publish(alice);
  const code = await Promise.race([closed, sleep(2000).then(() => 0)]);
  assert.equal(code, 1008, 'closed by the gateway, policy violation');
});

test('a new CRL: a WebSocket over HTTP/2 (RFC 8441) opened before it is closed with 1008', async () => {
  await publish();
  const session = h2Connect(`https://127.0.0.1:${gw.port('partners')}`, tlsFiles(alice));
  session.on('error', () => undefined);
  await new Promise((r) => session.once('remoteSettings', r));
  const stream = session.request(h2Handshake('/api/ws', 'api.test', 'https'));
  stream.on('error', () => undefined);
  const status = await new Promise<number>((r) => stream.once('response', (h) => r(Number(h[':status']))));
  assert.equal(status, 200, 'the tunnel opened');
  let received = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => (received = Buffer.concat([received, chunk])));
  await publish(alice);
  const deadline = Date.now() + 2000;
  while (received.length < 4 && Date.now() < deadline) await sleep(20);
  // An unmasked close frame from the gateway: opcode 8, then the code.
  assert.equal(received[0], 0x88, `a close frame, got ${received.toString('hex')}`);
  assert.equal(received.readUInt16BE(2), 1008);
  session.destroy();
});

test('a TCP stream: a TLS change leaving the checks keeps its connection, a new CRL closes it', async () => {
  await publish();
  const socket = connect({ host: '127.0.0.1', port: gw.port('db'), ...tlsFiles(alice) });
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('secureConnect', r));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const echoed = async (text: string) => {
    socket.write(text);
    const [chunk] = (await Promise.race([
      new Promise((r) => socket.once('data', (d) => r([d]))),
      sleep(1000).then(() => ['']),
    ])) as [Buffer | string];
    return String(chunk);
  };
  assert.equal(await echoed('one'), 'one');
  await reload(gw, (config) => (config.streams[0].tls.handshake_timeout_ms = 9000));
  assert.equal(await echoed('two'), 'two', 'the same connection goes on');
  await publish(alice);
  await Promise.race([closed, sleep(1000).then(() => assert.fail('the stream connection stayed open'))]);
  assert.equal(await metric(gw, 'tollgate_stream_closed_total', 'stream="db",reason="client_certificate"'), 1);
  const [event] = await eventsWhere(gw, (e) => e.service === 'db' && e.closeReason === 'client_certificate');
  assert.equal(event?.status, 200, 'counted as the connection it was');
});
