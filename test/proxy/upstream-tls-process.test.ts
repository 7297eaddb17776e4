import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../helpers/gateway-process.ts';
import { send } from '../helpers/http-client.ts';
import { PRIVATE, startTlsUpstream, type TlsUpstream } from '../helpers/tls-upstream.ts';

// The gateway as users run it: NODE_EXTRA_CA_CERTS, the failure log's reasons, `tollgate validate` and a refused start.
const SELF_SIGNED = fileURLToPath(new URL('../helpers/tls/localhost-cert.pem', import.meta.url));
const dir = tempDir();
let gw: GatewayProcess;
let up: TlsUpstream;

before(async () => {
  up = await startTlsUpstream('private', { cert: 'private' });
  const once = { retries: 0, health: { passive: { max_failures: 0 } } };
  const checks = {
    active: { interval_ms: 100, timeout_ms: 1000, unhealthy_threshold: 1, healthy_threshold: 1 },
    passive: { max_failures: 0 },
  };
  const svc = (name: string, url: string, upstream: Record<string, unknown> = {}) => ({
    name,
    routes: [{ paths: [`/${name}`] }],
    upstream: { targets: [{ url }], ...once, ...upstream },
  });
  gw = await startGatewayProcess(
    writeYaml(dir, 'tls.yaml', {
      proxy: { listen: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(dir, 'store') },
      log: { level: 'info' },
      services: [
        svc('extra', `https://localhost:${up.port}`),
        svc('replaced', `https://localhost:${up.port}`, { tls: { ca_file: SELF_SIGNED } }),
        svc('mismatch', `https://127.0.0.1:${up.port}`),
        svc('checked', `https://localhost:${up.port}`, { tls: { ca_file: SELF_SIGNED }, health: checks }),
      ],
    }),
    { env: { NODE_EXTRA_CA_CERTS: PRIVATE.ca } },
  );
});

after(async () => {
  await gw?.stop();
  await up?.close();
});

const failure = (service: string) => gw.waitForLog((l) => l.msg === 'upstream request failed' && l.service === service);

test(
  'NODE_EXTRA_CA_CERTS trusts a private CA for every ' + 'upstream without a ca_file; a ca_file replaces it too',
  async () => {
    const r = await send(gw.proxyUrl, '/extra');
    assert.equal(r.status, 200, r.text);
    const replaced = await send(gw.proxyUrl, '/replaced');
    assert.equal(replaced.status, 502, replaced.text);
  },
);

test('a certificate from an unknown CA and one for another name are logged with their code and a reason', async () => {
  await send(gw.proxyUrl, '/replaced');
  const unknown = await failure('replaced');
  assert.equal(unknown.err_code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.equal(unknown.code, 'GW_ERR_BAD_GATEWAY');
  assert.match(unknown.reason, /^unknown CA: .*upstream\.tls\.ca_file/);
  const r = await send(gw.proxyUrl, '/mismatch');
  assert.equal(r.status, 502);
  const mismatch = await failure('mismatch');
  assert.equal(mismatch.err_code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.match(mismatch.reason, /^certificate name mismatch: .*upstream\.tls\.server_name/);
  assert.match(mismatch.err, /IP: 127\.0\.0\.1 is not in the cert's list/);
});

test('a target the active checks find down for a TLS failure is logged with its cause', async () => {
  const line = await gw.waitForLog((l) => l.msg === 'target unhealthy' && l.service === 'checked');
  assert.equal(line.err_code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  assert.match(line.reason, /^unknown CA/);
});

test(
  'tollgate validate and a start refuse a config whose ' + 'tls files are missing or do not match, naming each path',
  async () => {
    const file = writeYaml(dir, 'bad-tls.yaml', {
      services: [
        {
          name: 'a',
          routes: [{ paths: ['/'] }],
          upstream: {
            targets: [{ url: 'https://127.0.0.1:8443' }],
            tls: { ca_file: join(dir, 'missing-ca.pem'), cert_file: PRIVATE.clientCert, key_file: PRIVATE.serverKey },
          },
        },
      ],
    });
    for (const args of [
      ['validate', '--config', file],
      ['--config', file],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /\/services\/0\/upstream\/tls\/ca_file: cannot read .*missing-ca\.pem: no such file or directory/,
      );
      assert.match(
        r.stderr,
        /\/services\/0\/upstream\/tls\/key_file: .*private-upstream-key\.pem is not the key of the certificate/,
      );
    }
  },
);
