// The console's tenant pages in a real browser: an app made and its secret rotated (each shown once), a QPD quota
// set there and its 429 seen in the live tail and the app's usage, the billing CSV against the API's, a tenant's
// name that is markup staying text, and the pages at phone width and from the keyboard.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually } from '../helpers/gateway.ts';
import { chromiumSkip } from '../helpers/chromium.ts';
import { type ConsoleRig, startConsoleRig, TOKEN, traffic } from './console-rig.ts';

let rig: ConsoleRig;
const skip = chromiumSkip;

before(async () => {
  if (skip) return;
  rig = await startConsoleRig();
  rig.expect(401, '/config/history'); // the console finding out it needs the token
  await rig.page.goto(`${rig.gw.adminUrl}/console/`);
  await rig.page.getByLabel('Admin token').fill(TOKEN);
  await rig.page.getByRole('button', { name: 'Sign in' }).click();
  await rig.page.getByRole('heading', { name: 'Overview' }).waitFor();
});
after(async () => {
  await rig?.close();
});

const secretShown = async (rigPage: ConsoleRig['page']) => rigPage.getByLabel('Secret').inputValue({ timeout: 5000 });

test('an app made in the console shows its secret once; a rotation shows a new one', { skip }, async () => {
  const { page, gw } = rig;
  await page.goto(`${gw.adminUrl}/console/#/apps`);
  await page.getByLabel("New app's name").fill('Acme');
  await page.getByLabel('Id (optional)').fill('acme');
  await page.getByRole('button', { name: 'Create app' }).click();
  const first = await secretShown(page);
  assert.ok(first.length >= 20);
  const listed = await rig.api('GET', '/apps/acme');
  assert.equal(listed.json.name, 'Acme');
  assert.doesNotMatch(listed.text, new RegExp(first), 'the API never shows it again');

  await page.getByRole('link', { name: 'acme' }).click();
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  const second = await eventually(async () => {
    const v = await secretShown(page).catch(() => '');
    return v !== '' && v !== first ? v : undefined;
  }, 5000);
  assert.ok(second, 'a new secret is shown');
  await page.reload();
  await page.getByRole('button', { name: 'Rotate secret' }).waitFor();
  assert.equal(await page.getByLabel('Secret').count(), 0, 'gone once the page is left');
});

test("a QPD quota set in the console refuses the app's next request: 429 in the tail and in its usage", {
  skip,
}, async () => {
  const { page, gw, up } = rig;
  const service = {
    routes: [{ paths: ['/metered'] }],
    upstream: { targets: [{ url: up.url }] },
    auth: { type: 'api_key' },
    rate_limits: [{ name: 'per-app', key: 'app' }],
  };
  assert.equal((await rig.api('PUT', '/services/metered', service)).status, 200);
  const made = (await rig.api('POST', '/apps', { name: 'Metered', id: 'metered' })).json;
  const key = { 'x-api-key': `metered.${made.secret}` };

  await page.goto(`${gw.adminUrl}/console/#/apps/metered`);
  await page.getByLabel('QPD').fill('2');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved.').waitFor();
  assert.equal((await rig.api('GET', '/apps/metered')).json.qpd, 2);
  const statuses = await eventually(async () => {
    // The quota reaches the data plane within a second.
    const s = await traffic(`${gw.url}/metered/x`, 3, key);
    return s.includes(429) ? s : undefined;
  }, 5000);
  assert.ok(statuses, 'a request over the quota is refused');

  await page.goto(`${gw.adminUrl}/console/#/tail`);
  await page.getByLabel('Service').fill('metered');
  await page.getByLabel('Status').fill('429');
  await page.getByLabel('Status').press('Enter');
  await page
    .getByRole('row', { name: /metered.*429/ })
    .first()
    .waitFor({ timeout: 10_000 });

  await page.goto(`${gw.adminUrl}/console/#/apps/metered`);
  await page.getByText('100.0% of 2').waitFor({ timeout: 10_000 });
});

test("an event's trace id in the tail links to the trace in the tracing UI (tracing.ui_url)", { skip }, async () => {
  const { page, gw } = rig;
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  await fetch(`${gw.url}/seed/traced`, { headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` } });
  await page.goto(`${gw.adminUrl}/console/#/tail`);
  const link = page.getByRole('link', { name: trace.slice(0, 8) });
  await link.waitFor({ timeout: 10_000 });
  assert.equal(await link.getAttribute('href'), `http://127.0.0.1:16686/trace/${trace}`);
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
});

test("the traffic report lists each hour's slowest traced request, linked to its trace", { skip }, async () => {
  const { page, gw } = rig;
  const trace = 'a'.repeat(31) + 'b';
  await fetch(`${gw.url}/seed/example`, { headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01` } });
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const kept = async () =>
    (
      (await rig.api('GET', `/reports/traffic/traces?from=${today}&to=${tomorrow}`)).json.traces as Array<{
        trace_id: string;
      }>
    )[0]?.trace_id;
  const example = await eventually(kept, 10_000);
  assert.ok(example, 'the collector kept an example trace');
  await page.goto(`${gw.adminUrl}/console/#/reports`);
  const table = page.getByRole('table', { name: 'Example traces' });
  const link = table.getByRole('link', { name: example.slice(0, 8) });
  await link.waitFor({ timeout: 10_000 });
  assert.equal(await link.getAttribute('href'), `http://127.0.0.1:16686/trace/${example}`);
});

test("the billing CSV the console exports is the API's", { skip }, async () => {
  const { page, gw } = rig;
  await page.goto(`${gw.adminUrl}/console/#/billing`);
  const month = new Date().toISOString().slice(0, 7);
  await page
    .getByRole('row', { name: /metered/ })
    .first()
    .waitFor({ timeout: 10_000 });
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  const exported = readFileSync(path, 'utf8');
  const [y, m] = month.split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const api = await rig.api('GET', `/billing/qpd?from=${month}-01&to=${month}-${last}&format=csv`);
  assert.equal(exported, api.text);
  assert.match(exported, /metered/);
  assert.equal(download.suggestedFilename(), `qpd-${month}.csv`);
});

test("a tenant's name made of markup is shown as text and runs nothing", { skip }, async () => {
  const { page, gw } = rig;
  const name = '<img src=x onerror=alert(1)>';
  assert.equal((await rig.api('POST', '/apps', { name, id: 'xss' })).status, 201);
  await page.goto(`${gw.adminUrl}/console/#/apps`);
  await page.getByRole('cell', { name, exact: true }).waitFor();
  await page.goto(`${gw.adminUrl}/console/#/apps/xss`);
  await page.getByRole('heading', { name: new RegExp(name.replace(/[()]/g, '\\$&')) }).waitFor();
  assert.equal(await page.locator('main img').count(), 0, 'no element was made from the name');
  assert.ok(!rig.dialogs.includes('1'), 'alert(1) never ran');
});

test('at phone width the overview fits the screen, and the nav works from the keyboard', { skip }, async () => {
  const { page, gw } = rig;
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${gw.adminUrl}/console/#/`);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.locator('body').focus();
  for (let i = 0; i < 10; i++) {
    await page.keyboard.press('Tab');
    if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Apps') break;
  }
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Apps' }).waitFor();
});

test('no errors in the browser console', { skip }, () => {
  assert.deepEqual(rig.errors, []);
});
