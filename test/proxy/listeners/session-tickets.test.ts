// Session tickets (listeners[].tls.session_ticket_key): gateways that read the same key resume each other's
// sessions, one with its own key does not; a new key applies when its file changes, and a key that is not 48 bytes
// is refused at its path with the old one serving. Without a key file, renewed certificates keep the process's key;
// a key file taken out of the config takes its key along.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { admin, reload } from '../../helpers/admin.ts';
import { makeCa, renewer } from '../../helpers/certs.ts';
import { eventually, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { metric } from '../../helpers/metrics.ts';
import { resumeVisit, type Visit } from '../../helpers/tls-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-tickets-'));
const ca = makeCa(dir);
/** The served certificate, renewed in place (a new one for the same name) as a certificate tool would. */
const { served: site, renew } = renewer(dir, ca, 'site.test');
const keyFile = join(dir, 'ticket.key');
/** A request to `gw`'s listener, offering `session` to resume. */
const visit = (gw: TestGateway, session?: Buffer): Promise<Visit> =>
  resumeVisit(gw.port('public'), { ca: ca.cert, servername: 'site.test' }, session);
const writeKey = (bytes = 48) => writeFileSync(keyFile, `${randomBytes(bytes).toString('base64')}\n`);
let a: TestGateway;
let b: TestGateway;
let own: TestGateway;

before(async () => {
  renew(1);
  writeKey();
  const listener = (key?: string) => ({
    name: 'public',
    listen: '127.0.0.1:0',
    tls: { certificates: [site], ...(key ? { session_ticket_key: key } : {}) },
  });
  const config = (key?: string) => ({ proxy: { tls_files_check_ms: 100 }, listeners: [listener(key)], services: [] });
  a = await startGateway(config(keyFile));
  b = await startGateway(config(keyFile));
  own = await startGateway(config());
});
after(async () => {
  await a?.close();
  await b?.close();
  await own?.close();
});

test('gateways that read one key resume each other’s sessions; a gateway with its own key does not', async () => {
  const first = await visit(a);
  assert.equal(first.reused, false);
  assert.equal((await visit(b, first.session)).reused, true, 'b resumes a’s session');
  assert.equal((await visit(a, (await visit(b)).session)).reused, true, 'and a resumes b’s');
  assert.equal((await visit(own, first.session)).reused, false);
  // Each resumption is counted beside the handshakes: b resumed one, a one; own none.
  const resumed = (gw: TestGateway) => metric(gw, 'tollgate_tls_resumed_handshakes_total', 'listener="public"');
  assert.deepEqual([await resumed(a), await resumed(b), await resumed(own)], [1, 1, 0]);
});

test('a new key applies when its file changes; old tickets get a full handshake', async () => {
  const old = (await visit(a)).session;
  writeKey();
  await eventually(async () => !(await visit(b, old)).reused, 5000);
  const fresh = await eventually(async () => {
    const v = await visit(a);
    return (await visit(b, v.session)).reused ? v : undefined;
  }, 5000);
  assert.ok(fresh, 'both took the new key');
});

test('a key that is not 48 bytes is refused at its path, and the old key keeps serving', async () => {
  const before = (await visit(a)).session;
  writeKey(32);
  const refused = await admin(a, 'POST', '/config/tls/reload');
  assert.equal(refused.status, 400);
  assert.deepEqual(refused.json.errors, [
    {
      path: '/listeners/0/tls/session_ticket_key',
      message:
        `${keyFile}: holds 32 bytes in base64; ` + 'a session ticket key is 48 random bytes (openssl rand -base64 48)',
    },
  ]);
  assert.equal((await visit(a, before)).reused, true);
  writeFileSync(keyFile, 'not base64!\n');
  assert.match((await admin(a, 'POST', '/config/tls/reload')).json.errors[0].message, /holds 0 bytes in base64/);
});

test('without a key file, a renewed certificate keeps the process’s key: sessions resume across it', async () => {
  const before = await visit(own);
  renew(2);
  await eventually(async () => (await visit(own)).cn === 'v2.site.test', 5000);
  assert.equal((await visit(own, before.session)).reused, true);
});

test('a key file taken out of the config takes its key along: its tickets get a full handshake', async () => {
  const sealed = (await visit(b)).session;
  assert.equal((await visit(b, sealed)).reused, true);
  await reload(b, (config) => delete config.listeners[0].tls.session_ticket_key);
  assert.equal((await visit(b, sealed)).reused, false, 'the old key opens nothing');
  const fresh = (await visit(b)).session;
  assert.equal((await visit(b, fresh)).reused, true, 'the new key resumes its own tickets');
});
