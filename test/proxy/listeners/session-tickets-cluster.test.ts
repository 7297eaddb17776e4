// Session tickets across a cluster's workers without a key file: Node's cluster hands every worker the first one's
// ticket key, so a client resumes on whichever worker takes its connection; a renewed certificate keeps that key
// (before, each worker drew a key of its own at a renewal and a ticket resumed on its worker only).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeCa, renewer } from '../../helpers/certs.ts';
import { eventually } from '../../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../../helpers/gateway-process.ts';
import { handshake, resumeVisit } from '../../helpers/tls-client.ts';

test('with two workers, tickets resume on either, before and after a certificate renewal', async () => {
  const dir = tempDir('tollgate-tickets-cluster-');
  const ca = makeCa(join(dir, 'ca'));
  const { served: site, renew } = renewer(dir, ca, 'site.test');
  renew(1);
  const port = await freePort();
  const file = writeYaml(dir, 'tollgate.yaml', {
    workers: 2,
    proxy: { listen: `127.0.0.1:${await freePort()}` },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    listeners: [{ name: 'public', listen: `127.0.0.1:${port}`, tls: { certificates: [site] } }],
    services: [],
  });
  const gw = await startGatewayProcess(file);
  const client = { ca: ca.cert, servername: 'site.test' };
  /** How many of 60 connections at once, spread over the workers, resume `session`. */
  const resumed = async (session: Buffer | undefined) => {
    const visits = await Promise.all(Array.from({ length: 60 }, () => resumeVisit(port, client, session, 300)));
    return visits.filter((v) => v.reused).length;
  };
  try {
    const first = await resumeVisit(port, client);
    assert.equal(await resumed(first.session), 60);
    renew(2);
    const reload = await fetch(`${gw.adminUrl}/config/tls/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.text());
    await eventually(async () => (await handshake(port, client)).cn === 'v2.site.test', 5000);
    assert.equal(await resumed(first.session), 60, 'a ticket from before the renewal');
    const fresh = await resumeVisit(port, client);
    assert.equal(await resumed(fresh.session), 60, 'a ticket from after it, on either worker');
  } finally {
    await gw.stop();
  }
});
