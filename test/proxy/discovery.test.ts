import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually, sleep, startGateway } from '../helpers/gateway.ts';
import { send } from '../helpers/http-client.ts';
import { startTlsUpstream, trustLocalhostCert } from '../helpers/tls-upstream.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { join } from 'node:path';

test('a DNS-discovered upstream (localhost) is resolved to its addresses and serves traffic', async () => {
  const up = await startUpstream('dns');
  const gw = await startGateway({
    services: [
      { name: 'svc', routes: [{ paths: ['/'] }], upstream: { dns: { name: 'localhost', port: up.port }, retries: 1 } },
    ],
  });
  try {
    // localhost may resolve to ::1 as well, where nothing listens: retries and ejection must still get every request
    // through.
    const ok = await eventually(async () => (await send(gw.url, '/x')).status === 200, 3000);
    assert.ok(ok, 'never answered through the DNS-resolved target');
    for (let i = 0; i < 10; i++) {
      const r = await send(gw.url, '/x');
      assert.equal(r.status, 200);
      assert.equal(r.json().name, 'dns');
    }
    const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
      service: string;
      targets: { id: string }[];
    }[];
    const ids = health.find((h) => h.service === 'svc')!.targets.map((t) => t.id);
    assert.ok(ids.includes(`http://127.0.0.1:${up.port}`), `targets: ${ids}`);
  } finally {
    await gw.close();
    await up.close();
  }
});

// Regression: plain-HTTP DNS targets received `Host: 127.0.0.1:<port>`; nginx and Kong send the name.
test(
  'a DNS-discovered target is sent its name and port as Host, ' +
    "not the resolved address; preserve_host still sends the client's",
  async () => {
    const up = await startUpstream('dns');
    const upstream = { dns: { name: 'localhost', port: up.port }, retries: 1 };
    const gw = await startGateway({
      services: [
        { name: 'svc', routes: [{ paths: ['/named'] }], upstream },
        { name: 'kept', routes: [{ paths: ['/kept'], preserve_host: true }], upstream },
      ],
    });
    try {
      assert.ok(await eventually(async () => (await send(gw.url, '/named')).status === 200, 3000), 'never answered');
      const named = await send(gw.url, '/named', { headers: { host: 'public.example' } });
      assert.equal(named.json().headers.host, `localhost:${up.port}`);
      const kept = await send(gw.url, '/kept', { headers: { host: 'public.example' } });
      assert.equal(kept.json().headers.host, 'public.example');
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

// Regression: `dns: {name: localhost, scheme: https}` gave 502 ERR_TLS_CERT_ALTNAME_INVALID (the certificate was
// checked
// against the address) while the static target https://localhost:<port> worked.
test(
  'an HTTPS target found by DNS is connected to by address but ' +
    'verified, and sent SNI, under its name, with active checks too',
  async () => {
    trustLocalhostCert();
    const up = await startTlsUpstream('tls');
    const gw = await startGateway({
      services: [
        {
          name: 'svc',
          routes: [{ paths: ['/named'] }],
          upstream: {
            dns: { name: 'localhost', port: up.port, scheme: 'https' },
            retries: 1,
            health: { active: { interval_ms: 50, timeout_ms: 1000, unhealthy_threshold: 1, healthy_threshold: 1 } },
          },
        },
        {
          name: 'kept',
          routes: [{ paths: ['/kept'], preserve_host: true }],
          upstream: { dns: { name: 'localhost', port: up.port, scheme: 'https' }, retries: 1 },
        },
        {
          name: 'static',
          routes: [{ paths: ['/static'] }],
          upstream: { targets: [{ url: `https://localhost:${up.port}` }] },
        },
      ],
    });
    try {
      assert.equal((await send(gw.url, '/static')).status, 200, 'the certificate is trusted under its name');
      const first = await eventually(async () => {
        const r = await send(gw.url, '/named');
        return r.status === 200 ? r : undefined;
      }, 3000);
      assert.ok(first, 'never answered through the DNS-resolved HTTPS target');
      assert.deepEqual(first.json(), { name: 'tls', host: `localhost:${up.port}`, servername: 'localhost' });
      // The client's Host goes upstream, but the TLS name stays the target's.
      const kept = await send(gw.url, '/kept', { headers: { host: 'public.example' } });
      assert.equal(kept.status, 200, kept.text);
      assert.deepEqual(kept.json(), { name: 'tls', host: 'public.example', servername: 'localhost' });
      // Checks ran several times by now; they must find the target healthy under its name too.
      await sleep(300);
      const health = (await (await fetch(`${gw.adminUrl}/health`)).json()) as {
        service: string;
        targets: { id: string; healthy: boolean }[];
      }[];
      const target = health
        .find((h) => h.service === 'svc')!
        .targets.find((t) => t.id === `https://127.0.0.1:${up.port}`);
      assert.equal(target?.healthy, true, JSON.stringify(health));
      assert.ok(
        up.seen.filter((s) => s.servername === 'localhost').length >= 4,
        'the checks reached the target over TLS',
      );
      assert.equal((await send(gw.url, '/named')).status, 200);
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test(
  'a DNS name that does not resolve is logged once when it ' +
    'starts failing, not at every retry, and requests get a fast 503',
  async () => {
    // What broke: "dns resolution failed" at warn every 2 s for as long as the name failed, per service.
    const dir = tempDir();
    const file = writeYaml(dir, 'tollgate.yaml', {
      proxy: { listen: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(dir, 'store') },
      log: { level: 'info' },
      services: [{ name: 'svc', routes: [{ paths: ['/'] }], upstream: { dns: { name: 'nothing.invalid', port: 80 } } }],
    });
    const gw = await startGatewayProcess(file);
    try {
      const r = await send(gw.proxyUrl, '/x');
      assert.equal(r.status, 503);
      assert.equal(r.json().code, 'GW_ERR_UPSTREAM_UNAVAILABLE');
      // The source retries every 2 s: three tries or more in this time.
      await sleep(5000);
      const lines = gw.logs.filter((l) => /dns resolution/.test(l.msg ?? ''));
      assert.deepEqual(
        lines.map((l) => [l.level, l.service, l.msg]),
        [[40, 'svc', 'dns resolution of nothing.invalid failing; further errors are counted until it answers again']],
      );
      assert.match(lines[0].err, /nothing\.invalid/);
    } finally {
      assert.equal((await gw.stop()).code, 0);
    }
  },
);
