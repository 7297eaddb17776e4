// A config that fetches an issuer's keys over plain HTTP from another machine, or checks no upstream certificate,
// is applied (an issuer on a private network, a lab), and the gateway says so at warn, naming each field: whoever
// is on the path can serve keys that sign any token, or read and change the upstream traffic. Said once a version:
// renewed TLS files applied under the same version (a certificate renewed every day) do not say it again.
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { issue, makeCa } from '../helpers/certs.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';

test('settings open to whoever is on the path are logged at warn with their fields when applied', async () => {
  const dir = tempDir();
  const ca = makeCa(dir);
  const site = { cert: join(dir, 'site.pem'), key: join(dir, 'site.key') };
  const renew = (n: number) => {
    const leaf = issue(dir, ca, { cn: `v${n}.test`, dns: ['site.test'] });
    copyFileSync(leaf.cert, site.cert);
    copyFileSync(leaf.key, site.key);
  };
  renew(1);
  const file = writeYaml(dir, 'tollgate.yaml', {
    proxy: { listen: '127.0.0.1:0', tls_files_check_ms: 100 },
    listeners: [{ name: 'public', listen: '127.0.0.1:0', tls: { certificates: [site] } }],
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    log: { level: 'info' },
    services: [
      {
        name: 'api',
        routes: [{ paths: ['/'] }],
        auth: {
          type: 'jwt',
          issuers: [{ issuer: 'https://idp.test', jwks_url: 'http://idp.test/jwks', audience: ['api'] }],
        },
        upstream: { targets: [{ url: 'https://127.0.0.1:1' }], tls: { verify: false } },
      },
    ],
  });
  const gw = await startGatewayProcess(file);
  const said = (l: Record<string, any>) => l.level === 40 && /open to whoever is on the path/.test(l.msg ?? '');
  try {
    const line = await gw.waitForLog(said);
    assert.deepEqual(
      line.exposed.map((e: { path: string }) => e.path),
      ['/services/0/auth/issuers/0/jwks_url', '/services/0/upstream/tls/verify'],
    );
    const renewed = (l: Record<string, any>) => /TLS files changed on disk/.test(l.msg ?? '');
    renew(2);
    await gw.waitForLog(renewed);
    assert.equal(gw.logs.filter(said).length, 1, 'said once for the version');
  } finally {
    assert.equal((await gw.stop()).code, 0);
  }
});
