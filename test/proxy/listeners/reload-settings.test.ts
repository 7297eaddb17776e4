// A reload reaches the listeners it keeps: TLS given to or taken from a listener on the same address replaces it.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { reload } from '../../helpers/admin.ts';
import { issue, makeCa } from '../../helpers/certs.ts';
import { eventually, startGateway, type TestGateway } from '../../helpers/gateway.ts';
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
  upstream = await startUpstream('u', (req, res) => {
    req.resume();
    res.end('done');
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
