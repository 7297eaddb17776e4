// Session resumption on listeners that check client certificates. A resumed session skips the certificate's checks,
// so a session may only resume under the checks it began with: after a new CRL (a revoked certificate) its ticket
// gets a full handshake, a ticket from a listener that asks for no certificate does not resume on one that requires
// it (one ticket key file on both), and a certificate that expired since its session began is refused. Sessions
// still resume where nothing changed, on another gateway that reads the same key and CA files too.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type SecureVersion } from 'node:tls';
import { after, before, test } from 'node:test';
import { admin } from '../../helpers/admin.ts';
import { issue, makeCa, revocationList, type Issued } from '../../helpers/certs.ts';
import { service, sleep, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { refusals } from '../../helpers/metrics.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-mtls-resume-'));
const serverCa = makeCa(join(dir, 'server'));
const clientCa = makeCa(join(dir, 'clients'), 'client-ca');
const server = issue(dir, serverCa, { cn: 'api.test', dns: ['api.test'] });
const leaf = (cn: string, end?: Date) => issue(join(dir, 'clients'), clientCa, { cn, client: true, end });
const [alice, bob, nobody] = [leaf('alice'), leaf('bob'), leaf('nobody')];
const crl = join(dir, 'clients.crl.pem');
copyFileSync(revocationList(dir, clientCa, [nobody], 'first'), crl);
const keyFile = join(dir, 'ticket.key');
writeFileSync(keyFile, randomBytes(48).toString('base64'));

let upstream: TestUpstream;
let a: TestGateway;
let b: TestGateway;

before(async () => {
  upstream = await startUpstream('up');
  const tls = (required?: boolean) => ({
    certificates: [server],
    session_ticket_key: keyFile,
    ...(required === undefined ? {} : { client_certificates: { ca: clientCa.cert, crl, required } }),
  });
  const config = {
    listeners: [
      { name: 'required', listen: '127.0.0.1:0', tls: tls(true) },
      { name: 'optional', listen: '127.0.0.1:0', tls: tls(false) },
      { name: 'open', listen: '127.0.0.1:0', tls: tls() },
    ],
    services: [
      {
        ...service('secure', [upstream.url], [{ paths: ['/secure'] }]),
        auth: { type: 'mtls', mtls: { require_app: false } },
      },
    ],
  };
  a = await startGateway(config);
  b = await startGateway(config);
});
after(async () => {
  await a?.close();
  await b?.close();
  await upstream?.close();
});

interface Visit {
  reused: boolean;
  /** The response's status; 0 when the connection closed without one. */
  status: number;
  ticket: Buffer | undefined;
}

/** `GET /secure` over a connection of its own, as `who` (or without a certificate), offering `session`. */
function visit(port: number, who: Issued | undefined, session?: Buffer, maxVersion: SecureVersion = 'TLSv1.3') {
  return new Promise<Visit>((resolve) => {
    const files = who === undefined ? {} : { cert: readFileSync(who.cert), key: readFileSync(who.key) };
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'api.test',
      ca: readFileSync(serverCa.cert),
      maxVersion,
      session,
      ...files,
    });
    let text = '';
    let reused = false;
    let ticket: Buffer | undefined;
    socket.on('session', (t: Buffer) => (ticket = t));
    socket.on('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write('GET /secure/x HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ reused, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), ticket }));
  });
}

const versions: SecureVersion[] = ['TLSv1.3', 'TLSv1.2'];

test('where nothing changed, a session resumes, on another gateway with the same key and CA files too', async () => {
  for (const version of versions) {
    const first = await visit(a.port('required'), alice, undefined, version);
    assert.equal(first.status, 200, version);
    const again = await visit(b.port('required'), alice, first.ticket, version);
    assert.deepEqual([again.reused, again.status], [true, 200], `${version}: resumed on the other gateway`);
  }
});

test('a ticket from a listener that asks for no certificate does not resume on one that requires it', async () => {
  for (const version of versions) {
    const open = await visit(a.port('open'), undefined, undefined, version);
    assert.equal(open.status, 401, `${version}: no certificate, no credentials`);
    const there = await visit(a.port('required'), undefined, open.ticket, version);
    assert.deepEqual([there.reused, there.status], [false, 0], `${version}: a full handshake, refused`);
    const optional = await visit(a.port('optional'), undefined, open.ticket, version);
    assert.equal(optional.reused, false, `${version}: nor on one where it is optional`);
  }
});

test('a certificate expired since its session began is refused on resumption (unauthorized if optional)', async () => {
  // openssl writes validity to the second: valid for at least 3 s from now.
  const carol = leaf('carol', new Date(Date.now() + 4000));
  const before = await refusals(a, 'required', 'bad_client_certificate');
  const required = await visit(a.port('required'), carol);
  const optional = await visit(a.port('optional'), carol);
  assert.deepEqual([required.status, optional.status], [200, 200], 'valid at first');
  await sleep(5000);
  const late = await visit(a.port('required'), carol, required.ticket);
  assert.deepEqual([late.reused, late.status], [true, 0], 'resumed, then refused');
  assert.equal(await refusals(a, 'required', 'bad_client_certificate'), before + 1, 'counted');
  const lateOptional = await visit(a.port('optional'), carol, optional.ticket);
  assert.deepEqual([lateOptional.reused, lateOptional.status], [true, 401], 'resumed, not authorized');
});

test('after a new CRL, tickets from before it get a full handshake: a revoked certificate is refused', async () => {
  for (const version of versions) {
    copyFileSync(revocationList(dir, clientCa, [nobody], `before-${version}`), crl);
    assert.equal((await admin(a, 'POST', '/config/tls/reload')).status, 200);
    const [old, kept] = [
      await visit(a.port('required'), alice, undefined, version),
      await visit(a.port('required'), bob),
    ];
    assert.deepEqual([old.status, kept.status], [200, 200]);
    copyFileSync(revocationList(dir, clientCa, [nobody, alice], `after-${version}`), crl);
    assert.equal((await admin(a, 'POST', '/config/tls/reload')).status, 200);
    const revoked = await visit(a.port('required'), alice, old.ticket, version);
    assert.deepEqual([revoked.reused, revoked.status], [false, 0], `${version}: the revoked certificate`);
    const other = await visit(a.port('required'), bob, kept.ticket);
    assert.deepEqual([other.reused, other.status], [false, 200], `${version}: another one, in a full handshake`);
  }
});
