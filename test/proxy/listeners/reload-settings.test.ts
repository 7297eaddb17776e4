// A reload reaches the listeners it keeps: TLS given to or taken from a listener on the same address replaces it,
// and proxy.*'s timeouts and header limits, max_connections and HTTP/2 SETTINGS apply without a restart; the two
// limits that wait for the listener to start again are logged.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { reload } from '../../helpers/admin.ts';
import { issue, makeCa } from '../../helpers/certs.ts';
import { eventually, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../../helpers/gateway-process.ts';
import { metric } from '../../helpers/metrics.ts';
import { freePort } from '../../helpers/ports.ts';
import { received, tcpConnect } from '../../helpers/tcp.ts';
import { httpsGet } from '../../helpers/tls-client.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-reload-settings-'));
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'api.test', dns: ['api.test'] });
let upstream: TestUpstream;
let gw: TestGateway;

before(async () => {
  // /slow answers after 600 ms: a connection busy across a reload.
  upstream = await startUpstream('u', (req, res) => {
    req.resume();
    setTimeout(() => res.end('done'), req.url === '/slow' ? 600 : 0);
  });
  gw = await startGateway({
    services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: upstream.url }] } }],
  });
});

after(async () => {
  await gw.close();
  await upstream.close();
});

/** The head of the answer to a GET with `headerBytes` of padding, on `socket` (kept open). */
async function ask(socket: import('node:net').Socket, headerBytes = 0): Promise<string> {
  const pad = headerBytes > 0 ? `x-pad: ${'p'.repeat(headerBytes)}\r\n` : '';
  const head = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
  socket.write(`GET / HTTP/1.1\r\nhost: a.test\r\n${pad}\r\n`);
  return (await head).split('\r\n\r\n')[0];
}

test('TLS given to a plaintext listener on the same address replaces it: plaintext is refused from then', async () => {
  const port = await freePort();
  await reload(gw, (c) => {
    c.listeners = [{ name: 'edge', listen: `127.0.0.1:${port}` }];
  });
  const plain = await eventually(() => tcpConnect(port).catch(() => undefined));
  assert.match(await ask(plain!), /^HTTP\/1\.1 200/);
  await reload(gw, (c) => {
    c.listeners = [{ name: 'edge', listen: `127.0.0.1:${port}`, tls: { certificates: [cert] } }];
  });
  const https = () => httpsGet(port, '/', { ca: ca.cert, servername: 'api.test' }).catch(() => undefined);
  assert.ok(await eventually(async () => (await https())?.status === 200), 'HTTPS serves');
  const later = await tcpConnect(port);
  const answer = received(later, 2000);
  later.write('GET / HTTP/1.1\r\nhost: a.test\r\n\r\n');
  assert.doesNotMatch((await answer).data.toString(), /^HTTP\/1\.1 200/, 'a plaintext request is not served');
  later.destroy();
  await reload(gw, (c) => {
    c.listeners = [{ name: 'edge', listen: `127.0.0.1:${port}` }];
  });
  const again = await eventually(async () => {
    const s = await tcpConnect(port).catch(() => undefined);
    if (s && /^HTTP\/1\.1 200/.test(await ask(s))) return s;
    s?.destroy();
  });
  assert.ok(again, 'TLS taken away: plaintext serves again');
  again.destroy();
  plain!.destroy();
});

test("a reload applies proxy.*'s keep-alive and header limit to open listeners and connections", async () => {
  const mixed = (proxy: object) => (c: any) => {
    c.listeners = [{ name: 'mixed', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'] }];
    c.proxy = { ...c.proxy, ...proxy };
  };
  await reload(gw, mixed({}));
  await eventually(() => gw.listeners.has('mixed'));
  const ports = [gw.port('proxy'), gw.port('mixed')];
  const open = await Promise.all(ports.map((p) => tcpConnect(p)));
  for (const s of open) assert.match(await ask(s), /keep-alive: timeout=65/i);
  await reload(gw, mixed({ keep_alive_ms: 7000, max_header_bytes: 4096 }));
  for (const s of open) assert.match(await ask(s), /keep-alive: timeout=7\b/i, 'an open connection is told the new');
  for (const port of ports) {
    const s = await tcpConnect(port);
    assert.match(await ask(s, 5000), /^HTTP\/1\.1 431/, 'a head over the new limit is refused');
    s.destroy();
  }
  for (const s of open) s.destroy();
});

test("a reload applies proxy.header_timeout_ms to a listener's sniffer, and max_connections", async () => {
  const mixed = (max?: number) => (c: any) => {
    c.listeners = [{ name: 'mixed', listen: '127.0.0.1:0', protocols: ['h2c', 'http/1.1'], max_connections: max }];
    c.proxy = { ...c.proxy, header_timeout_ms: 300 };
  };
  await reload(gw, mixed());
  await eventually(() => gw.listeners.has('mixed'));
  const port = gw.port('mixed');
  const silent = received(await tcpConnect(port), 3000);
  assert.equal((await silent).closed, true, 'a client that sends nothing is closed within the new header timeout');
  const first = await tcpConnect(port);
  assert.match(await ask(first), /^HTTP\/1\.1 200/);
  const dropped = () => metric(gw, 'tollgate_client_connections_dropped_total');
  const before = await dropped();
  await reload(gw, mixed(1));
  const over = received(await tcpConnect(port), 2000);
  assert.equal((await over).closed, true, 'a second connection is closed on accept');
  assert.equal(await dropped(), before + 1, 'and counted');
  assert.match(await ask(first), /^HTTP\/1\.1 200/, 'the one open goes on');
  await reload(gw, mixed(0));
  const second = await tcpConnect(port);
  assert.match(await ask(second), /^HTTP\/1\.1 200/, 'no limit again');
  for (const s of [first, second]) s.destroy();
});

/** The SETTINGS a new h2c connection to `port` is sent, and the session. */
async function settingsOf(port: number): Promise<{ session: ClientHttp2Session; streams: number | undefined }> {
  const session = h2connect(`http://127.0.0.1:${port}`);
  await once(session, 'remoteSettings');
  return { session, streams: session.remoteSettings.maxConcurrentStreams };
}

test('a reload applies HTTP/2 SETTINGS to the connections after it; one open before it goes on', async () => {
  const h2 = (http2?: object) => (c: any) => {
    c.listeners = [{ name: 'h2', listen: '127.0.0.1:0', protocols: ['h2c'], http2 }];
  };
  await reload(gw, h2());
  await eventually(() => gw.listeners.has('h2'));
  const port = gw.port('h2');
  const old = await settingsOf(port);
  assert.equal(old.streams, 128);
  await reload(gw, h2({ max_concurrent_streams: 7 }));
  const fresh = await settingsOf(port);
  assert.equal(fresh.streams, 7, 'a new connection is sent the new limit');
  const req = old.session.request({ ':path': '/' });
  const [headers] = await once(req, 'response');
  req.resume();
  assert.equal(headers[':status'], 200, 'the connection from before still serves');
  for (const s of [old.session, fresh.session]) s.close();
});

test('a reload that changes a limit Node reads only at start logs that it waits for a restart', async () => {
  const dir = tempDir();
  const config = (handshakeMs: number, sessionMb: number) => ({
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0', tls: { certificates: [cert], handshake_timeout_ms: handshakeMs } },
    store: { dir: join(dir, 'store') },
    listeners: [
      {
        name: 'edge',
        listen: '127.0.0.1:0',
        tls: { certificates: [cert], handshake_timeout_ms: handshakeMs },
        http2: { max_session_memory_mb: sessionMb },
      },
    ],
    services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: upstream.url }] } }],
    streams: [
      {
        name: 'db',
        listen: '127.0.0.1:0',
        tls: { certificates: [cert], handshake_timeout_ms: handshakeMs },
        upstream: { targets: [{ url: 'tcp://127.0.0.1:1' }] },
      },
    ],
  });
  const file = writeYaml(dir, 'tollgate.yaml', config(10000, 64));
  const proc = await startGatewayProcess(file);
  try {
    writeYaml(dir, 'tollgate.yaml', config(5000, 32));
    const warning = await proc.waitForLog((l) => l.listener === 'edge' && l.fields !== undefined);
    assert.equal(warning.level, 40);
    assert.deepEqual(warning.fields, ['http2.max_session_memory_mb', 'tls.handshake_timeout_ms']);
    const stream = await proc.waitForLog((l) => l.stream === 'db' && l.fields !== undefined);
    assert.equal(stream.level, 40);
    assert.deepEqual(stream.fields, ['tls.handshake_timeout_ms']);
    const admin = await proc.waitForLog((l) => l.settings !== undefined);
    assert.equal(admin.level, 40);
    assert.deepEqual(admin.settings, ['admin.tls.handshake_timeout_ms'], "the admin listener's waits for a restart");
  } finally {
    assert.equal((await proc.stop()).code, 0);
  }
});

test('an applied reload has tried the addresses it adds: each listens, or shows as waiting for it', async () => {
  // proxy.listen's address: taken, by the gateway itself.
  const taken = gw.port('proxy');
  await reload(gw, (c) => {
    c.listeners = [{ name: 'fresh', listen: '127.0.0.1:0' }];
    c.streams = [
      { name: 'raw', listen: '127.0.0.1:0', upstream: { targets: [{ url: 'tcp://127.0.0.1:1' }] } },
      { name: 'blocked', listen: `127.0.0.1:${taken}`, upstream: { targets: [{ url: 'tcp://127.0.0.1:1' }] } },
    ];
  });
  assert.ok(gw.listeners.has('fresh') && gw.listeners.has('raw'), 'both listen when the reload is applied');
  assert.match(await ask(await tcpConnect(gw.port('fresh'))), /^HTTP\/1\.1 200/);
  assert.equal(await metric(gw, 'tollgate_stream_listen_waiting', 'stream="blocked"'), 1, 'the other waits');
  await reload(gw, (c) => {
    c.listeners = [];
    c.streams = [];
  });
});

test("a listener a reload replaces counts the connections the old one holds against a client's limit", async () => {
  const port = await freePort();
  const limited = (protocols: string[]) => (c: any) => {
    c.listeners = [{ name: 'capped', listen: `127.0.0.1:${port}`, protocols, max_connections_per_ip: 1 }];
  };
  await reload(gw, limited(['http/1.1']));
  const busy = await tcpConnect(port);
  const answer = received(busy, 3000);
  busy.write('GET /slow HTTP/1.1\r\nhost: a.test\r\n\r\n');
  await reload(gw, limited(['h2c', 'http/1.1']));
  const second = received(await tcpConnect(port), 2000);
  assert.equal((await second).closed, true, 'the client already holds its one connection');
  assert.match((await answer).data.toString(), /^HTTP\/1\.1 200/, 'which is answered');
  const third = await eventually(async () => {
    const s = await tcpConnect(port);
    const head = await Promise.race([ask(s), new Promise<string>((r) => s.once('close', () => r('')))]);
    if (/^HTTP\/1\.1 200/.test(head)) return s;
    s.destroy();
  });
  assert.ok(third, 'once it closed, the client may connect again');
  third.destroy();
  await reload(gw, (c) => {
    c.listeners = [];
  });
});
