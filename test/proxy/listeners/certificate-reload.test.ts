import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { after, before, test } from 'node:test';
import { issue, makeCa, type Issued } from '../../helpers/certs.ts';
import { admin } from '../../helpers/admin.ts';
import { eventually, service, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { handshake } from '../../helpers/tls-client.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-cert-reload-'));
const ca = makeCa(dir);
const generation = (n: number) => issue(dir, ca, { cn: `v${n}.test`, dns: ['site.test'] });
const site = { cert: join(dir, 'site.pem'), key: join(dir, 'site.key') };
/** Renews the served files as a certificate tool would: the certificate, then its key. */
const renew = (to: Issued) => {
  copyFileSync(to.cert, site.cert);
  copyFileSync(to.key, site.key);
};
const client = { ca: ca.cert, servername: 'site.test' };
const cn = async (port: number) => (await handshake(port, client)).cn;
let upstream: TestUpstream;
let watched: TestGateway;
let manual: TestGateway;

before(async () => {
  renew(generation(1));
  upstream = await startUpstream('up');
  const listener = { name: 'public', listen: '127.0.0.1:0', tls: { certificates: [site] } };
  const services = [service('api', [upstream.url], [{ paths: ['/api'] }])];
  watched = await startGateway({ proxy: { tls_files_check_ms: 100 }, listeners: [listener], services });
  manual = await startGateway({ proxy: { tls_files_check_ms: 0 }, listeners: [listener], services });
});
after(async () => {
  await watched?.close();
  await manual?.close();
  await upstream?.close();
});

/** A request on `agent`'s one kept-alive connection: its status and the certificate that connection got. */
function get(port: number, agent: Agent): Promise<{ status: number; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/api/x', agent, ca: readFileSync(ca.cert), servername: 'site.test' },
      (res) => {
        res.resume();
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, cn: String(peer.subject.CN) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('renewed files serve new connections within a check; an open connection keeps going on its own', async () => {
  const port = watched.port('public');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  assert.deepEqual(await get(port, agent), { status: 200, cn: 'v1.test' });
  renew(generation(2));
  assert.equal(await eventually(async () => (await cn(port)) === 'v2.test', 5000), true);
  assert.deepEqual(await get(port, agent), { status: 200, cn: 'v1.test' }, 'the open connection was not dropped');
  agent.destroy();
});

test("the admin API and SIGHUP re-read the files, and a key not the certificate's is refused whole", async () => {
  const port = manual.port('public');
  renew(generation(3));
  assert.equal(await cn(port), 'v1.test', 'nothing re-reads without the watch');
  const reloaded = await admin(manual, 'POST', '/config/tls/reload');
  assert.equal(reloaded.status, 200, JSON.stringify(reloaded.json));
  assert.equal(await cn(port), 'v3.test');

  const mismatched = generation(4);
  copyFileSync(mismatched.cert, site.cert);
  copyFileSync(generation(5).key, site.key);
  const refused = await admin(manual, 'POST', '/config/tls/reload');
  assert.equal(refused.status, 400);
  assert.equal(refused.json.code, 'GW_ERR_CONFIG_INVALID');
  assert.deepEqual(
    refused.json.errors.map((e: { path: string }) => e.path),
    ['/listeners/0/tls/certificates/0/key'],
  );
  assert.match(refused.json.errors[0].message, /is not the key of the certificate/);
  assert.equal(await cn(port), 'v3.test', 'the previous certificate keeps serving');

  renew(generation(6));
  process.kill(process.pid, 'SIGHUP');
  assert.equal(await eventually(async () => (await cn(port)) === 'v6.test', 5000), true);
});
