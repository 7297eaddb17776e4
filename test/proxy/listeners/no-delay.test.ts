// Every listener sends what the upstream gives it at once (TCP_NODELAY on its client connections). Without it, a
// response the upstream writes in two parts waits for the client's delayed ACK (40 ms on Linux) before its second
// part (Nagle's algorithm): on each keep-alive request, not once per connection. Node's http and http2 servers set
// it on what they accept; the servers in front of them here (TLS, the h2c sniffer, per-client limits, the PROXY
// header reader) did not, nor did the admin API's TLS server, and HTTP/1.1 there waited 44 ms a response (now a
// listener's door sets it: listeners/door.ts, and the admin's front: listeners/plain-http-front.ts). A round trip is
// well under a millisecond otherwise, so the median of nine below 20 ms tells the two apart with room to spare on a
// busy machine.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { issue, makeCa } from '../../helpers/certs.ts';
import { service, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { validateConfig } from '../../../gateway/control/config/load.ts';
import type { ListenerTls } from '../../../gateway/proxy/listeners/certificates.ts';
import { TlsListener } from '../../../gateway/proxy/listeners/tls.ts';
import { createPlainHttpFront } from '../../../gateway/proxy/listeners/plain-http-front.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-nodelay-'));
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'gw.test', dns: ['gw.test'] });

let upstream: Server;
let gw: TestGateway;

before(async () => {
  // Chunked, in two writes a turn of the event loop apart, as a streamed response comes.
  upstream = createServer((_req, res) => {
    res.write('first part\n');
    setImmediate(() => res.end('second part\n'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gw = await startGateway({
    trusted_proxies: ['127.0.0.1'],
    listeners: [
      { name: 'tls', listen: '127.0.0.1:0', tls: { certificates: [cert] } },
      { name: 'sniffed', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] },
      { name: 'limited', listen: '127.0.0.1:0', max_connections_per_ip: 50 },
      { name: 'behind_lb', listen: '127.0.0.1:0', proxy_protocol: { accept: true } },
    ],
    services: [service('api', [url], [{ paths: ['/'] }])],
  });
});
after(async () => {
  await gw?.close();
  upstream?.close();
});

/** Median milliseconds of nine keep-alive requests on one connection, each answered whole before the next. */
async function medianRoundTripMs(socket: Socket, request = 'GET /stream HTTP/1.1\r\nHost: gw.test\r\n\r\n') {
  socket.setNoDelay(true);
  const times: number[] = [];
  for (let i = 0; i < 9; i++) {
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk;
        if (!text.endsWith('0\r\n\r\n') && !text.endsWith('second part\n')) return;
        socket.off('data', onData);
        assert.match(text, /first part\n.*second part\n/s);
        resolve();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(request);
    });
    times.push(performance.now() - start);
  }
  socket.destroy();
  return times.sort((a, b) => a - b)[4];
}

const secure = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'gw.test', ca: readFileSync(ca.cert) }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });

const plain = (port: number, header = '') =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      if (header) socket.write(header);
      resolve(socket);
    });
    socket.once('error', reject);
  });

test('a response the upstream writes in two parts is not held back, on every kind of HTTP/1.1 listener', async () => {
  const medians = {
    proxy: await medianRoundTripMs(await plain(gw.port('proxy'))),
    tls: await medianRoundTripMs(await secure(gw.port('tls'))),
    sniffed: await medianRoundTripMs(await plain(gw.port('sniffed'))),
    limited: await medianRoundTripMs(await plain(gw.port('limited'))),
    behind_lb: await medianRoundTripMs(await plain(gw.port('behind_lb'), 'PROXY TCP4 203.0.113.9 127.0.0.1 1 2\r\n')),
  };
  for (const [listener, ms] of Object.entries(medians))
    assert.ok(ms < 20, `${listener}: ${ms.toFixed(1)} ms a request (${JSON.stringify(medians)})`);
});

test("a TLS server behind a front that listens itself, as the admin API's does, sends at once too", async () => {
  const loaded = validateConfig({ admin: { listen: '127.0.0.1:0', tls: { certificates: [cert] } }, services: [] }, {});
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  const quiet = () => undefined;
  const listener = new TlsListener(loaded.config.admin.tls as ListenerTls, ['http/1.1'], {
    // Each byte the client sends is answered in two writes, a turn of the event loop apart.
    secured: (socket) =>
      socket.on('data', () => {
        socket.write('first part\n');
        setImmediate(() => socket.write('second part\n'));
      }),
    handshake: quiet,
    refused: quiet,
    served: quiet,
    ocsp: { fetched: quiet, stapled: quiet, forgotten: quiet },
  });
  const front = createPlainHttpFront(listener.server, 10_000, quiet, (socket) => socket.destroy());
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  try {
    const ms = await medianRoundTripMs(await secure((front.address() as AddressInfo).port), '?');
    assert.ok(ms < 20, `${ms.toFixed(1)} ms a round trip`);
  } finally {
    listener.close();
    front.close();
  }
});
