import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../control/config/load.ts';
import { RouteGrants } from './grants.ts';

const svc = (extra: Record<string, unknown>) => ({
  services: [
    {
      name: 'api',
      routes: [
        { name: 'read', paths: ['/r'] },
        { name: 'write', paths: ['/w'] },
      ],
      upstream: { targets: [{ url: 'http://127.0.0.1:1' }] },
      auth: { type: 'api_key' },
      ...extra,
    },
  ],
});

test('rbac schema: enabled defaults to true, roles to {}, grants to any method and the whole route', () => {
  const r = validateConfig(svc({ rbac: { roles: { reader: [{ routes: ['read'] }] } } }), {});
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.config.services[0].rbac, {
    enabled: true,
    allow_encoded_slash: false,
    case_insensitive_paths: false,
    roles: { reader: [{ routes: ['read'], methods: ['*'], paths: [] }] },
  });
  assert.ok(
    !validateConfig(svc({ rbac: { roles: { reader: [{ routes: [] }] } } }), {}).ok,
    'a grant names at least one route',
  );
  assert.ok(!validateConfig(svc({ rbac: { roles: { reader: [{ routes: ['read'], paths: ['nope'] }] } } }), {}).ok);
  assert.ok(!validateConfig(svc({ rbac: { roles: { 'bad role': [] } } }), {}).ok);
});

test('rbac rules: a grant naming an unknown route, or RBAC without authentication, is refused with its path', () => {
  const unknown = validateConfig(svc({ rbac: { roles: { reader: [{ routes: ['read', 'nope'] }] } } }), {});
  assert.ok(!unknown.ok);
  assert.deepEqual(
    unknown.errors.map((e) => e.path),
    ['/services/0/rbac/roles/reader/0/routes/1'],
  );
  const noAuth = validateConfig(svc({ auth: undefined, rbac: { roles: {} } }), {});
  assert.ok(!noAuth.ok && noAuth.errors.some((e) => e.path === '/services/0/rbac/enabled'));
  assert.ok(validateConfig(svc({ auth: undefined, rbac: { enabled: false, roles: {} } }), {}).ok);
});

test("grants: deny by default, methods and segment-aware path prefixes, any of the app's roles", () => {
  const rbac = {
    enabled: true,
    allow_encoded_slash: false,
    case_insensitive_paths: false,
    roles: {
      reader: [{ routes: ['read'], methods: ['GET'], paths: [] }],
      tickets: [{ routes: ['*'], methods: ['*'], paths: ['/w/tickets/'] }],
      all: [{ routes: ['*'], methods: ['*'], paths: [] }],
    },
  };
  const read = new RouteGrants(rbac, 'read', false);
  const write = new RouteGrants(rbac, 'write', false);
  assert.ok(read.allows(['reader'], 'GET', '/r/x'));
  assert.ok(read.allows(['reader'], 'HEAD', '/r/x'));
  assert.ok(!read.allows(['reader'], 'POST', '/r/x'));
  assert.ok(!write.allows(['reader'], 'GET', '/w'));
  assert.ok(!write.allows([], 'GET', '/w'));
  assert.ok(!write.allows(['unknown'], 'GET', '/w'));
  assert.ok(write.allows(['tickets'], 'DELETE', '/w/tickets'));
  assert.ok(write.allows(['tickets'], 'DELETE', '/w/tickets/7'));
  assert.ok(!write.allows(['tickets'], 'DELETE', '/w/ticketsx'));
  assert.ok(write.allows(['reader', 'all'], 'PATCH', '/w/anything'));
  const folded = new RouteGrants(
    { ...rbac, roles: { t: [{ routes: ['*'], methods: ['*'], paths: ['/W/Tickets'] }] } },
    'write',
    true,
  );
  assert.ok(folded.allows(['t'], 'GET', '/w/tickets/1'), 'case-insensitive grants are compared lower-cased');
});
