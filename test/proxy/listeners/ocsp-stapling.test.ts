// OCSP stapling (listeners[].tls.ocsp_stapling): a handshake that asks for the certificate's status gets the CA's
// good response, fetched from the responder the certificate names (an `openssl ocsp` responder here) and checked by
// OpenSSL as a client would; SNI's certificate gets its own. A revoked certificate is stapled nothing; a responder
// that fails is retried while handshakes go on unstapled; a certificate that cannot be stapled is refused at its path.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { type Issued, issue, makeCa, revoke } from '../../helpers/certs.ts';
import { eventually, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { metric } from '../../helpers/metrics.ts';
import { type OcspResponder, startOcspResponder } from '../../helpers/ocsp-responder.ts';
import { handshake } from '../../helpers/tls-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-stapling-'));
const ca = makeCa(join(dir, 'ca'));
let responder: OcspResponder;
let late: OcspResponder;
let junk: OcspResponder;
let gw: TestGateway;
let site: Issued;
let www: Issued;
let gone: Issued;
let waiting: Issued;
let odd: Issued;

/** The certificate followed by its CA, as stapling needs the issuer. */
function chain(leaf: Issued): Issued {
  const cert = leaf.cert.replace(/\.pem$/, '.chain.pem');
  writeFileSync(cert, readFileSync(leaf.cert, 'utf8') + readFileSync(ca.cert, 'utf8'));
  return { cert, key: leaf.key };
}

const stapled = (listener: string, servername?: string) =>
  handshake(gw.port(listener), { ca: ca.cert, servername, requestOCSP: true }).then((h) => h.ocsp);
const fetches = (listener: string, result: string) =>
  metric(gw, 'tollgate_tls_ocsp_fetches_total', `listener="${listener}",result="${result}"`);

before(async () => {
  responder = await startOcspResponder(ca);
  late = await startOcspResponder(ca);
  late.failWith = 503;
  junk = await startOcspResponder(ca);
  junk.junk = 'endless';
  site = issue(dir, ca, { cn: 'site.test', dns: ['site.test'], ocsp: responder.url });
  www = issue(dir, ca, { cn: 'www.test', dns: ['www.test'], ocsp: responder.url });
  gone = issue(dir, ca, { cn: 'gone.test', dns: ['gone.test'], ocsp: responder.url });
  waiting = issue(dir, ca, { cn: 'waiting.test', dns: ['waiting.test'], ocsp: late.url });
  odd = issue(dir, ca, { cn: 'odd.test', dns: ['odd.test'], ocsp: junk.url });
  revoke(ca, gone);
  responder.leaves = [site, www, gone];
  late.leaves = [waiting];
  junk.leaves = [odd];
  const listener = (name: string, certificates: Issued[]) => ({
    name,
    listen: '127.0.0.1:0',
    tls: { certificates: certificates.map(chain), ocsp_stapling: {} },
  });
  gw = await startGateway({
    listeners: [
      listener('public', [site, www]),
      listener('revoked', [gone]),
      listener('late', [waiting]),
      listener('junk', [odd]),
    ],
    services: [],
    // A TCP stream that terminates TLS staples as a listener does (its target: any port that accepts).
    streams: [
      {
        ...listener('db', [site]),
        upstream: { targets: [{ url: responder.url.replace('http', 'tcp').slice(0, -1) }] },
      },
    ],
  });
});
after(async () => {
  await gw?.close();
  await responder?.close();
  await late?.close();
  await junk?.close();
});

/** What `openssl ocsp` says of a stapled response (its output and errors), as a client that checks it would. */
function opensslVerdict(response: Buffer, leaf: Issued): string {
  const file = join(dir, 'stapled.der');
  writeFileSync(file, response);
  const args = ['ocsp', '-respin', file, '-issuer', ca.cert, '-cert', leaf.cert, '-CAfile', ca.cert];
  const run = spawnSync('openssl', args, { encoding: 'utf8' });
  return `${run.stdout}${run.stderr}`;
}

test('a client asking for status gets the good response its certificate’s CA signed; SNI’s cert its own', async () => {
  const first = await eventually(() => stapled('public'), 5000);
  assert.ok(first, 'a response is stapled once fetched');
  assert.match(opensslVerdict(first, site), new RegExp(`^${site.cert}: good$`, 'm'));
  assert.match(opensslVerdict(first, site), /^Response verify OK$/m);
  const second = await stapled('public', 'www.test');
  assert.ok(second);
  assert.match(opensslVerdict(second, www), new RegExp(`^${www.cert}: good$`, 'm'));
  assert.doesNotMatch(opensslVerdict(second, site), /: good$/m, 'the response is about www.test alone');
  const stream = await eventually(() => stapled('db'), 5000);
  assert.ok(stream, 'a TLS stream staples too');
  assert.match(opensslVerdict(stream, site), /: good$/m);
  // A client that does not ask gets nothing stapled.
  assert.equal((await handshake(gw.port('public'), { ca: ca.cert })).ocsp, undefined);
  assert.equal(await fetches('public', 'good'), 2);
  const until = await metric(
    gw,
    'tollgate_tls_ocsp_staple_expiry_timestamp_seconds',
    `listener="public",certificate="${chain(site).cert}"`,
  );
  assert.ok(Math.abs(until - (Date.now() / 1000 + 3600)) < 60, `stapled for the hour the responder gives: ${until}`);
});

test('a revoked certificate is stapled nothing, and the revocation is counted; its handshakes go on', async () => {
  await eventually(async () => (await fetches('revoked', 'revoked')) === 1, 5000);
  assert.equal((await handshake(gw.port('revoked'), { ca: ca.cert, requestOCSP: true })).ocsp, undefined);
  assert.equal(
    await metric(
      gw,
      'tollgate_tls_ocsp_staple_expiry_timestamp_seconds',
      `listener="revoked",certificate="${chain(gone).cert}"`,
    ),
    0,
  );
});

test('a responder that fails is retried while handshakes go unstapled; its answer is stapled once given', async () => {
  await eventually(async () => (await fetches('late', 'unreachable')) >= 1, 5000);
  assert.equal(await stapled('late'), undefined);
  late.failWith = undefined;
  const response = await eventually(() => stapled('late'), 12_000, 200);
  assert.ok(response);
  assert.match(opensslVerdict(response, waiting), /: good$/m);
  assert.equal(await fetches('late', 'good'), 1);
});

test('a certificate without its issuer next in the file, or naming no responder, is refused at its path', async () => {
  const bare = issue(dir, ca, { cn: 'bare.test', dns: ['bare.test'] });
  const raw = parse(readFileSync(gw.file, 'utf8'));
  raw.listeners[0].tls.certificates = [{ cert: site.cert, key: site.key }, chain(bare)];
  const refused = await gw.manager.apply(raw, 'admin', 'test');
  assert.equal(refused.ok, false);
  assert.deepEqual(!refused.ok && refused.errors.map((e) => [e.path, e.message]), [
    [
      '/listeners/0/tls/certificates/0/cert',
      `${site.cert}: OCSP stapling needs the certificate that issued it next in the file (the chain, leaf first)`,
    ],
    [
      '/listeners/0/tls/certificates/1/cert',
      `${chain(bare).cert}: names no OCSP responder (Authority Information Access): set ocsp_stapling.responder`,
    ],
  ]);
  assert.ok(await stapled('public'), 'the old certificates are stapled still');
  raw.listeners[0].tls.certificates = [chain(site), chain(bare)];
  raw.listeners[0].tls.ocsp_stapling = { responder: responder.url };
  responder.leaves.push(bare);
  assert.equal((await gw.manager.apply(raw, 'admin', 'test')).ok, true, 'a responder named in the config does');
  const response = await eventually(() => stapled('public', 'bare.test'), 5000);
  assert.ok(response);
  assert.match(opensslVerdict(response, bare), /: good$/m);
});

test('a responder that answers with an endless body or with bytes that are not OCSP gets nothing stapled', async () => {
  await eventually(async () => (await fetches('junk', 'bad_response')) >= 1, 5000);
  assert.equal(await stapled('junk'), undefined);
  junk.junk = Buffer.from('<html>maintenance</html>');
  await eventually(async () => (await fetches('junk', 'bad_response')) >= 2, 12_000, 200);
  assert.equal(await stapled('junk'), undefined);
  junk.junk = undefined;
  const response = await eventually(() => stapled('junk'), 25_000, 200);
  assert.ok(response, 'a good answer after them is stapled');
});
