import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sleep } from '../helpers/gateway.ts';
import { startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../helpers/gateway-process.ts';
import { send } from '../helpers/http-client.ts';
import { closedPort } from '../helpers/raw-upstream.ts';
import { startTlsUpstream, type TlsUpstream } from '../helpers/tls-upstream.ts';

// Regression: a TLS failure left only `"status":502,"code":"GW_ERR_BAD_GATEWAY"` in the log, even at debug level.

let gw: GatewayProcess;
let tls: TlsUpstream;
let refused: string;

before(async () => {
  refused = `http://127.0.0.1:${await closedPort()}`;
  // The gateway process does not trust this self-signed certificate: every TLS handshake fails.
  tls = await startTlsUpstream('tls');
  const dir = tempDir();
  const upstream = (url: string) => ({ targets: [{ url }], retries: 0, health: { passive: { max_failures: 0 } } });
  gw = await startGatewayProcess(
    writeYaml(dir, 'failures.yaml', {
      proxy: { listen: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(dir, 'store') },
      log: { level: 'info' },
      services: [
        { name: 'gone', routes: [{ paths: ['/gone'] }], upstream: upstream(refused) },
        { name: 'secure', routes: [{ paths: ['/secure'] }], upstream: upstream(`https://127.0.0.1:${tls.port}`) },
      ],
    }),
  );
});

after(async () => {
  await gw?.stop();
  await tls?.close();
});

const failureLines = (service: string) =>
  gw.logs.filter((l) => l.msg === 'upstream request failed' && l.service === service);

test(
  'a refused connection and a failed TLS handshake are each ' +
    'logged at warn with their cause, target, service and request id',
  async () => {
    const gone = await send(gw.proxyUrl, '/gone');
    assert.equal(gone.status, 502);
    const line = await gw.waitForLog((l) => l.msg === 'upstream request failed' && l.service === 'gone');
    assert.equal(line.level, 40, 'warn');
    assert.equal(line.target, refused);
    assert.equal(line.request_id, gone.json().request_id);
    assert.equal(line.err_code, 'ECONNREFUSED');
    assert.equal(line.code, 'GW_ERR_UPSTREAM_REFUSED');

    const secure = await send(gw.proxyUrl, '/secure');
    assert.equal(secure.status, 502);
    const tlsLine = await gw.waitForLog((l) => l.msg === 'upstream request failed' && l.service === 'secure');
    assert.equal(tlsLine.target, `https://127.0.0.1:${tls.port}`);
    assert.equal(tlsLine.request_id, secure.json().request_id);
    assert.equal(tlsLine.err_code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.match(tlsLine.err, /self-signed certificate/);
  },
);

test('a burst of failures writes a bounded number of lines that still account for every failure', async () => {
  await sleep(1100); // the window the first test opened has ended
  const before = failureLines('gone').length;
  const started = Date.now();
  const burst = 300;
  for (let i = 0; i < burst; i += 10) {
    const replies = await Promise.all(Array.from({ length: 10 }, () => send(gw.proxyUrl, '/gone')));
    assert.deepEqual(
      replies.map((r) => r.status),
      Array(10).fill(502),
    );
  }
  const elapsedS = (Date.now() - started) / 1000;
  await sleep(1300); // the last window closes and writes its count
  const lines = failureLines('gone').slice(before);
  assert.ok(lines.length <= Math.ceil(elapsedS) + 2, `${lines.length} lines for ${burst} failures in ${elapsedS} s`);
  assert.equal(
    lines.reduce((n, l) => n + 1 + l.suppressed, 0),
    burst,
    JSON.stringify(lines),
  );
  assert.ok(lines.some((l) => l.suppressed > 0));
});
