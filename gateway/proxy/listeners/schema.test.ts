import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../control/config/load.ts';
import { issue, makeCa } from '../../../test/helpers/certs.ts';
import type { ListenerTls } from './certificates.ts';
import { HTTP2_DEFAULTS } from './http2-defaults.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-listeners-'));
const ca = makeCa(dir);
const main = issue(dir, ca, { cn: 'default.test', dns: ['default.test'] });
// Named only by its relative path, in the first test.
issue(dir, ca, { cn: 'wildcard.example.test', dns: ['*.example.test'] });
const other = issue(dir, ca, { cn: 'other.test', dns: ['other.test'] });
const expired = issue(dir, ca, {
  cn: 'expired.test',
  dns: ['expired.test'],
  start: new Date(Date.now() - 10 * 86400_000),
  end: new Date(Date.now() - 86400_000),
});
mkdirSync(join(dir, 'rsa'));
const env = { TOLLGATE_CONFIG: join(dir, 'tollgate.yaml') };
const errorsOf = (raw: unknown) => {
  const r = validateConfig(raw, env);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};
const tlsListener = (tls: object, more: object = {}) => ({
  listeners: [{ name: 'public', listen: '127.0.0.1:0', tls, ...more }],
});

test("the issue's listeners are accepted as written, relative paths taken from the config file's directory", () => {
  const r = validateConfig(
    {
      listeners: [
        {
          name: 'public',
          listen: '127.0.0.1:8443',
          protocols: ['h2', 'http/1.1'],
          tls: {
            certificates: [
              { cert: 'default.test.pem', key: 'default.test.key' },
              { cert: 'wildcard.example.test.pem', key: 'wildcard.example.test.key' },
            ],
          },
        },
        { name: 'internal', listen: '127.0.0.1:8081', protocols: ['h2c', 'http/1.1'] },
      ],
    },
    env,
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const public_ = r.config.listeners[0];
  assert.deepEqual(
    { ...public_.tls, pem: undefined },
    {
      certificates: public_.tls!.certificates,
      unknown_server_name: 'default',
      min_version: 'TLSv1.2',
      max_version: 'TLSv1.3',
      handshake_timeout_ms: 10000,
      pem: undefined,
    },
  );
  assert.equal((public_.tls as ListenerTls).pem?.certificates.length, 2, 'the files were read and attached');
  assert.deepEqual(public_.http2, {
    max_concurrent_streams: 128,
    max_header_list_bytes: 16384,
    initial_window_bytes: 1048576,
    max_session_memory_mb: 64,
    ping_timeout_ms: 20000,
  });
  assert.deepEqual(public_.http2, HTTP2_DEFAULTS, "proxy.listen's HTTP/2 settings are the schema's defaults");
});

test('every listener mistake is named at its path', () => {
  const errors = errorsOf({
    proxy: { listen: '127.0.0.1:18080' },
    listeners: [
      { name: 'a', listen: '127.0.0.1:18080' },
      { name: 'a', listen: '0.0.0.0:18443', protocols: ['h2'] },
      { name: 'b', listen: '127.0.0.1:18443', tls: { certificates: [main] }, protocols: ['h2c', 'h2c'] },
      { name: 'c', listen: '127.0.0.1:18444', hsts: {}, redirect_https: {} },
      { name: 'd', listen: '127.0.0.1:18445', tls: { certificates: [main] }, redirect_https: {} },
      { name: 'e', listen: '127.0.0.1:18446', proxy_protocol: { accept: true } },
    ],
  });
  assert.deepEqual(errors, [
    '/listeners/0/listen: 127.0.0.1:18080 is the address of proxy/listen (127.0.0.1:18080)',
    '/listeners/1/name: "a" is already the name of listeners/0',
    '/listeners/1/protocols: h2 needs tls (clients choose it by ALPN); cleartext is h2c',
    '/listeners/2/listen: 127.0.0.1:18443 is the address of listeners/1/listen (0.0.0.0:18443)',
    '/listeners/2/protocols: names a protocol twice',
    '/listeners/2/protocols: h2c is cleartext HTTP/2; over TLS it is h2 (chosen by ALPN)',
    '/listeners/3/hsts: browsers ignore Strict-Transport-Security sent over plain HTTP; needs tls',
    "/listeners/4/redirect_https: would send a TLS listener's clients to https, where they already are",
    '/listeners/5/proxy_protocol/accept: needs trusted_proxies: only a load balancer listed there may say who the ' +
      'client is',
  ]);
});

test("a listener may not take the name proxy.listen's listener goes by, nor admin's when it has TLS", () => {
  const listeners = [
    { name: 'proxy', listen: '127.0.0.1:18447' },
    { name: 'admin', listen: '127.0.0.1:18448' },
  ];
  const proxy = '/listeners/0/name: "proxy" is the name proxy.listen\'s listener goes by in metrics and logs';
  // The admin listener is in the listeners' metrics only with TLS: before that, `admin` is a name like any other.
  assert.deepEqual(errorsOf({ listeners }), [proxy]);
  assert.deepEqual(errorsOf({ listeners, admin: { tls: { certificates: [main] } } }), [
    proxy,
    '/listeners/1/name: "admin" is the name admin.listen\'s listener goes by in metrics and logs',
  ]);
});

test("the admin listener's tls is checked as a listener's, at its own path", () => {
  assert.deepEqual(errorsOf({ admin: { tls: { certificates: [main] } } }), []);
  const errors = errorsOf({ admin: { tls: { certificates: [{ cert: main.cert, key: other.key }] } } });
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^\/admin\/tls\/certificates\/0\/key: .*other\.test\.key is not the key of the certificate/);
  const forwarded = { certificates: [main], client_certificates: { ca: ca.cert, forward_details: true } };
  assert.deepEqual(errorsOf({ admin: { tls: forwarded } }), [
    '/admin/tls/client_certificates/forward_details: the admin API sends no request upstream to carry it',
  ]);
});

test("a key not the certificate's, an expired certificate and a missing file are refused at their paths", () => {
  const errors = errorsOf(
    tlsListener({
      certificates: [{ cert: main.cert, key: other.key }, expired, { cert: join(dir, 'missing.pem'), key: other.key }],
    }),
  );
  assert.equal(errors.length, 3, errors.join('\n'));
  assert.match(
    errors[0],
    /^\/listeners\/0\/tls\/certificates\/0\/key: .*other\.test\.key is not the key of the certificate/,
  );
  assert.match(errors[1], /^\/listeners\/0\/tls\/certificates\/1\/cert: .*the certificate expired on/);
  assert.match(errors[2], /^\/listeners\/0\/tls\/certificates\/2\/cert: cannot read .*missing\.pem: no such file/);
});

test('a name two certificates hold, a certificate SNI can never choose and a bad cipher list are refused', () => {
  const noName = issue(dir, ca, { cn: 'address only', ips: ['127.0.0.1'] });
  assert.deepEqual(errorsOf(tlsListener({ certificates: [main, main] })), [
    `/listeners/0/tls/certificates/1/cert: ${main.cert} holds the names of certificates/0 with a key of the same ` +
      'type (ec): SNI would only ever choose that one (two certificates share names only with keys of different ' +
      'types)',
  ]);
  // The same names with a key of another type are a pair (RSA beside ECDSA); only some of them are not.
  const rsaTwin = issue(join(dir, 'rsa'), ca, { cn: 'default.test', dns: ['default.test'], rsa: true });
  const rsaWider = issue(join(dir, 'rsa'), ca, { cn: 'wider.test', dns: ['default.test', 'wider.test'], rsa: true });
  assert.deepEqual(errorsOf(tlsListener({ certificates: [main, rsaTwin] })), []);
  assert.deepEqual(errorsOf(tlsListener({ certificates: [main, rsaTwin, rsaTwin] })), [
    `/listeners/0/tls/certificates/2/cert: ${rsaTwin.cert} holds the names of certificates/0 with a key of the same ` +
      'type (rsa): SNI would only ever choose that one (two certificates share names only with keys of different ' +
      'types)',
  ]);
  assert.deepEqual(errorsOf(tlsListener({ certificates: [main, rsaWider] })), [
    '/listeners/0/tls/certificates/1/cert: ' +
      `${rsaWider.cert} holds default.test, as certificates/0 does: SNI would only ever choose that one`,
  ]);
  assert.deepEqual(errorsOf(tlsListener({ certificates: [main, noName] })), [
    `/listeners/0/tls/certificates/1/cert: ${noName.cert} holds no DNS name, so SNI can never choose it: ` +
      'make it the first (the default)',
  ]);
  assert.equal(errorsOf(tlsListener({ certificates: [noName] })).length, 0, 'the default may have no name');
  const bad = errorsOf(tlsListener({ certificates: [main], ciphers: 'NOT-A-CIPHER' }));
  assert.equal(bad.length, 1);
  assert.match(bad[0], /^\/listeners\/0\/tls: OpenSSL refuses these settings: .*no cipher match/);
  assert.deepEqual(errorsOf(tlsListener({ certificates: [main], min_version: 'TLSv1.3', max_version: 'TLSv1.2' })), [
    '/listeners/0/tls/min_version: is newer than max_version',
  ]);
});
