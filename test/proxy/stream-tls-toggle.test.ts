// A reload that gives a stream TLS, or takes it away, on the same address keeps its listening socket: no
// connection made meanwhile is refused or reset, new connections are terminated (or not) from then on, and a
// connection opened before carries on as it began. Before, the stream stopped listening and listened again: with
// the gateway in a process of its own, connections made in a loop met ECONNREFUSED in between.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { issue, makeCa } from '../helpers/certs.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { freePort } from '../helpers/ports.ts';
import { tlsRoundTrip } from '../helpers/tls-client.ts';
import { type ProbeResult, probeConnections, readBytes, roundTrip, tcpConnect, tcpServer } from '../helpers/tcp.ts';

const dir = tempDir('tollgate-stream-tls-');
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'db.test', dns: ['db.test'] });

test('giving a stream TLS and taking it away on its address refuses no connection; each reload applies', async (t) => {
  const echo = await tcpServer();
  t.after(() => echo.close());
  const port = await freePort();
  const config = (tls: boolean) => ({
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    events: { sink: 'none' },
    log: { level: 'info' },
    services: [],
    streams: [
      {
        name: 'db',
        listen: `127.0.0.1:${port}`,
        ...(tls ? { tls: { certificates: [cert] } } : {}),
        upstream: { targets: [{ url: `tcp://127.0.0.1:${echo.port}` }] },
      },
    ],
  });
  const gw = await startGatewayProcess(writeYaml(dir, 'tollgate.yaml', config(false)));
  t.after(() => gw.stop());
  // Opened in plaintext before any reload: it stays so.
  const early = await tcpConnect(port);
  const probes = probeConnections(port);
  let seen: ProbeResult | undefined;
  try {
    for (let round = 1; round <= 8; round++) {
      const tls = round % 2 === 1;
      writeYaml(dir, 'tollgate.yaml', config(tls));
      await gw.waitForLog((l) => l.msg === 'config applied' && l.version === round + 1, 15000);
      if (tls)
        assert.equal(
          (await tlsRoundTrip(port, { ca: ca.cert, servername: 'db.test' }, `round ${round}`)).answer,
          `round ${round}`,
        );
      else assert.equal((await roundTrip(port, `round ${round}`)).data.toString(), `round ${round}`);
    }
  } finally {
    seen = await probes.stop();
  }
  const { accepted, failed } = seen;
  assert.deepEqual(failed, {}, `${accepted} connections accepted`);
  assert.ok(accepted > 200, `${accepted} connections accepted`);
  early.write('still plain');
  assert.equal((await readBytes(early, 11)).toString(), 'still plain');
  early.destroy();
});
