import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { loadConfigFile } from '../../gateway/config/load.ts';

const root = new URL('../../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true });

test('docker-compose.yml parses and every service has an image and a command or default entrypoint', () => {
  assert.ok(compose.services.gateway && compose.services.redis);
  for (const [name, svc] of Object.entries<any>(compose.services)) assert.ok(svc.image, `${name} has no image`);
});

test('every file or folder the compose file mounts from the repository exists', () => {
  for (const [name, svc] of Object.entries<any>(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const host = String(v).split(':')[0];
      if (!host.startsWith('.')) continue;
      assert.ok(existsSync(new URL(host, root)), `${name} mounts ${host}, which does not exist`);
    }
  }
});

test('the gateway config the compose file mounts is valid with the compose environment', () => {
  const env = Object.fromEntries(Object.entries<string>(compose.services.gateway.environment).map(([k, v]) => [k, k === 'TOLLGATE_ADMIN_TOKEN' ? 'x'.repeat(24) : v]));
  const r = loadConfigFile(new URL('gateway/examples/compose.yaml', root).pathname, env);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.equal(r.config.store.kind, 'redis');
  assert.equal(r.config.admin.listen, '0.0.0.0:9080');
});
