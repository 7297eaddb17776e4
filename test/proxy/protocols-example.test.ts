import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startEchoServer } from '../../gateway/examples/grpc/server.ts';
import { REPO_ROOT, startGatewayProcess, tempDir } from '../helpers/gateway-process.ts';
import { freePort } from '../helpers/ports.ts';
import { h2Request, handshake, httpsGet } from '../helpers/tls-client.ts';

const EXAMPLES = join(REPO_ROOT, 'gateway/examples');

// docs/protocols.md walks through gateway/examples/protocols.yaml with the certificates make-certs.sh makes and
// the example gRPC client: the same steps, on free ports.
test('the protocols example runs as documented: certificates from the script, gRPC over h2c and TLS, SNI', async () => {
  const dir = tempDir('tollgate-protocols-');
  execFileSync('bash', [join(EXAMPLES, 'tls/make-certs.sh'), join(dir, 'certs')], { stdio: 'ignore' });
  const server = await startEchoServer();
  const [proxy, admin, pub, internal] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const yaml = readFileSync(join(EXAMPLES, 'protocols.yaml'), 'utf8')
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${proxy}`)
    .replaceAll('127.0.0.1:9080', `127.0.0.1:${admin}`)
    .replaceAll('127.0.0.1:8443', `127.0.0.1:${pub}`)
    .replaceAll('127.0.0.1:8081', `127.0.0.1:${internal}`)
    .replaceAll('127.0.0.1:50051', `127.0.0.1:${server.port}`);
  writeFileSync(join(dir, 'protocols.yaml'), yaml);
  const gw = await startGatewayProcess(join(dir, 'protocols.yaml'), {
    env: { TOLLGATE_STORE_DIR: join(dir, 'store') },
  });
  // Not execFileSync: the echo server runs in this process and must keep answering.
  const client = async (...args: string[]) =>
    (await promisify(execFile)(join(REPO_ROOT, 'node_modules/.bin/node'), [join(EXAMPLES, 'grpc/client.ts'), ...args]))
      .stdout;
  try {
    assert.match(await client(`127.0.0.1:${internal}`), /^OK: Hello Tollgate/);
    assert.match(await client(`localhost:${pub}`, join(dir, 'certs/ca.pem')), /^OK: Hello Tollgate/);
    const ca = join(dir, 'certs/ca.pem');
    assert.equal((await handshake(pub, { ca, servername: 'api.example.test' })).cn, '*.example.test', 'by SNI');
    assert.equal((await handshake(pub, { ca })).cn, 'localhost', 'no server name: the default certificate');
    const plain = await httpsGet(pub, '/helloworld.Echo/Unary', { ca, servername: 'localhost' });
    assert.equal(plain.status, 415, 'a gRPC-only route refuses a plain request');
    const h2 = await h2Request(pub, '/helloworld.Echo/Unary', { ca, servername: 'localhost' });
    assert.equal(h2.headers['strict-transport-security'], 'max-age=31536000');
  } finally {
    await gw.stop();
    await server.close();
  }
});
