import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';

const svc = (max: unknown) => ({
  services: [
    {
      name: 'api',
      routes: [{ paths: ['/'] }],
      upstream: { targets: [{ url: 'http://127.0.0.1:1' }] },
      max_body_bytes: max,
    },
  ],
});

test('max_body_bytes per service: absent = proxy.max_body_bytes, 0 = unlimited, negative or fractional refused', () => {
  const absent = validateConfig({ services: [{ ...svc(0).services[0], max_body_bytes: undefined }] }, {});
  assert.ok(absent.ok && absent.config.services[0].max_body_bytes === undefined);
  const zero = validateConfig(svc(0), {});
  assert.ok(zero.ok && zero.config.services[0].max_body_bytes === 0);
  assert.ok(!validateConfig(svc(-1), {}).ok);
  assert.ok(!validateConfig(svc(1.5), {}).ok);
});
