// A registry's credentials and TLS as validation checks them: pairs complete, TLS only to https:// addresses,
// every file readable and what it claims to be. The config is refused whole, each problem at its field.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { validateConfig } from '../../gateway/control/config/load.ts';
import { issue, makeCa } from '../helpers/certs.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-registry-config-'));
const ca = makeCa(dir);
const client = issue(dir, ca, { cn: 'tollgate', client: true, noCommonName: true });
const password = join(dir, 'password');
writeFileSync(password, 'secret\n');
const notPem = join(dir, 'not.pem');
writeFileSync(notPem, 'hello');

const errorsOf = (discovery: object) => {
  const r = validateConfig({ services: [{ name: 'shop', routes: [{ paths: ['/shop'] }], upstream: { discovery } }] });
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};
const at = '/services/0/upstream/discovery';
const etcd = (more: object, endpoint = 'https://127.0.0.1:2379') => ({
  etcd: { endpoints: [endpoint], prefix: '/tollgate/shop/', ...more },
});
const tls = { ca_file: ca.cert, cert_file: client.cert, key_file: client.key };

test('etcd over TLS with a client certificate and a password file is accepted', () => {
  assert.deepEqual(errorsOf(etcd({ username: 'tollgate', password_file: password, tls })), []);
  assert.deepEqual(errorsOf({ consul: { address: 'https://127.0.0.1:8501', service: 'shop', tls } }), []);
});

test('a username and its password file come together, the file an absolute path it can read', () => {
  assert.deepEqual(errorsOf(etcd({ username: 'tollgate' })), [`${at}/etcd/password_file: required with username`]);
  assert.deepEqual(errorsOf(etcd({ password_file: password })), [`${at}/etcd/username: required with password_file`]);
  assert.deepEqual(errorsOf(etcd({ username: 'tollgate', password_file: 'password' })), [
    `${at}/etcd/password_file: must be an absolute path (got "password")`,
  ]);
  const [missing] = errorsOf(etcd({ username: 'tollgate', password_file: join(dir, 'nope') }));
  assert.match(missing, new RegExp(`^${at}/etcd/password_file: cannot read .*nope: ENOENT`));
});

test('TLS settings need https:// registry addresses, and files that are what they claim', () => {
  assert.deepEqual(errorsOf(etcd({ tls }, 'http://127.0.0.1:2379')), [
    `${at}/etcd/tls: needs https:// addresses: http://127.0.0.1:2379 is plaintext`,
  ]);
  assert.deepEqual(errorsOf({ consul: { address: 'http://127.0.0.1:8500', service: 'shop', tls } }), [
    `${at}/consul/tls: needs https:// addresses: http://127.0.0.1:8500 is plaintext`,
  ]);
  assert.deepEqual(errorsOf(etcd({ tls: { cert_file: client.cert } })), [
    `${at}/etcd/tls/key_file: required with cert_file`,
  ]);
  const [bad] = errorsOf(etcd({ tls: { ca_file: notPem } }));
  assert.match(bad, new RegExp(`^${at}/etcd/tls/ca_file: `));
  const [mismatch] = errorsOf(etcd({ tls: { cert_file: client.cert, key_file: ca.key } }));
  assert.match(mismatch, new RegExp(`^${at}/etcd/tls/key_file: .* is not the key of the certificate`));
});

test("Consul's token comes inline or from a readable file, not both", () => {
  const consul = (more: object) => ({ consul: { address: 'http://127.0.0.1:8500', service: 'shop', ...more } });
  assert.deepEqual(errorsOf(consul({ token_file: password })), []);
  assert.deepEqual(errorsOf(consul({ token: 't', token_file: password })), [
    `${at}/consul/token_file: use one of token and token_file, not both`,
  ]);
  const [missing] = errorsOf(consul({ token_file: join(dir, 'nope') }));
  assert.match(missing, new RegExp(`^${at}/consul/token_file: cannot read .*nope: ENOENT`));
});
