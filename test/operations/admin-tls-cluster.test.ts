// With workers, the admin API runs in the primary: its HTTPS listener's certificate and handshakes are in the
// cluster's /metrics beside the workers' listeners, in the same families (one HELP and TYPE each), once.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { issue, makeCa } from '../helpers/certs.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { handshake, httpsGet } from '../helpers/tls-client.ts';

test('with two workers the admin certificate and handshakes are in the cluster metrics, once', async () => {
  const dir = tempDir('tollgate-admin-tls-cluster-');
  const ca = makeCa(join(dir, 'ca'));
  const admin = issue(dir, ca, { cn: 'admin.test', dns: ['admin.test'] });
  const site = issue(dir, ca, { cn: 'site.test', dns: ['site.test'] });
  const adminPort = await freePort();
  const sitePort = await freePort();
  const file = writeYaml(dir, 'tollgate.yaml', {
    workers: 2,
    proxy: { listen: `127.0.0.1:${await freePort()}` },
    admin: { listen: `127.0.0.1:${adminPort}`, tls: { certificates: [admin] } },
    store: { dir: join(dir, 'store') },
    listeners: [{ name: 'public', listen: `127.0.0.1:${sitePort}`, tls: { certificates: [site] } }],
    services: [],
  });
  const gw = await startGatewayProcess(file);
  try {
    const client = { ca: ca.cert, servername: 'admin.test' };
    assert.equal((await handshake(sitePort, { ca: ca.cert, servername: 'site.test' })).cn, 'site.test');
    const answer = await httpsGet(adminPort, '/metrics', client);
    assert.equal(answer.status, 200, answer.text);
    const lines = answer.text.split('\n');
    const expiry = lines.filter((l) => l.startsWith('tollgate_tls_certificate_expiry_timestamp_seconds{'));
    const notAfter = (cert: string) => Math.floor(new X509Certificate(readFileSync(cert)).validToDate.getTime() / 1000);
    assert.deepEqual(expiry.sort(), [
      `tollgate_tls_certificate_expiry_timestamp_seconds{listener="admin",certificate="${admin.cert}",` +
        `subject="CN=admin.test"} ${notAfter(admin.cert)}`,
      `tollgate_tls_certificate_expiry_timestamp_seconds{listener="public",certificate="${site.cert}",` +
        `subject="CN=site.test"} ${notAfter(site.cert)}`,
    ]);
    const handshakes = lines.filter((l) => l.startsWith('tollgate_tls_handshakes_total{listener="admin",'));
    assert.equal(handshakes.length, 1, handshakes.join('\n'));
    assert.ok(Number(handshakes[0]!.split(' ')[1]) >= 1, handshakes[0]);
    const helps = lines.filter((l) => l.startsWith('# HELP '));
    assert.deepEqual(
      helps.filter((h, i) => helps.findIndex((o) => o.split(' ')[2] === h.split(' ')[2]) !== i),
      [],
      'no family twice',
    );
  } finally {
    await gw.stop();
  }
});
