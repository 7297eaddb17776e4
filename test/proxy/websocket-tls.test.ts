// wss:// end to end: a TLS listener takes the handshake, and the upstream is reached over TLS with its own CA.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { issue, makeCa } from '../helpers/certs.ts';
import { startGateway } from '../helpers/gateway.ts';
import { PRIVATE } from '../helpers/tls-upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-wss-'));
const ca = makeCa(dir);
const site = issue(dir, ca, { cn: 'localhost', dns: ['localhost'] });

test('wss through a TLS listener to an upstream over TLS', async (t) => {
  const upstream = createServer({ cert: readFileSync(PRIVATE.serverCert), key: readFileSync(PRIVATE.serverKey) });
  const wss = new WebSocketServer({ server: upstream });
  wss.on('connection', (ws, req) => ws.on('message', (m) => ws.send(`${m}:${req.headers['x-forwarded-proto']}`)));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.after(() => {
    wss.close();
    upstream.close();
  });
  const gw = await startGateway({
    listeners: [
      {
        name: 'public',
        listen: '127.0.0.1:0',
        protocols: ['http/1.1'],
        tls: { certificates: [site] },
      },
    ],
    services: [
      {
        name: 'chat',
        routes: [{ paths: ['/ws'] }],
        upstream: {
          targets: [{ url: `https://localhost:${(upstream.address() as AddressInfo).port}` }],
          tls: { ca_file: PRIVATE.ca },
        },
      },
    ],
  });
  t.after(() => gw.close());
  const ws = new WebSocket(`wss://localhost:${gw.port('public')}/ws`, { ca: readFileSync(ca.cert) });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send('secure');
  const reply = await new Promise<string>((r) => ws.once('message', (d: Buffer) => r(d.toString())));
  assert.equal(reply, 'secure:https', 'the upstream saw the client came over TLS');
  ws.close();
  await new Promise((r) => ws.once('close', r));
});
