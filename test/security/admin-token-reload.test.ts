// admin.token follows a reload: a leaked token rotated in the config file stops working at once, the new one works,
// and one taken away from a loopback admin listener leaves it tokenless (with the browser checks); /openapi.json's
// `security` follows.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenAfterReload } from '../../gateway/control/admin/auth.ts';
import { reload } from '../helpers/admin.ts';
import { startGateway } from '../helpers/gateway.ts';
import { get } from '../operations/client.ts';

const OLD = 'old-admin-token-0123456789';
const NEW = 'new-admin-token-9876543210';

test('a reload that rotates admin.token refuses the old token from the next request and takes the new', async () => {
  const gw = await startGateway({ admin: { listen: '127.0.0.1:0', token: OLD }, services: [] });
  try {
    const services = (token?: string) => get(`${gw.adminUrl}/services`, token ? { token } : {});
    assert.equal((await services(OLD)).status, 200);
    assert.equal((await services(NEW)).status, 401);
    await reload(gw, (c) => {
      c.admin.token = NEW;
    });
    const old = await services(OLD);
    assert.equal(old.status, 401, 'the rotated-out token is refused');
    assert.equal(old.json().code, 'GW_ERR_ADMIN_UNAUTHORIZED');
    assert.equal((await services(NEW)).status, 200, 'the new one is taken');
    const openapi = (token?: string) => get(`${gw.adminUrl}/openapi.json`, token ? { token } : {});
    assert.deepEqual((await openapi(NEW)).json().security, [{ bearer: [] }]);
    await reload(gw, (c) => {
      delete c.admin.token;
    });
    assert.equal((await services()).status, 200, 'no token on a loopback listener: none asked');
    assert.deepEqual((await openapi()).json().security, [], 'and the OpenAPI document asks for none');
    const page = await get(`${gw.adminUrl}/services`, { headers: { origin: 'http://evil.test' } });
    assert.equal(page.status, 403, "and a browser's cross-site request is refused, as without a token at start");
  } finally {
    await gw.close();
  }
});

test('a token taken away while the admin listener is on an address other than loopback stays until restart', () => {
  assert.deepEqual(tokenAfterReload(OLD, undefined, '0.0.0.0'), { token: OLD, kept: true });
  assert.deepEqual(tokenAfterReload(OLD, undefined, '10.0.0.5'), { token: OLD, kept: true });
  assert.deepEqual(tokenAfterReload(OLD, undefined, '127.0.0.1'), { token: undefined, kept: false });
  assert.deepEqual(tokenAfterReload(OLD, NEW, '0.0.0.0'), { token: NEW, kept: false });
  assert.deepEqual(tokenAfterReload(undefined, NEW, '127.0.0.1'), { token: NEW, kept: false });
});
