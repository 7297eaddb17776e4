// A config that fetches an issuer's keys over plain HTTP from another machine, or checks no upstream certificate,
// is applied (an issuer on a private network, a lab), and the gateway says so at warn, naming each field: whoever
// is on the path can serve keys that sign any token, or read and change the upstream traffic.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';

test('settings open to whoever is on the path are logged at warn with their fields when applied', async () => {
  const dir = tempDir();
  const file = writeYaml(dir, 'tollgate.yaml', {
    proxy: { listen: '127.0.0.1:0' },
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
  try {
    const line = await gw.waitForLog((l) => l.level === 40 && /open to whoever is on the path/.test(l.msg ?? ''));
    assert.deepEqual(
      line.exposed.map((e: { path: string }) => e.path),
      ['/services/0/auth/issuers/0/jwks_url', '/services/0/upstream/tls/verify'],
    );
  } finally {
    assert.equal((await gw.stop()).code, 0);
  }
});
