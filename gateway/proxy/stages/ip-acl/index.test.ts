import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';

const svc = (acl: unknown) => ({
  services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: 'http://127.0.0.1:1' }] }, acl }],
});

test('acl schema: allow and deny default to [], unknown keys and bad CIDRs are refused with their path', () => {
  const r = validateConfig(svc({}), {});
  assert.ok(r.ok);
  assert.deepEqual(r.config.services[0].acl, { allow: [], deny: [] });
  const absent = validateConfig({ services: [{ ...svc(undefined).services[0], acl: undefined }] }, {});
  assert.ok(absent.ok && absent.config.services[0].acl === undefined);
  assert.ok(!validateConfig(svc({ block: [] }), {}).ok);
  const bad = validateConfig(svc({ allow: ['10.0.0.0/8', '10.0.0.0/99'], deny: ['fe80::/10', 'x'] }), {});
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map((e) => e.path).sort(), ['/services/0/acl/allow/1', '/services/0/acl/deny/1']);
});
