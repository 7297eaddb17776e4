// Session tickets across a cluster's workers without a key file: Node's cluster hands every worker the first one's
// ticket key, so a client resumes on whichever worker takes its connection; a renewed certificate keeps that key
// (before, each worker drew a key of its own at a renewal and a ticket resumed on its worker only), and so does a
// reload that replaces the listener's servers: the key is its door's (door.ts). A stream's TLS shares its key too.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeCa, renewer } from '../../helpers/certs.ts';
import { eventually } from '../../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../../helpers/gateway-process.ts';
import { handshake, resumeVisit } from '../../helpers/tls-client.ts';
import { tcpServer } from '../../helpers/tcp.ts';

test('with two workers, tickets resume on either, before and after a certificate renewal', async (t) => {
  const dir = tempDir('tollgate-tickets-cluster-');
  const ca = makeCa(join(dir, 'ca'));
  const { served: site, renew } = renewer(dir, ca, 'site.test');
  renew(1);
  const port = await freePort();
  const streamPort = await freePort();
  // The stream's target answers the visit's request and closes.
  const target = await tcpServer('', (socket) => socket.on('data', () => socket.end('bye')));
  t.after(() => target.close());
  const config = (protocols?: string[]) => ({
    workers: 2,
    proxy: { listen: `127.0.0.1:${proxyPort}` },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    listeners: [{ name: 'public', listen: `127.0.0.1:${port}`, tls: { certificates: [site] }, protocols }],
    services: [],
    streams: [
      {
        name: 'db',
        listen: `127.0.0.1:${streamPort}`,
        tls: { certificates: [site] },
        upstream: { targets: [{ url: `tcp://127.0.0.1:${target.port}` }] },
      },
    ],
  });
  const proxyPort = await freePort();
  const file = writeYaml(dir, 'tollgate.yaml', config());
  const gw = await startGatewayProcess(file);
  const client = { ca: ca.cert, servername: 'site.test' };
  /** How many of 60 connections at once, spread over the workers, resume `session`. */
  const resumed = async (session: Buffer | undefined, at = port) => {
    const visits = await Promise.all(Array.from({ length: 60 }, () => resumeVisit(at, client, session, 300)));
    return visits.filter((v) => v.reused).length;
  };
  try {
    const first = await resumeVisit(port, client);
    assert.equal(await resumed(first.session), 60);
    const onStream = await resumeVisit(streamPort, client);
    assert.equal(await resumed(onStream.session, streamPort), 60, 'on a TLS stream too');
    renew(2);
    const reload = await fetch(`${gw.adminUrl}/config/tls/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.text());
    await eventually(async () => (await handshake(port, client)).cn === 'v2.site.test', 5000);
    assert.equal(await resumed(first.session), 60, 'a ticket from before the renewal');
    const fresh = await resumeVisit(port, client);
    assert.equal(await resumed(fresh.session), 60, 'a ticket from after it, on either worker');
    writeYaml(dir, 'tollgate.yaml', config(['http/1.1']));
    gw.child.kill('SIGHUP');
    const replaced = () => gw.logs.filter((l) => l.msg?.startsWith('listener replaced')).length;
    assert.ok(await eventually(() => replaced() === 2, 10000), 'each worker replaced the listener');
    assert.equal(await resumed(fresh.session), 60, 'a ticket from before the listener was replaced, on either worker');
  } finally {
    await gw.stop();
  }
});
