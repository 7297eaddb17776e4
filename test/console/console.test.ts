// The admin console in a real browser (Debian's Chromium through playwright-core) against a real gateway: sign-in,
// services and routes, traffic in the overview and the reports, validation errors at their field, a conflicting
// edit, and a rollback with its diff. No browser console error in any of it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { etcdSkip, startEtcd } from '../helpers/etcd.ts';
import { eventually } from '../helpers/gateway.ts';
import { chromiumSkip } from '../helpers/chromium.ts';
import { type ConsoleRig, startConsoleRig, TOKEN, traffic } from './console-rig.ts';

let rig: ConsoleRig;
const skip = chromiumSkip;

before(async () => {
  if (!skip) rig = await startConsoleRig();
});
after(async () => {
  await rig?.close();
});

test('the console asks for the admin token, which never goes in a URL, and opens on the overview', {
  skip,
}, async () => {
  const { page, gw } = rig;
  // Without the token, then with a wrong one, the API refuses: that is how the console knows to ask.
  rig.expect(401, '/config/history');
  rig.expect(401, '/config/history');
  await page.goto(`${gw.adminUrl}/console/`);
  await page.getByLabel('Admin token').fill('wrong-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('invalid admin bearer token').waitFor();
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  assert.deepEqual(
    rig.urls.filter((u) => u.includes(TOKEN)),
    [],
  );
  const csp = (await fetch(`${gw.adminUrl}/console/`)).headers.get('content-security-policy') ?? '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
});

test('a service made with the form serves traffic, seen in the overview and the traffic report', { skip }, async () => {
  const { page, gw, up } = rig;
  await page.goto(`${gw.adminUrl}/console/#/services/new`);
  await page.getByLabel('Name').fill('shop');
  await page.getByLabel('Route 1 paths').fill('/shop');
  await page.getByLabel('Target 1 URL').fill(up.url);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByText(/Saved as config version \d+/).waitFor();
  assert.equal((await fetch(`${gw.url}/shop/x`)).status, 200, 'the new route answers');

  await page.goto(`${gw.adminUrl}/console/#/`);
  // Requests while the overview reads the metrics twice, two seconds apart.
  let sending = true;
  const sent = (async () => {
    let n = 0;
    while (sending) n += (await traffic(`${gw.url}/shop/x`, 5)).length;
    return n;
  })();
  const row = page.getByRole('row', { name: /^shop / });
  await row.waitFor({ timeout: 15_000 });
  const rps = await eventually(async () => {
    const cells = await row.getByRole('cell').allTextContents();
    return Number(cells[1]?.replace(/,/g, '')) > 0 ? cells[1] : undefined;
  }, 10_000);
  sending = false;
  const count = await sent;
  assert.ok(rps, 'the overview shows requests per second for the service');

  await page.goto(`${gw.adminUrl}/console/#/reports`);
  await page.getByLabel('Service').selectOption('shop');
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const fromApi = async () =>
    (await rig.api('GET', `/reports/traffic?from=${today}&to=${tomorrow}&service=shop`)).json.rows as Array<{
      requests: number;
    }>;
  // Counted once the collector has read them all.
  assert.ok(await eventually(async () => (await fromApi()).reduce((n, r) => n + r.requests, 0) >= count + 1, 10_000));
  await page.getByRole('button', { name: 'Show' }).click();
  const shown = await eventually(async () => {
    const table = page.getByRole('table', { name: 'Traffic by bucket' });
    const cells = await table.locator('tbody tr td:nth-child(2)').allTextContents();
    const total = cells.reduce((n, c) => n + Number(c.replace(/,/g, '')), 0);
    return total >= count + 1 ? total : undefined;
  }, 10_000);
  assert.equal(
    shown,
    (await fromApi()).reduce((n, r) => n + r.requests, 0),
    'the same numbers as the report API',
  );
  assert.ok(await page.locator('.chart canvas').count(), 'the charts are drawn');

  // Other dates the API refuses: its error, and none of the last report's rows under the new dates (nor in a CSV).
  await page.getByLabel('From (UTC)').fill(tomorrow);
  await page.getByLabel('To (UTC, not included)').fill(today);
  rig.expect(400, '/reports/traffic?');
  rig.expect(400, '/reports/traffic/traces?');
  await page.getByRole('button', { name: 'Show' }).click();
  await page
    .getByText(/must be before to/)
    .first()
    .waitFor({ timeout: 5000 });
  const table = page.getByRole('table', { name: 'Traffic by bucket' });
  assert.equal(await table.locator('tbody tr').count(), 0, "the last report's rows are gone");
  assert.equal(await page.getByRole('button', { name: 'Download CSV' }).isDisabled(), true);
});

test("an invalid target shows the schema's error at its field and changes nothing", { skip }, async () => {
  const { page, gw } = rig;
  const before = (await rig.api('GET', '/config')).json.version;
  await page.goto(`${gw.adminUrl}/console/#/services/new`);
  rig.expect(400, '/services/broken');
  await page.getByLabel('Name').fill('broken');
  await page.getByLabel('Target 1 URL').fill('ftp://nope');
  await page.getByRole('button', { name: 'Create' }).click();
  const field = page.locator('.field', { has: page.getByLabel('Target 1 URL') });
  // The schema's own message, under the field it is about.
  await field.getByRole('alert').filter({ hasText: 'ftp://nope' }).waitFor();
  assert.match((await field.getByRole('alert').textContent()) ?? '', /must match pattern "\^https\?:/);
  assert.equal((await rig.api('GET', '/config')).json.version, before, 'no new version');
});

test('a save that someone else beat says so, and reloading shows their change', { skip }, async () => {
  const { page, gw, up } = rig;
  await page.goto(`${gw.adminUrl}/console/#/services/shop`);
  await page.getByLabel('Route 1 paths').waitFor();
  const theirs = { routes: [{ paths: ['/shop', '/store'] }], upstream: { targets: [{ url: up.url }] } };
  assert.equal((await rig.api('PUT', '/services/shop', theirs)).status, 200);
  rig.expect(412, '/services/shop');
  await page.getByLabel('Route 1 paths').fill('/shop /mine');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Someone else changed the config').waitFor();
  await page.getByRole('button', { name: 'Reload the current version' }).click();
  await eventually(async () => (await page.getByLabel('Route 1 paths').inputValue()) === '/shop /store', 5000);
  assert.equal(await page.getByLabel('Route 1 paths').inputValue(), '/shop /store');
  assert.deepEqual((await rig.api('GET', '/services/shop')).json.routes, theirs.routes, 'their change stands');
});

test('the config history shows what a version changed, and rolls back to an earlier one', { skip }, async () => {
  const { page, gw } = rig;
  const history = (await rig.api('GET', '/config/history?limit=2')).json as Array<{ version: number }>;
  const [latest, previous] = history.map((v) => v.version);
  await page.goto(`${gw.adminUrl}/console/#/config`);
  await page.getByRole('heading', { name: `v${previous} → v${latest}` }).waitFor();
  // The added path, as a line of the diff of the two versions' configs.
  await page.locator('pre.diff .add', { hasText: '"/store"' }).waitFor();
  const removed = await page.locator('pre.diff .del').allTextContents();
  assert.deepEqual(
    removed.map((l) => l.replace(/\s+/g, ' ').trim()),
    ['- "/shop"'],
    'only the line that gained a comma',
  );
  await page.getByRole('button', { name: `Roll back to v${previous}` }).click();
  await page.getByText(`Rolled back: version ${previous}'s config now serves`).waitFor();
  assert.ok(
    rig.dialogs.some((d) => d.startsWith(`Roll back to version ${previous}?`)),
    'asked first',
  );
  const then = (await rig.api('GET', `/config/history/${previous}`)).json.config;
  const shopThen = then.services.find((s: { name: string }) => s.name === 'shop');
  assert.deepEqual(
    (await rig.api('GET', '/services/shop')).json.routes,
    shopThen.routes,
    "that version's routes serve",
  );
});

test('a service whose targets come from etcd says so on the services page, synced and then stale', {
  skip: skip || etcdSkip,
}, async () => {
  const { page, gw, up } = rig;
  const etcd = await startEtcd();
  try {
    await etcd.put('/console/stock/a', JSON.stringify({ url: up.url }));
    const stock = {
      routes: [{ paths: ['/stock'] }],
      upstream: { discovery: { etcd: { endpoints: [etcd.url], prefix: '/console/stock/', probe_ms: 500 } } },
    };
    assert.equal((await rig.api('PUT', '/services/stock', stock)).status, 200);
    await page.goto(`${gw.adminUrl}/console/#/services`);
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: 'stock' }) });
    await row.getByText(up.url).waitFor();
    await row.getByText('from etcd:').waitFor();
    await row.locator('.badge', { hasText: 'synced' }).waitFor();
    await etcd.kill();
    await row.locator('.badge', { hasText: 'stale' }).waitFor({ timeout: 10_000 });
    assert.match((await row.textContent()) ?? '', /stale since .*\(/, 'with when and why');
  } finally {
    await etcd.close();
    await rig.api('DELETE', '/services/stock');
  }
});

test('the config page says which settings wait for a restart, until the config has them back', { skip }, async () => {
  const { page, gw } = rig;
  const before = (await rig.api('GET', '/config')).json.config;
  const put = await rig.api('PUT', '/config', { ...before, events: { ...before.events, node: 'elsewhere' } });
  assert.equal(put.status, 200, put.text);
  await page.goto(`${gw.adminUrl}/console/#/config`);
  await page.getByText('take effect on restart: events.node.').waitFor();
  assert.equal((await rig.api('PUT', '/config', before)).status, 200);
  await page.reload();
  await page.getByRole('heading', { name: 'Config' }).waitFor();
  await page.getByRole('table', { name: 'Versions' }).waitFor();
  assert.equal(await page.getByText('take effect on restart').count(), 0, 'gone once the config has it back');
});

test('no errors in the browser console', { skip }, () => {
  assert.deepEqual(rig.errors, []);
});
