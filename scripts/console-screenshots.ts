// Screenshots of every console page for docs/console.md, made with the same browser the tests drive (Debian's
// Chromium through playwright-core): a gateway with demo upstreams, an app, a quota and some traffic, then each
// page at 1280 px, and the overview at 390 px. `npm run build` first; writes docs/console/*.png.
// Usage: node scripts/console-screenshots.ts
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { issue, makeCa } from '../test/helpers/certs.ts';
import { service, startGateway } from '../test/helpers/gateway.ts';
import { startUpstream } from '../test/helpers/upstream.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'docs/console');
const executablePath = process.env.TOLLGATE_TEST_CHROMIUM ?? '/usr/bin/chromium';

const up = await startUpstream('demo');
// Certificates for the certificates page: a listener's, one of them due for renewal, and a TLS stream's.
const certs = join(mkdtempSync(join(tmpdir(), 'tollgate-screenshots-')), 'certs');
mkdirSync(certs);
const ca = makeCa(join(certs, 'ca'), 'example-ca');
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000);
const site = issue(certs, ca, { cn: 'api.example.test', dns: ['api.example.test', 'www.example.test'] });
const legacy = issue(certs, ca, { cn: 'legacy.example.test', dns: ['legacy.example.test'], rsa: true, end: inDays(9) });
const db = issue(certs, ca, { cn: 'db.example.test', dns: ['db.example.test'], end: inDays(200) });
const gw = await startGateway({
  listeners: [{ name: 'public', listen: '127.0.0.1:0', tls: { certificates: [site, legacy] } }],
  streams: [
    {
      name: 'postgres',
      listen: '127.0.0.1:0',
      tls: { certificates: [db] },
      upstream: { targets: [{ url: 'tcp://127.0.0.1:5432' }] },
    },
  ],
  services: [
    service('api', [up.url], [{ paths: ['/api'], strip_prefix: true }]),
    {
      ...service('orders', [up.url], [{ paths: ['/orders'] }]),
      auth: { type: 'api_key' },
      rate_limits: [{ name: 'per-app', key: 'app' }],
    },
  ],
});
const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${gw.adminUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((r) => r.json());
const acme = await admin('POST', '/apps', { id: 'acme', name: 'Acme Inc.', qps: 50, qpd: 400, roles: ['orders'] });
await admin('POST', '/apps', { id: 'globex', name: 'Globex', qpd: 10000 });
await admin('PUT', '/services/api', {
  routes: [{ paths: ['/api'], strip_prefix: true }],
  upstream: { balancer: 'least_connections', targets: [{ url: up.url }] },
});

let sending = true;
const load = (async () => {
  let i = 0;
  while (sending) {
    const headers: Record<string, string> = { 'x-api-key': `acme.${acme.secret}` };
    await Promise.all([
      fetch(`${gw.url}/api/items/${i % 7}`).then((r) => r.arrayBuffer()),
      fetch(`${gw.url}/orders/${i}`, { headers: i % 5 === 0 ? {} : headers }).then((r) => r.arrayBuffer()),
    ]);
    i++;
    await new Promise((r) => setTimeout(r, 5));
  }
})();

const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
mkdirSync(out, { recursive: true });
const shot = async (route: string, name: string, ready: string, settleMs = 500, fullPage = true) => {
  await page.goto(`${gw.adminUrl}/console/#${route}`);
  await page.getByRole('heading', { name: ready }).first().waitFor();
  await page.waitForTimeout(settleMs);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage });
  console.log(`docs/console/${name}.png`);
};
await page.goto(`${gw.adminUrl}/console/`);
await page.waitForTimeout(12_000); // the overview's five-minute chart gets some points
await shot('/', 'overview', 'Overview', 4000);
await shot('/services', 'services', 'Services');
await shot('/services/api', 'service', 'api', 1500);
await shot('/apps', 'apps', 'Apps');
await shot('/apps/acme', 'app', 'Acme Inc.', 1500);
await shot('/reports', 'traffic', 'Traffic', 2000);
await shot('/billing', 'billing', 'Billing', 1500);
await shot('/config', 'config', 'Config', 1500);
await shot('/tail', 'tail', 'Live tail', 3000, false);
await shot('/certificates', 'certificates', 'Certificates', 1000);
await page.setViewportSize({ width: 390, height: 844 });
await shot('/', 'overview-phone', 'Overview', 4000);

sending = false;
await load;
await browser.close();
await gw.close();
await up.close();
