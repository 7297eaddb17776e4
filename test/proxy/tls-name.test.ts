import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { test } from 'node:test';
import { startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startTlsUpstream, trustLocalhostCert, trustLoopbackIpCert } from '../helpers/tls-upstream.ts';

const CLIENT_HOSTS = ['a.example', 'b.example', 'localhost', 'a.example'];

// Regression: a static https target under preserve_host took the client's Host as its TLS name (SNI and the name
// the certificate was checked against): https://localhost:<port> answered 502 to `Host: a.example`, and every
// change of client Host made undici destroy the pooled connection for a new handshake.
test(
  'a static https target is verified and sent SNI under its ' +
    "URL's name under preserve_host, one connection for every client Host",
  async () => {
    trustLocalhostCert();
    const up = await startTlsUpstream('tls');
    const gw = await startGateway({
      services: [
        {
          name: 'kept',
          routes: [{ paths: ['/'], preserve_host: true }],
          upstream: {
            targets: [{ url: `https://localhost:${up.port}` }],
            pool: { connections: 1 },
          },
        },
      ],
    });
    const agent = new Agent({ keepAlive: true });
    try {
      for (const host of CLIENT_HOSTS) {
        const r = await send(gw.url, '/x', { headers: { host }, agent });
        assert.equal(r.status, 200, `Host ${host}: ${r.text}`);
        assert.deepEqual(r.json(), { name: 'tls', host, servername: 'localhost' });
      }
      assert.equal(up.connections(), 1, 'the pooled TLS connection was reused across client Hosts');
    } finally {
      agent.destroy();
      await gw.close();
      await up.close();
    }
  },
);

// nginx's proxy_ssl_name defaults to the proxy_pass host, and nginx sends no SNI for an address (RFC 6066 allows
// names only): an https target written as an address is verified against that address whatever the client's Host.
test(
  'an https target written as an IP address gets no SNI and its ' +
    'certificate is checked against the address under preserve_host',
  async () => {
    trustLoopbackIpCert();
    trustLocalhostCert();
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => warnings.push(w.code ?? w.message);
    process.on('warning', onWarning);
    const ipUp = await startTlsUpstream('ip', { cert: 'ip' });
    const nameUp = await startTlsUpstream('name');
    const gw = await startGateway({
      services: [
        {
          name: 'ip',
          routes: [{ paths: ['/ip'], preserve_host: true }],
          upstream: {
            targets: [{ url: `https://127.0.0.1:${ipUp.port}` }],
            pool: { connections: 1 },
          },
        },
        {
          name: 'name',
          routes: [{ paths: ['/name'], preserve_host: true }],
          upstream: {
            targets: [{ url: `https://127.0.0.1:${nameUp.port}` }],
            retries: 0,
          },
        },
      ],
    });
    const agent = new Agent({ keepAlive: true });
    try {
      for (const host of CLIENT_HOSTS) {
        const r = await send(gw.url, '/ip', { headers: { host }, agent });
        assert.equal(r.status, 200, `Host ${host}: ${r.text}`);
        assert.deepEqual(r.json(), { name: 'ip', host, servername: false });
      }
      assert.equal(ipUp.connections(), 1, 'the pooled TLS connection was reused across client Hosts');
      // A certificate for `localhost` does not pass for 127.0.0.1, even when the client says `Host: localhost`.
      const r = await send(gw.url, '/name', { headers: { host: 'localhost' } });
      assert.equal(r.status, 502, r.text);
      assert.equal(nameUp.seen.length, 0);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(
        warnings.filter((w) => w === 'DEP0123'),
        [],
        'no address was passed as a TLS server name',
      );
    } finally {
      process.off('warning', onWarning);
      agent.destroy();
      await gw.close();
      await ipUp.close();
      await nameUp.close();
    }
  },
);
