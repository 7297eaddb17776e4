import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../../control/config/load.ts';
import type { ConfigError } from '../../control/types.ts';
import { connectTls, type UpstreamTls } from './tls.ts';
import { tlsFilesChanged, tlsFilesSeen, tlsFilesUnchanged } from './tls-files.ts';

const TLS = fileURLToPath(new URL('../../../test/helpers/tls/', import.meta.url));
const CA = join(TLS, 'private-ca-cert.pem');
const CLIENT_CERT = join(TLS, 'private-client-cert.pem');
const CLIENT_KEY = join(TLS, 'private-client-key.pem');
const OTHER_KEY = join(TLS, 'localhost-key.pem');
const AT = '/services/0/upstream/tls';

const svc = (upstream: Record<string, unknown>, url = 'https://api.internal:8443') => ({
  services: [{ name: 's', routes: [{ paths: ['/'] }], upstream: { targets: [{ url }], ...upstream } }],
});

function errorsOf(config: unknown): ConfigError[] {
  const r = validateConfig(config, {});
  assert.equal(r.ok, false, 'expected the config to be refused');
  return r.ok ? [] : r.errors;
}

function assertError(config: unknown, path: string, message: RegExp): void {
  const errors = errorsOf(config);
  assert.ok(
    errors.some((e) => e.path === path && message.test(e.message)),
    `no ${path} ${message} in ${JSON.stringify(errors)}`,
  );
}

test(
  'upstream.tls is optional; when present each field ' + 'has its documented default and unknown fields are refused',
  () => {
    const none = validateConfig(svc({}), {});
    assert.ok(none.ok);
    assert.equal(
      none.config.services[0].upstream.tls,
      undefined,
      'no block, no defaults: such an upstream connects as before',
    );
    const r = validateConfig(svc({ tls: {} }), {});
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    const { pem, ...settings } = r.config.services[0].upstream.tls as UpstreamTls;
    assert.deepEqual(settings, { verify: true, min_version: 'TLSv1.2' });
    assert.deepEqual(pem, {});
    assertError(svc({ tls: { ca: 'x' } }), `${AT}/ca`, /unknown field/);
    assertError(svc({ tls: { pem: { ca: 'x' } } }), `${AT}/pem`, /unknown field/);
    assertError(svc({ tls: { min_version: 'TLSv1.1' } }), `${AT}/min_version`, /must be one of "TLSv1.2", "TLSv1.3"/);
    assertError(svc({ tls: { server_name: 'bad name' } }), `${AT}/server_name`, /must match pattern/);
  },
);

test('the files are read at validation and their text travels with the validated config', () => {
  const r = validateConfig(
    svc({
      tls: {
        ca_file: CA,
        cert_file: CLIENT_CERT,
        key_file: CLIENT_KEY,
        server_name: 'upstream.test',
        min_version: 'TLSv1.3',
      },
    }),
    {},
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const tls = r.config.services[0].upstream.tls as UpstreamTls;
  assert.match(tls.pem!.ca!, /BEGIN CERTIFICATE/);
  assert.match(tls.pem!.cert!, /BEGIN CERTIFICATE/);
  assert.match(tls.pem!.key!, /BEGIN PRIVATE KEY/);
  assert.equal(tlsFilesSeen(r.config).texts.get(CLIENT_KEY), tls.pem!.key, 'the text the pool is built from');
  const options = connectTls(r.config.services[0].upstream)!;
  assert.equal(options.rejectUnauthorized, true);
  assert.ok(options.secureContext);
});

test('a missing, unreadable, relative or non-file path is refused at its field with the path it named', () => {
  assertError(
    svc({ tls: { ca_file: '/nonexistent/ca.pem' } }),
    `${AT}/ca_file`,
    /^cannot read \/nonexistent\/ca\.pem: no such file or directory$/,
  );
  assertError(svc({ tls: { ca_file: TLS } }), `${AT}/ca_file`, /cannot read .*: not a regular file/);
  assertError(
    svc({ tls: { ca_file: 'certs/ca.pem' } }),
    `${AT}/ca_file`,
    /must be an absolute path \(got "certs\/ca.pem"\)/,
  );
  assertError(
    svc({ tls: { cert_file: '/nonexistent/c.pem', key_file: CLIENT_KEY } }),
    `${AT}/cert_file`,
    /cannot read \/nonexistent\/c\.pem/,
  );
  assertError(
    svc({ tls: { cert_file: CLIENT_CERT, key_file: '/nonexistent/k.pem' } }),
    `${AT}/key_file`,
    /cannot read \/nonexistent\/k\.pem/,
  );
});

test(
  'a file that holds no certificate, a broken certificate or ' +
    "a key that is not the certificate's is refused at its field",
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-'));
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    const notKey = join(dir, 'not-key.pem');
    writeFileSync(notKey, 'hello\n');
    assertError(svc({ tls: { ca_file: CLIENT_KEY } }), `${AT}/ca_file`, /holds no PEM certificate/);
    assertError(svc({ tls: { ca_file: broken } }), `${AT}/ca_file`, /certificate 1 of 1 is not valid/);
    assertError(
      svc({ tls: { cert_file: CLIENT_KEY, key_file: CLIENT_KEY } }),
      `${AT}/cert_file`,
      /holds no PEM certificate/,
    );
    assertError(
      svc({ tls: { cert_file: CLIENT_CERT, key_file: notKey } }),
      `${AT}/key_file`,
      /not a usable unencrypted PEM private key/,
    );
    assertError(
      svc({ tls: { cert_file: CLIENT_CERT, key_file: OTHER_KEY } }),
      `${AT}/key_file`,
      /is not the key of the certificate in .*private-client-cert\.pem \(CN=tollgate-client\)/,
    );
  },
);

test('a client certificate outside its validity period is refused at cert_file: expired, or not valid yet', () => {
  const pair = (name: string) => ({
    tls: { cert_file: join(TLS, `${name}-client-cert.pem`), key_file: join(TLS, `${name}-client-key.pem`) },
  });
  assertError(svc(pair('expired')), `${AT}/cert_file`, /the certificate expired on Jan {2}1 00:00:00 2021 GMT/);
  assertError(svc(pair('future')), `${AT}/cert_file`, /the certificate is not valid before Jan {2}1 00:00:00 2030 GMT/);
});

test('cert_file and key_file come as a pair', () => {
  assertError(svc({ tls: { cert_file: CLIENT_CERT } }), `${AT}/key_file`, /required with cert_file/);
  assertError(svc({ tls: { key_file: CLIENT_KEY } }), `${AT}/cert_file`, /required with key_file/);
});

test(
  'settings that would do nothing are refused: tls on an upstream with ' +
    'no https target, ca_file with verify: false, an address as server_name',
  () => {
    assertError(svc({ tls: { verify: false } }, 'http://127.0.0.1:9001'), AT, /no https target/);
    assertError(
      {
        services: [
          { name: 's', routes: [{ paths: ['/'] }], upstream: { dns: { name: 'api.internal', port: 80 }, tls: {} } },
        ],
      },
      AT,
      /no https target/,
    );
    assertError(svc({ tls: { verify: false, ca_file: CA } }), `${AT}/ca_file`, /does nothing with verify: false/);
    assertError(svc({ tls: { server_name: '10.0.0.7' } }), `${AT}/server_name`, /must be a name/);
    // An IPv6 literal fails the schema's pattern: one error, not that and "must be a name".
    assert.deepEqual(
      errorsOf(svc({ tls: { server_name: '::1' } })).filter((e) => e.path === `${AT}/server_name`).length,
      1,
    );
    // A mixed upstream: the settings apply to its https targets.
    const mixed = {
      services: [
        {
          name: 's',
          routes: [{ paths: ['/'] }],
          upstream: {
            targets: [{ url: 'http://127.0.0.1:1' }, { url: 'https://127.0.0.1:2' }],
            tls: { verify: false },
          },
        },
      ],
    };
    assert.ok(validateConfig(mixed, {}).ok);
    const dns = {
      services: [
        {
          name: 's',
          routes: [{ paths: ['/'] }],
          upstream: { dns: { name: 'api.internal', port: 443, scheme: 'https' }, tls: { ca_file: CA } },
        },
      ],
    };
    assert.ok(validateConfig(dns, {}).ok);
  },
);

test("a canary group's upstream is checked the same way, at its own path", () => {
  const config = svc({});
  Object.assign(config.services[0], {
    canary: {
      groups: [
        {
          name: 'next',
          upstream: { targets: [{ url: 'https://127.0.0.1:2' }], tls: { ca_file: '/nonexistent/ca.pem' } },
        },
      ],
    },
  });
  assertError(config, '/services/0/canary/groups/0/upstream/tls/ca_file', /cannot read \/nonexistent\/ca\.pem/);
});

test('a pool is never built from tls files that validation did not read', () => {
  const r = validateConfig(svc({ tls: { ca_file: CA } }), {});
  assert.ok(r.ok);
  const up = structuredClone(r.config.services[0].upstream);
  delete (up.tls as UpstreamTls).pem;
  assert.throws(() => connectTls(up), /were not loaded/);
});

test(
  'tlsFilesUnchanged: true while every file an upstream was given reads ' +
    'the same, false on any change, a removal or no upstream files at all changed',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-seen-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, readFileSync(CA));
    const r = validateConfig(svc({ tls: { ca_file: ca, cert_file: CLIENT_CERT, key_file: CLIENT_KEY } }), {});
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    const seen = tlsFilesSeen(r.config);
    assert.deepEqual([...seen.texts.keys()].sort(), [ca, CLIENT_CERT, CLIENT_KEY].sort());
    assert.equal(tlsFilesUnchanged(seen), true);
    writeFileSync(ca, readFileSync(CA, 'utf8') + '\n');
    assert.equal(tlsFilesUnchanged(seen), false, 'one byte more');
    writeFileSync(ca, readFileSync(CA));
    assert.equal(tlsFilesUnchanged(seen), true, 'the same text again');
    rmSync(ca);
    assert.equal(tlsFilesUnchanged(seen), false, 'gone');
    const none = validateConfig(svc({}), {});
    assert.ok(none.ok);
    assert.equal(tlsFilesUnchanged(tlsFilesSeen(none.config)), true, 'no TLS files: nothing to re-read');
  },
);

test(
  'tlsFilesChanged: the same config validated again is ' + 'applied only when a file gives its upstreams other text',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-tls-changed-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, readFileSync(CA));
    const raw = svc({ tls: { ca_file: ca } });
    const seenNow = () => {
      const r = validateConfig(structuredClone(raw), {});
      assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
      return tlsFilesSeen(r.config);
    };
    const before = seenNow();
    assert.equal(tlsFilesChanged(before, seenNow()), false, 'read again unchanged');
    writeFileSync(ca, readFileSync(CA, 'utf8') + '\n');
    assert.equal(tlsFilesChanged(before, seenNow()), true, 'renewed');
    // Two upstreams given different texts of one file (it changed between their reads) always count as a change.
    const torn = { texts: new Map([[ca, '']]) };
    assert.equal(tlsFilesChanged(torn, torn), true);
    assert.equal(tlsFilesChanged({ texts: new Map() }, { texts: new Map() }), false, 'no TLS files');
  },
);
